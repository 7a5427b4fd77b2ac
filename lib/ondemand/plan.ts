/**
 * The plan of an on-demand instance (docs/instances.md): the country stack's own choices (network,
 * domain, systems, alerts, monitoring) with one DHIS2 instance, a copy of the country's source
 * instance at the chosen size and version, on an on-demand address of the country's network. Its
 * database is on the country's database server, its location on the country's proxy; its
 * container and everything on it are the instance stack's own. Pure.
 */
import { ConfigError, type ConfigProblem } from "../config/model";
import { readStackFile, stackFilePath } from "../config/stack-file";
import { validateStackConfig } from "../config/validate";
import type { SecretSource } from "../config/validate/problems";
import { loadDeployment } from "../load";
import { buildPlan, type InstancePlan, type Plan } from "../plan";
import { onDemandAddress } from "../plan/topology";
import { onDemandStackName, parseOnDemand, type OnDemandSpec } from "./spec";

export interface OnDemandPlan {
  readonly spec: OnDemandSpec;
  /** The instance's plan: one instance, on its on-demand address. */
  readonly plan: Plan;
  readonly instance: InstancePlan;
  /** The country stack's plan (its database and proxy are where the instance attaches). */
  readonly country: Plan;
}

type Raw = Record<string, unknown>;
const isObject = (v: unknown): v is Raw => typeof v === "object" && v !== null && !Array.isArray(v);

/** A copy without the encrypted values of a stack file ({ secure: ... }), which only their own stack can read. */
export function withoutEncrypted(raw: Raw): Raw {
  const out: Raw = {};
  for (const [k, v] of Object.entries(raw)) {
    if (isObject(v) && "secure" in v) continue;
    out[k] = isObject(v) ? withoutEncrypted(v) : v;
  }
  return out;
}

/** `over` laid over `base`, mappings merged key by key. */
export function deepMerge(base: Raw, over: Raw): Raw {
  const out: Raw = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isObject(v) && isObject(out[k]) ? deepMerge(out[k] as Raw, v) : v;
  return out;
}

/** The instance stack's raw `dhis2:` config: the country's, one instance, no backups of its own. */
export function onDemandRawConfig(countryRaw: Raw, own: Raw, spec: OnDemandSpec): { raw?: Raw; problems: ConfigProblem[] } {
  const instances = Array.isArray(countryRaw.instances) ? countryRaw.instances.filter(isObject) : [];
  const source = instances.find((i) => i.name === spec.source);
  if (!source) return { problems: [{ key: "dhis2:onDemand.source", value: spec.source, message: `is not an instance of stack ${spec.from} (${instances.map((i) => String(i.name)).join(", ")})` }] };
  const { onDemand: _o, ...ownRest } = own;
  const { instances: _i, generated: _g, backup: _b, ...countryRest } = withoutEncrypted(countryRaw);
  const { hostname: _h, path: _p, size: _s, heapMb: _m, connectionPoolMaxSize: _c, war: sourceWar, warSha256: _w, ...copied } = source;
  const war = spec.war ?? (spec.version === undefined ? sourceWar : undefined);
  const instance: Raw = {
    ...copied,
    name: spec.name,
    path: `/${spec.name}`,
    size: spec.size,
    ...(spec.version !== undefined ? { version: spec.version } : {}),
    ...(war !== undefined ? { war } : {}),
  };
  // the instance's files are backed up by nobody: it is a copy, and it expires
  const raw = deepMerge({ ...countryRest, backup: { enabled: false } }, ownRest);
  return { raw: { ...raw, instances: [instance] }, problems: [] };
}

/** The plan with its one instance moved to its on-demand address. */
export function placeOnDemand(plan: Plan, spec: OnDemandSpec, countryPlan: Plan): Plan {
  const range = countryPlan.topology.onDemand;
  if (!range) throw new Error(`stack ${spec.from} has no on-demand addresses`);
  const inst = plan.instances[0]!;
  const node = { ...inst.node, address: onDemandAddress(plan.config.networkCidr, spec.slot) };
  const topology = { ...plan.topology, instances: [node], onDemand: range };
  return { ...plan, topology, instances: [{ ...inst, node }] };
}

/**
 * Load an instance stack: its `dhis2:onDemand` section, the country's stack file (from
 * `projectDir`), the merged config validated, the plan built. Throws ConfigError naming the keys.
 */
export function loadOnDemand(stack: string, own: Raw, projectDir: string, source: string, secrets?: SecretSource): OnDemandPlan {
  const parsed = parseOnDemand(own.onDemand);
  if (!parsed.spec) throw new ConfigError(source, parsed.problems);
  const spec = parsed.spec;
  if (stack !== onDemandStackName(spec.from, spec.name)) {
    throw new ConfigError(source, [{ key: "dhis2:onDemand.name", value: spec.name, message: `must make the stack's name ${stack} as <from>-<name> (${onDemandStackName(spec.from, spec.name)}); npm run instance makes these stacks` }]);
  }
  const file = stackFilePath(projectDir, spec.from);
  let countryRaw: Raw;
  try {
    countryRaw = readStackFile(file).project;
  } catch (e) {
    throw new ConfigError(source, [{ key: "dhis2:onDemand.from", value: spec.from, message: (e as Error).message }]);
  }
  const country = loadDeployment(spec.from, countryRaw, file, { kind: "file" }).plan;
  if (!country.topology.onDemand) {
    throw new ConfigError(source, [{ key: "dhis2:onDemand.from", value: spec.from, message: "has no on-demand addresses: platform local with a dhis2:network.cidr of /25 or larger" }]);
  }
  const derived = onDemandRawConfig(countryRaw, own, spec);
  if (!derived.raw) throw new ConfigError(source, derived.problems);
  const v = validateStackConfig(stack, derived.raw, secrets);
  if (!v.config) throw new ConfigError(source, v.problems);
  const p = buildPlan(v.config);
  if (!p.plan) throw new ConfigError(source, p.problems);
  const plan = placeOnDemand(p.plan, spec, country);
  return { spec, plan, instance: plan.instances[0]!, country };
}
