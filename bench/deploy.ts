/**
 * Deployment benchmark: how long the local platform takes, cold and warm.
 *
 *   npm run bench:deploy [-- --rounds N] [--skip-cold] [--with-e2e] [--keep]
 *
 * A stack of its own (`bench-deploy`: the local stack with the end-to-end test's stand-in WAR and
 * glowroot archive, on its own network and ports, so a deployed `local` stack is left alone) is
 * deployed and timed:
 *   cold  its containers' package images removed first (the first `up` makes them again);
 *   warm  the images there (what every later deployment on this machine sees).
 * Each step starts once the machine is quiet (load under 3, waiting up to 3 minutes).
 * Each round: the first `pulumi up` (everything created), three no-change `pulumi up`s, a resize (more
 * memory for the database: new limits and PostgreSQL settings in place), `pulumi destroy`. The
 * whole end-to-end run: the last one's figure (.cache/e2e/timings.json), or a run now with
 * --with-e2e. --keep leaves the last round's stack deployed after its resize, to profile or look
 * at (state in .cache/bench-deploy/state, passphrase dhis2-local; the next run removes it). Printed as a table with the machine's load at the start and the end of each step:
 * a step measured on a busy machine says so.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { parseDocument } from "yaml";
import { loadStackFile } from "../lib/load";
import { lxdRoleImages } from "../lib/render/lxd";
import { renderDeployment } from "../lib/render/hosts";
import { placeholderSecrets } from "../lib/render/secrets";
import { buildStandIns } from "../tests/e2e/standin";
import { PROJECT_DIR, run } from "../scripts/lib/stack-hosts";
import { table } from "./harness/util";

const STACK = "bench-deploy";
const WORK = path.join(PROJECT_DIR, ".cache", "bench-deploy");
const STACK_FILE = path.join(PROJECT_DIR, "stacks", `Pulumi.${STACK}.yaml`);

interface Row { what: string; seconds: number; ok: boolean; load: string; probe: string }
const rows: Row[] = [];
let env: NodeJS.ProcessEnv = process.env;

const load = () => os.loadavg()[0]!.toFixed(2);

/**
 * The machine's speed just before a step: milliseconds for a fixed piece of CPU work (a loop of
 * 5e7 additions, 65-90 ms on this 2-CPU machine). On a shared virtual machine the same
 * work varies by a quarter from one minute to the next (steal, neighbours); a step measured while
 * the probe is slow was slowed with it.
 */
function probe(): string {
  const started = process.hrtime.bigint();
  let x = 0;
  for (let i = 0; i < 5e7; i++) x += i % 7;
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  return x > 0 ? ms.toFixed(0) : "-";
}

async function pulumi(args: readonly string[], timeoutMs = 60 * 60_000) {
  return run("pulumi", [...args, "--stack", STACK, "--non-interactive"], { env, timeoutMs });
}

/**
 * Waits (at most 3 minutes) until the machine is quiet: the 1-minute load under 3, as the targets
 * are stated. A step that starts on a busier machine is still measured, its load shown.
 */
async function quiet(): Promise<void> {
  const until = Date.now() + 180_000;
  while (os.loadavg()[0]! >= 3 && Date.now() < until) await new Promise((r) => setTimeout(r, 5000));
}

/** Runs one step and records its time, the load before and after it and the CPU probe before it. */
async function measure(what: string, step: () => Promise<{ code: number | null; stdout: string; stderr: string }>): Promise<boolean> {
  const speed = probe();
  const before = load();
  const started = Date.now();
  const r = await step();
  const seconds = (Date.now() - started) / 1000;
  rows.push({ what, seconds, ok: r.code === 0, load: `${before} → ${load()}`, probe: speed });
  console.log(`${r.code === 0 ? "ok  " : "FAIL"} ${what}: ${seconds.toFixed(1)} s`);
  if (r.code !== 0) console.log((r.stdout + r.stderr).split("\n").slice(-20).join("\n"));
  return r.code === 0;
}

/** A pulumi step, once the machine is quiet. */
async function timed(what: string, args: readonly string[]): Promise<boolean> {
  await quiet();
  return measure(what, () => pulumi(args));
}

async function artifacts(): Promise<{ war: string; glowroot: string }> {
  const out = path.join(WORK, "artifacts");
  const war = path.join(out, "dhis2-standin.war");
  const glowroot = path.join(out, "glowroot-standin-dist.zip");
  if (fs.existsSync(war) && fs.existsSync(glowroot)) return { war, glowroot };
  const built = buildStandIns(WORK);
  return { war: built.war, glowroot: built.glowroot };
}

function writeStack(a: { war: string; glowroot: string }): void {
  const doc = parseDocument(fs.readFileSync(path.join(PROJECT_DIR, "stacks", "Pulumi.local.yaml"), "utf8"));
  doc.commentBefore = " Written by bench/deploy.ts: the local stack with the end-to-end test's STAND-INS, on its own network and ports.";
  (doc.getIn(["config", "dhis2:instances"]) as { items: unknown[] }).items.forEach((_, i) => doc.setIn(["config", "dhis2:instances", i, "war"], a.war));
  doc.setIn(["config", "dhis2:monitoring"], doc.createNode({ glowrootArchive: a.glowroot }));
  doc.setIn(["config", "dhis2:network"], doc.createNode({ cidr: "10.231.45.0/24" }));
  doc.setIn(["config", "dhis2:lxd"], doc.createNode({ bridge: "dhis2bench0", forward: { address: "127.0.0.1", http: 10380, https: 10743 } }));
  doc.setIn(["config", "dhis2:alerts", "smtp"], doc.createNode({ host: "10.231.45.1", port: 2525, security: "none" }));
  fs.writeFileSync(STACK_FILE, doc.toString());
}

/** More memory for the database, in the stack file as it is (it holds the generated secrets by now). */
function setDatabaseMemory(gb: number): void {
  const doc = parseDocument(fs.readFileSync(STACK_FILE, "utf8"));
  doc.setIn(["config", "dhis2:sizes", "database"], doc.createNode({ memoryGb: gb }));
  fs.writeFileSync(STACK_FILE, doc.toString());
}

async function removeStack(): Promise<void> {
  await pulumi(["state", "unprotect", "--all", "--yes"], 120_000);
  await pulumi(["destroy", "--yes", "--skip-preview"]);
  await pulumi(["stack", "rm", "--yes", "--force"], 120_000);
  await run("lxc", ["storage", "volume", "delete", "dhis2", `dhis2-${STACK}-pgdata`]);
}

async function round(kind: "cold" | "warm", a: { war: string; glowroot: string }, keep: boolean): Promise<void> {
  writeStack(a);
  if (kind === "cold") {
    const plan = loadStackFile(PROJECT_DIR, STACK).plan;
    for (const image of new Set(lxdRoleImages(plan, renderDeployment(plan, { secrets: placeholderSecrets(plan) })).map((i) => i.alias))) {
      await run("lxc", ["image", "delete", image]);
    }
  }
  await pulumi(["stack", "init", "--secrets-provider", "passphrase"], 120_000);
  // the generated secrets into the stack file, as npm run pulumi -- up does
  const secrets = await run("npx", ["--no-install", "tsx", "scripts/secrets.ts", "--stack", STACK], { env, timeoutMs: 600_000 });
  if (secrets.code !== 0) throw new Error(`npm run secrets: ${secrets.stderr}`);
  if (!await timed(`${kind}: first pulumi up (everything created)`, ["up", "--yes", "--skip-preview"])) return;
  // three no-change runs: a single one on a 2-CPU machine varies by a second
  for (const n of [1, 2, 3]) await timed(`${kind}: pulumi up, no change (${n} of 3)`, ["up", "--yes", "--skip-preview", "--expect-no-changes"]);
  setDatabaseMemory(4);
  await timed(`${kind}: resize pulumi up (database memory 4 GB)`, ["up", "--yes", "--skip-preview"]);
  if (keep) return;
  await timed(`${kind}: pulumi destroy`, ["destroy", "--yes", "--skip-preview", "--exclude-protected"]);
  await removeStack();
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { rounds: { type: "string" }, "skip-cold": { type: "boolean" }, "with-e2e": { type: "boolean" }, keep: { type: "boolean" } }, strict: true });
  const rounds = Math.max(1, Number(values.rounds ?? 1));
  fs.mkdirSync(path.join(WORK, "state"), { recursive: true });
  const bin = (await run("bash", [path.join(PROJECT_DIR, "tools/toolchain.sh")])).stdout.trim();
  env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, PULUMI_BACKEND_URL: `file://${path.join(WORK, "state")}`, PULUMI_CONFIG_PASSPHRASE: "dhis2-local", PULUMI_SKIP_UPDATE_CHECK: "true" };
  if ((await run("bash", [path.join(PROJECT_DIR, "tools/plugin-downloads.sh")])).stdout.trim() === "no") env.PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION = "true";
  const setup = await run("bash", [path.join(PROJECT_DIR, "scripts/lxd-host.sh")], { timeoutMs: 30 * 60_000 });
  if (setup.code !== 0) throw new Error(`scripts/lxd-host.sh: ${setup.stderr}`);
  const a = await artifacts();
  await removeStack();
  try {
    for (let i = 0; i < rounds; i++) {
      if (!values["skip-cold"]) await round("cold", a, false);
      await round("warm", a, values.keep === true && i === rounds - 1);
    }
    if (values["with-e2e"]) {
      await measure("the whole end-to-end run (npm run test:e2e)", () => run("bash", [path.join(PROJECT_DIR, "scripts/e2e.sh")], { timeoutMs: 120 * 60_000 }));
    }
  } finally {
    if (!values.keep) fs.rmSync(STACK_FILE, { force: true });
  }
  const last = path.join(PROJECT_DIR, ".cache", "e2e", "timings.json");
  if (!values["with-e2e"] && fs.existsSync(last)) {
    const t = JSON.parse(fs.readFileSync(last, "utf8")) as { at: string; only?: string | null; totalSeconds?: number; failed: number };
    // a run of some phases only (DHIS2_E2E_ONLY) is not the whole run's figure
    if (t.only) console.log(`(the last end-to-end run, ${t.at}, ran only ${t.only}: no whole-run figure; npm run test:e2e or --with-e2e gives one)`);
    else if (t.totalSeconds) rows.push({ what: `the whole end-to-end run (the last one, ${t.at})`, seconds: t.totalSeconds, ok: t.failed === 0, load: "-", probe: "-" });
  }
  console.log(`\nDeployment benchmark on ${os.cpus().length} CPUs, ${(os.totalmem() / 2 ** 30).toFixed(0)} GB; load average (1 min) before → after each step; CPU probe: ms for a fixed loop just before it (lower is faster)\n`);
  console.log(table(["step", "seconds", "result", "load", "CPU probe ms"], rows.map((r) => [r.what, r.seconds.toFixed(1), r.ok ? "ok" : "FAILED", r.load, r.probe])));
  return rows.every((r) => r.ok) ? 0 : 1;
}

main().then((code) => { process.exitCode = code; }, (e: Error) => { console.error(`error: ${e.message}`); process.exitCode = 2; });
