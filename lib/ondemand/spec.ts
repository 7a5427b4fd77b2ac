/**
 * On-demand instances (docs/instances.md): a staging, training or rehearsal copy of one DHIS2
 * instance of a country stack, as a stack of its own (`<country>-<name>`) that `npm run instance`
 * makes with Pulumi's Automation API and removes when it expires. Pure: the command line's
 * choices checked and turned into the instance stack's `dhis2:onDemand` section, the expiry, and
 * the list's rows. Nothing here reads a file or runs a program.
 */
import { z } from "zod";
import { INSTANCE_NAME_RE } from "../config/schema";
import { formatProblems, type ConfigProblem } from "../config/model";
import { ON_DEMAND } from "../plan/topology";

/** The sizes `--size` offers; `as-prod` is the source instance's own budget. */
export const ON_DEMAND_SIZES = {
  small: { cpus: 1, memoryGb: 2 },
  medium: { cpus: 2, memoryGb: 4 },
} as const;
export type OnDemandSizeName = keyof typeof ON_DEMAND_SIZES | "as-prod";

/** The longest an instance may live before `extend` (90 days): a forgotten copy of production is a risk. */
export const MAX_TTL_MS = 90 * 24 * 3600 * 1000;

const seed = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("latest-backup") }),
  z.strictObject({ kind: z.literal("backup"), id: z.string().regex(/^[0-9a-f]{8,64}$/, { error: "must be a restic snapshot ID (8 to 64 hex digits; npm run backups lists them)" }) }),
  z.strictObject({ kind: z.literal("dump"), path: z.string().regex(/^\/[^\0]*$/, { error: "must be an absolute path on the database server" }) }),
  z.strictObject({ kind: z.literal("empty") }),
]);
export type Seed = z.infer<typeof seed>;

/** The instance stack's `dhis2:onDemand` section. */
export const onDemandSchema = z.strictObject({
  /** The country stack it is made from. */
  from: z.string().regex(/^[a-z0-9][a-z0-9-]{0,40}$/, { error: "must be the name of a country stack (stacks/Pulumi.<name>.yaml)" }),
  /** The instance's name: its path (/name), container, database (dhis2_<name>). */
  name: z.string().regex(INSTANCE_NAME_RE, { error: "must be 1-20 lowercase letters or digits, starting with a letter" }),
  /** The country instance it copies (its version, WAR, search settings; the seed's source). */
  source: z.string().regex(INSTANCE_NAME_RE, { error: "must be an instance name of the country stack" }),
  /** Another DHIS2 version than the source's (a rehearsal of an upgrade). */
  version: z.string().optional(),
  /** The WAR of that version (a local file or a mirror URL). */
  war: z.string().optional(),
  size: z.strictObject({ cpus: z.number().positive().max(64), memoryGb: z.number().positive().max(256) }),
  sizeName: z.enum(["small", "medium", "as-prod"]),
  /** Its address: on-demand slot 0-15 of the country's network (lib/plan/topology.ts ON_DEMAND). */
  slot: z.number().int().min(0).max(ON_DEMAND.slots - 1),
  created: z.iso.datetime({ error: "must be a UTC time such as 2026-12-03T10:00:00Z" }),
  expires: z.iso.datetime({ error: "must be a UTC time such as 2026-12-06T10:00:00Z" }),
  seed,
  /** Training: logins reset, contacts blanked, messaging and sync off (templates/ondemand/scrub.sql.hbs). */
  scrub: z.boolean(),
});
export type OnDemandSpec = z.infer<typeof onDemandSchema>;

/** The stack of an on-demand instance. */
export function onDemandStackName(from: string, name: string): string {
  return `${from}-${name}`;
}

/** `--ttl 3d|12h|90m|2w` → milliseconds; undefined when it is not a positive duration. */
export function parseTtl(text: string): number | undefined {
  const m = /^(\d+)([mhdw])$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 }[m[2] as "m" | "h" | "d" | "w"];
  return n > 0 ? n * unit : undefined;
}

/** `--seed latest-backup|backup ID|dump PATH|empty` (the words after --seed). */
export function parseSeed(words: readonly string[]): Seed | undefined {
  const [kind, arg] = words;
  if (kind === "latest-backup" || kind === "empty") return words.length === 1 ? { kind } : undefined;
  if ((kind === "backup" || kind === "dump") && arg !== undefined && words.length === 2) {
    return kind === "backup" ? { kind, id: arg } : { kind, path: arg };
  }
  return undefined;
}

export interface CreateRequest {
  readonly name: string;
  readonly from: string;
  readonly source?: string;
  readonly version?: string;
  readonly war?: string;
  readonly size: string;
  readonly ttl: string;
  readonly seed: readonly string[];
  readonly scrub: boolean;
}

/** What is known about the country stack when an instance is asked for. */
export interface CountryFacts {
  /** Its instances: name, and its budget (for --size as-prod). */
  readonly instances: readonly { readonly name: string; readonly cpus: number; readonly memoryMb: number; readonly war?: string; readonly version: string }[];
  /** The slots its on-demand instances use now. */
  readonly usedSlots: readonly number[];
  /** The names its on-demand instances have now. */
  readonly onDemandNames: readonly string[];
  /** Undefined when the stack has no on-demand addresses (another platform, a small network). */
  readonly onDemandRange?: string;
  readonly platform: string;
}

/**
 * Check a `create` and make the instance's spec, or every problem (each naming the option and
 * what is allowed). `now` is the creation time.
 */
export function planCreate(req: CreateRequest, country: CountryFacts, now: Date): { spec?: OnDemandSpec; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const bad = (key: string, value: unknown, message: string) => problems.push({ key, value, message });
  if (!INSTANCE_NAME_RE.test(req.name)) bad("NAME", req.name, "must be 1-20 lowercase letters or digits, starting with a letter (e.g. training, rehearsal242)");
  if (country.platform !== "local") {
    bad("--from", req.from, `is a stack on platform ${country.platform}: on-demand instances are made on the local platform (LXD on this machine) in this version of the toolkit`);
  } else if (!country.onDemandRange) {
    bad("--from", req.from, "has no addresses for on-demand instances: its dhis2:network.cidr must be a /25 or larger");
  }
  if (country.instances.some((i) => i.name === req.name) || country.onDemandNames.includes(req.name)) {
    bad("NAME", req.name, `is taken in stack ${req.from} (its instances: ${[...country.instances.map((i) => i.name), ...country.onDemandNames].join(", ")}): choose another name`);
  }
  const source = country.instances.find((i) => i.name === (req.source ?? country.instances[0]?.name));
  if (!source) bad("--source", req.source, `must be an instance of stack ${req.from}: ${country.instances.map((i) => i.name).join(", ")}`);
  const ttl = parseTtl(req.ttl);
  if (ttl === undefined) bad("--ttl", req.ttl, "must be a positive duration: a number and m, h, d or w (90m, 12h, 3d, 2w)");
  else if (ttl > MAX_TTL_MS) bad("--ttl", req.ttl, "must be at most 90 days (extend it later with `npm run instance -- extend NAME --ttl`)");
  const seedParsed = parseSeed(req.seed);
  if (!seedParsed) bad("--seed", req.seed.join(" "), "must be latest-backup, backup ID, dump PATH or empty");
  let size: { cpus: number; memoryGb: number } | undefined;
  if (req.size === "small" || req.size === "medium") size = { ...ON_DEMAND_SIZES[req.size] };
  else if (req.size === "as-prod" || req.size === "AS_PROD") size = source ? { cpus: source.cpus, memoryGb: Math.round((source.memoryMb / 1024) * 100) / 100 } : undefined;
  else bad("--size", req.size, "must be small (1 CPU, 2 GB), medium (2 CPUs, 4 GB) or as-prod (the source instance's size)");
  if (req.version !== undefined && source && req.version !== source.version && source.war !== undefined && req.war === undefined) {
    bad("--war", undefined, `is required with --version ${req.version}: instance ${source.name} runs ${source.war}, a WAR of ${source.version}; give the WAR of ${req.version} (a local file or a mirror URL)`);
  }
  const slot = [...Array(ON_DEMAND.slots).keys()].find((s) => !country.usedSlots.includes(s));
  if (slot === undefined) bad("NAME", req.name, `stack ${req.from} has ${ON_DEMAND.slots} on-demand instances already: destroy one first (npm run instance -- list)`);
  if (problems.length || !source || !size || ttl === undefined || !seedParsed || slot === undefined) return { problems };
  return {
    problems,
    spec: {
      from: req.from, name: req.name, source: source.name,
      ...(req.version !== undefined ? { version: req.version } : {}),
      ...(req.war !== undefined ? { war: req.war } : {}),
      size, sizeName: req.size === "AS_PROD" ? "as-prod" : req.size as OnDemandSizeName, slot,
      created: isoSeconds(now), expires: isoSeconds(new Date(now.getTime() + ttl)), seed: seedParsed, scrub: req.scrub,
    },
  };
}

/** A new expiry from now; refused when the TTL is not a positive duration of at most 90 days. */
export function extendExpiry(ttl: string, now: Date): { expires?: string; problem?: ConfigProblem } {
  const ms = parseTtl(ttl);
  if (ms === undefined) return { problem: { key: "--ttl", value: ttl, message: "must be a positive duration: a number and m, h, d or w (90m, 12h, 3d, 2w)" } };
  if (ms > MAX_TTL_MS) return { problem: { key: "--ttl", value: ttl, message: "must be at most 90 days" } };
  return { expires: isoSeconds(new Date(now.getTime() + ms)) };
}

/** True when an instance has expired at `now`. */
export function isExpired(spec: Pick<OnDemandSpec, "expires">, now: Date): boolean {
  return Date.parse(spec.expires) <= now.getTime();
}

/** 2026-12-03T10:00:00Z (no milliseconds). */
export function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The message of a refused request, naming every option and what is allowed. */
export function refusal(what: string, problems: readonly ConfigProblem[]): string {
  return formatProblems(what, problems).replace("Invalid stack configuration in", "Refused:");
}

/** Read and check a stored `dhis2:onDemand` section; the problems name `dhis2:onDemand.<key>`. */
export function parseOnDemand(raw: unknown): { spec?: OnDemandSpec; problems: ConfigProblem[] } {
  const r = onDemandSchema.safeParse(raw);
  if (r.success) return { spec: r.data, problems: [] };
  return { problems: r.error.issues.map((i) => ({ key: ["dhis2:onDemand", ...i.path.map(String)].join("."), message: i.message })) };
}
