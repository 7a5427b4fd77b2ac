/**
 * What every phase of the end-to-end run shares: running programs (never through a shell built
 * from content), the project's pulumi with the run's own state, results and timings, and the
 * checks that more than one stack makes (TLS, the database login, SHOW = plan, secrets in state).
 * Traffic goes only to loopback and to the containers the run creates.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { loadStackFile } from "../../lib/load";
import type { Plan } from "../../lib/plan";
import { PATHS } from "../../lib/render/paths";
import { containerName } from "../../lib/render/lxd";

export const ROOT = path.resolve(__dirname, "..", "..");
export const WORK = path.join(process.env.DHIS2_CACHE_DIR ?? path.join(ROOT, ".cache"), "e2e");
export const PASSPHRASE = "dhis2-local";
export const DOMAIN = "dhis2.local";

export interface Run { code: number; stdout: string; stderr: string; ms: number }

export function run(cmd: string, args: readonly string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: opts.env ?? process.env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on("data", (d: Buffer) => { stderr += d.toString(); });
    const timer = opts.timeoutMs ? setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs) : undefined;
    child.on("error", (e) => { stderr += String(e); });
    child.on("close", (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code: code ?? 124, stdout, stderr, ms: Date.now() - started });
    });
    child.stdin.end(opts.input ?? "");
  });
}

/** The environment pulumi runs in: the toolchain, this run's state and passphrase (set by run.ts). */
export const env: { pulumi: NodeJS.ProcessEnv } = { pulumi: process.env };

export async function pulumi(stack: string, args: readonly string[], timeoutMs = 40 * 60_000, input?: string): Promise<Run> {
  const r = await run("pulumi", [...args, "--stack", stack, "--non-interactive"], { env: env.pulumi, timeoutMs, input });
  fs.appendFileSync(path.join(WORK, "pulumi.log"), `\n$ pulumi ${args.join(" ")} --stack ${stack}  (exit ${r.code}, ${(r.ms / 1000).toFixed(1)} s)\n${r.stdout}\n${r.stderr}\n`);
  return r;
}

/**
 * `npm run secrets` for a stack, as a user's `npm run pulumi -- up` runs it: the generated
 * secrets into the stack file, encrypted (after `pulumi stack init`).
 */
export async function writeGeneratedSecrets(stack: string): Promise<void> {
  const r = await run("npx", ["--no-install", "tsx", "scripts/secrets.ts", "--stack", stack], { env: env.pulumi, timeoutMs: 600_000 });
  fs.appendFileSync(path.join(WORK, "pulumi.log"), `\n$ npm run secrets -- --stack ${stack}  (exit ${r.code}, ${(r.ms / 1000).toFixed(1)} s)\n${r.stdout}\n${r.stderr}\n`);
  assert(r.code === 0, `npm run secrets -- --stack ${stack}: ${r.stderr}`);
}

/** A command in a container, as root. */
export function inContainer(container: string, script: string, timeoutMs = 60_000): Promise<Run> {
  return run("lxc", ["exec", container, "--", "bash", "-c", script], { timeoutMs });
}

export function tail(text: string, lines = 25): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------------------------------------
// results

interface Result { id: string; name: string; ok: boolean; detail: string }
export const results: Result[] = [];
export const timings: { what: string; seconds: number }[] = [];
const runStarted = Date.now();

export function record(id: string, name: string, ok: boolean, detail = ""): boolean {
  results.push({ id, name, ok, detail });
  console.log(`${ok ? "PASS" : "FAIL"} ${id} ${name}${detail ? `: ${detail}` : ""}`);
  return ok;
}

export async function check(id: string, name: string, fn: () => Promise<string | void>): Promise<boolean> {
  try {
    return record(id, name, true, (await fn()) ?? "");
  } catch (e) {
    return record(id, name, false, (e as Error).message);
  }
}

export function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

export function summary(): number {
  const failed = results.filter((r) => !r.ok);
  console.log("\nChecks");
  for (const r of results) console.log(`  ${r.ok ? "PASS" : "FAIL"}  ${r.id}  ${r.name}`);
  console.log("\nTimings");
  for (const t of timings) console.log(`  ${t.what}: ${t.seconds.toFixed(1)} s`);
  console.log(`\n${results.length - failed.length} passed, ${failed.length} failed`);
  const totalSeconds = Math.round((Date.now() - runStarted) / 1000);
  console.log(`The whole run: ${totalSeconds} s`);
  fs.writeFileSync(path.join(WORK, "timings.json"), JSON.stringify({ at: new Date().toISOString(), only: process.env.DHIS2_E2E_ONLY || null, totalSeconds, timings, passed: results.length - failed.length, failed: failed.length }, null, 2));
  return failed.length ? 1 : 0;
}

// ------------------------------------------------------------------------------------------------
// a deployed stack of the run

/** A stack of the run on this machine's LXD: its name, where its proxy answers, its containers. */
export interface E2eStack {
  readonly name: string;
  /** Where the proxy answers on this machine (the forward of dhis2:lxd.forward, or a server's address). */
  readonly address: string;
  readonly httpsPort: number;
  readonly httpPort: number;
  /** The container (or stand-in server) of a node. */
  container(node: string): string;
}

export function lxdStack(name: string, forward: { address: string; http: number; https: number }): E2eStack {
  return { name, address: forward.address, httpsPort: forward.https, httpPort: forward.http, container: (node) => containerName(name, node) };
}

export function planOf(stack: E2eStack): Plan {
  return loadStackFile(ROOT, stack.name).plan;
}

export async function timedUp(stack: E2eStack | string, what: string, extra: string[] = []): Promise<Run> {
  const r = await pulumi(typeof stack === "string" ? stack : stack.name, ["up", "--yes", "--skip-preview", ...extra]);
  timings.push({ what, seconds: r.ms / 1000 });
  return r;
}

/** curl to the stack's proxy as the browser would reach DOMAIN (and other names), on this machine. */
export function curl(stack: E2eStack, args: readonly string[], host = DOMAIN): Promise<Run> {
  return run("curl", ["-sS", "--max-time", "20", "--resolve", `${host}:${stack.httpsPort}:${stack.address}`, "--resolve", `${host}:${stack.httpPort}:${stack.address}`, ...args], { timeoutMs: 30_000 });
}

export function url(stack: E2eStack, pathPart: string, scheme: "https" | "http" = "https", host = DOMAIN): string {
  const port = scheme === "https" ? stack.httpsPort : stack.httpPort;
  const standard = scheme === "https" ? 443 : 80;
  return `${scheme}://${host}${port === standard ? "" : `:${port}`}${pathPart}`;
}

/** Poll /api/ping of each path through the proxy until all answer 200. */
export async function waitForPing(stack: E2eStack, paths: readonly string[], timeoutMs: number): Promise<{ ok: boolean; detail: string }> {
  const until = Date.now() + timeoutMs;
  let last = "";
  for (const p of paths) {
    for (;;) {
      const r = await curl(stack, ["-k", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10", url(stack, `${p}/api/ping`)]);
      if (r.stdout === "200") break;
      last = `${p || "/"}: HTTP ${r.stdout || "-"} ${r.stderr.trim()}`;
      if (Date.now() > until) return { ok: false, detail: `no 200 within ${timeoutMs / 1000} s (${last})` };
      await sleep(3000);
    }
  }
  return { ok: true, detail: "" };
}

export async function outputs(stack: string): Promise<Record<string, unknown>> {
  const r = await pulumi(stack, ["stack", "output", "--json", "--show-secrets"], 60_000);
  assert(r.code === 0, `stack output failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

export async function showSettings(container: string, names: readonly string[]): Promise<Record<string, string>> {
  const sql = names.map((n) => `SELECT '${n}', current_setting('${n}');`).join("\n");
  const r = await inContainer(container, `runuser -u postgres -- psql -X -qAt -F '|' <<'SQL'\n${sql}\nSQL`);
  assert(r.code === 0, `psql failed: ${r.stderr}`);
  return Object.fromEntries(r.stdout.trim().split("\n").map((l) => l.split("|") as [string, string]));
}

/** Every PostgreSQL setting of the plan (the stack's output) equals SHOW on the running server. */
export async function compareSettings(stack: string, container: string): Promise<string> {
  const plan = (await outputs(stack)).postgresSettings as Record<string, string>;
  const shown = await showSettings(container, Object.keys(plan));
  const differ = Object.entries(plan).filter(([k, v]) => shown[k] !== String(v)).map(([k, v]) => `${k}: plan ${v}, SHOW ${shown[k]}`);
  assert(differ.length === 0, differ.join("; "));
  return `${Object.keys(plan).length} settings equal SHOW (shared_buffers ${shown.shared_buffers}, work_mem ${shown.work_mem}, max_connections ${shown.max_connections})`;
}

/** Can a container (or this machine, "host") open a TCP connection to address:port? */
export async function connects(fromContainer: string | "host", address: string, port: number): Promise<boolean> {
  if (fromContainer === "host") {
    return new Promise((resolve) => {
      const s = net.connect({ host: address, port, timeout: 3000 });
      s.once("connect", () => { s.destroy(); resolve(true); });
      s.once("timeout", () => { s.destroy(); resolve(false); });
      s.once("error", () => resolve(false));
    });
  }
  const r = await inContainer(fromContainer, `timeout 3 bash -c 'exec 3<>/dev/tcp/${address}/${port}'`, 10_000);
  return r.code === 0;
}

/**
 * Every secret the deployment generated, with a name: the monitoring login and the database
 * logins (from the stack's secret output), each instance's encryption password (from its dhis.conf).
 */
export async function generatedSecrets(stack: string, instances: readonly string[], container: (node: string) => string): Promise<Record<string, string>> {
  const out = await outputs(stack);
  const creds = out.credentials as { monitoring: { password: string }; databases: Record<string, { password: string }> };
  const secrets: Record<string, string> = { "monitoring password": creds.monitoring.password, "backup password": (out.backup as { password: string }).password };
  for (const [name, db] of Object.entries(creds.databases)) secrets[`database password of ${name}`] = db.password;
  for (const name of instances) {
    const r = await inContainer(container(name), `sed -n 's/^encryption.password = //p' ${PATHS.dhis2Home}/dhis.conf`);
    assert(r.stdout.trim().length >= 24, `no encryption password in ${name}'s dhis.conf`);
    secrets[`encryption password of ${name}`] = r.stdout.trim();
  }
  return secrets;
}

/** Which of the secrets `pulumi stack export` (encrypted secrets stay ciphertext) shows in plain text. */
export async function secretsInState(stack: string, secrets: Record<string, string>): Promise<{ hits: string[]; secrets: number; bytes: number }> {
  const r = await pulumi(stack, ["stack", "export"], 120_000);
  assert(r.code === 0, r.stderr);
  const hits = Object.entries(secrets).filter(([, v]) => r.stdout.includes(v)).map(([k]) => k);
  return { hits, secrets: Object.keys(secrets).length, bytes: r.stdout.length };
}

/** Remove what an earlier run left of a stack: its state (unprotected first), its containers, its volumes. */
export async function removeStack(stack: string, containerPrefix = `dhis2-${stack}-`, volumes: readonly string[] = []): Promise<void> {
  const stacks = await run("pulumi", ["stack", "ls", "--json"], { env: env.pulumi });
  if (stacks.code === 0 && (JSON.parse(stacks.stdout || "[]") as { name: string }[]).some((s) => s.name === stack)) {
    await pulumi(stack, ["state", "unprotect", "--all", "--yes"], 60_000);
    await pulumi(stack, ["destroy", "--yes", "--skip-preview"]);
    await pulumi(stack, ["stack", "rm", "--yes", "--force"], 60_000);
  }
  const ls = await run("lxc", ["list", "--format", "csv", "-c", "n"]);
  for (const name of ls.stdout.split("\n")) if (name.startsWith(containerPrefix)) await run("lxc", ["delete", "--force", name]);
  for (const v of volumes) await run("lxc", ["storage", "volume", "delete", "dhis2", v]);
}

/** The names of the custom storage volumes in the toolkit's pool that start with a prefix (a stack's data volumes). */
export async function volumesWithPrefix(prefix: string): Promise<string[]> {
  const r = await run("lxc", ["storage", "volume", "list", "dhis2", "--format", "csv", "-c", "tn"]);
  return r.stdout.split("\n").map((l) => l.split(",")).filter(([type, name]) => type === "custom" && name?.startsWith(prefix)).map(([, name]) => name!);
}
