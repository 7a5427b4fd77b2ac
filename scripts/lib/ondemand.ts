/**
 * The on-demand instances on this machine, as `npm run instance` finds them: each is a stack file
 * stacks/Pulumi.<country>-<name>.yaml with a `dhis2:onDemand` section (the country's own stacks
 * have none, so nothing here ever names them), and an LXD container.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { isMap, parseDocument, Scalar } from "yaml";
import { parseOnDemand, type OnDemandSpec } from "../../lib/ondemand/spec";
import { containerName } from "../../lib/render/lxd";
import { PROJECT_DIR, run } from "./stack-hosts";

export interface OnDemandStack {
  readonly stack: string;
  readonly file: string;
  readonly spec: OnDemandSpec;
}

const stackFile = (stack: string) => path.join(PROJECT_DIR, "stacks", `Pulumi.${stack}.yaml`);

/** Every on-demand instance's stack file (of one country stack, when `from` is given). */
export function onDemandStacks(from?: string): OnDemandStack[] {
  const dir = path.join(PROJECT_DIR, "stacks");
  const out: OnDemandStack[] = [];
  for (const f of fs.readdirSync(dir).sort()) {
    const m = /^Pulumi\.(.+)\.yaml$/.exec(f);
    if (!m) continue;
    const doc = parseDocument(fs.readFileSync(path.join(dir, f), "utf8")).toJS() as { config?: Record<string, unknown> } | null;
    const section = doc?.config?.["dhis2:onDemand"];
    if (section === undefined) continue;
    const { spec } = parseOnDemand(section);
    if (spec && (from === undefined || spec.from === from)) out.push({ stack: m[1]!, file: path.join(dir, f), spec });
  }
  return out;
}

/** Write a new instance stack's file: its `dhis2:onDemand` section (its secrets are added by pulumi config set). */
export function writeOnDemandStack(stack: string, spec: OnDemandSpec): string {
  const file = stackFile(stack);
  const doc = parseDocument("config: {}\n");
  doc.commentBefore = ` On-demand instance ${spec.name} of stack ${spec.from}, made by npm run instance (docs/instances.md).\n Removed by npm run instance -- destroy ${spec.name} --from ${spec.from}, or by reap once it expires.`;
  const node = doc.createNode(spec);
  // quoted: the Pulumi engine reads an unquoted time as a YAML timestamp and hands it over reformatted
  if (isMap(node)) for (const key of ["created", "expires"]) (node.get(key, true) as Scalar).type = Scalar.QUOTE_DOUBLE;
  doc.setIn(["config", "dhis2:onDemand"], node);
  fs.writeFileSync(file, doc.toString(), { mode: 0o644 });
  return file;
}

/** Set the expiry in an instance's stack file (keeps its other keys and its encrypted secrets). */
export function setExpiry(stack: string, expires: string): void {
  const file = stackFile(stack);
  const doc = parseDocument(fs.readFileSync(file, "utf8"));
  const node = doc.createNode(expires);
  node.type = Scalar.QUOTE_DOUBLE;
  doc.setIn(["config", "dhis2:onDemand", "expires"], node);
  fs.writeFileSync(file, doc.toString());
}

export function removeStackFile(stack: string): void {
  fs.rmSync(stackFile(stack), { force: true });
}

/** The container of an on-demand instance. */
export function instanceContainer(s: Pick<OnDemandStack, "stack" | "spec">): string {
  return containerName(s.stack, s.spec.name);
}

/** RUNNING, STOPPED, or absent. */
export async function containerState(name: string): Promise<string> {
  const r = await run("lxc", ["list", "--format", "csv", "-c", "s", `^${name}$`], { timeoutMs: 30_000 });
  return r.code === 0 && r.stdout.trim() ? r.stdout.trim() : "absent";
}

/**
 * Memory this machine can still give a container: its total less what the running DHIS2
 * containers may take (their limits.memory) and a reserve of 1 GB for the host. MB.
 */
export async function freeForContainersMb(): Promise<{ totalMb: number; limitedMb: number; freeMb: number }> {
  const meminfo = fs.readFileSync("/proc/meminfo", "utf8");
  const totalMb = Math.floor(Number(/MemTotal:\s+(\d+)/.exec(meminfo)?.[1] ?? 0) / 1024);
  const r = await run("lxc", ["list", "--format", "json"], { timeoutMs: 60_000 });
  let limitedMb = 0;
  if (r.code === 0) {
    for (const c of JSON.parse(r.stdout) as { name: string; status: string; config?: Record<string, string> }[]) {
      if (!c.name.startsWith("dhis2-") || c.status !== "Running") continue;
      limitedMb += memoryMb(c.config?.["limits.memory"] ?? "");
    }
  }
  return { totalMb, limitedMb, freeMb: totalMb - limitedMb - 1024 };
}

/** LXD's limits.memory ("3648MB", "2GB", "2GiB") in MB; 0 when unset. */
export function memoryMb(limit: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(MB|MiB|GB|GiB)?$/i.exec(limit.trim());
  if (!m) return 0;
  const n = Number(m[1]);
  return /^g/i.test(m[2] ?? "MB") ? Math.round(n * 1024) : Math.round(n);
}
