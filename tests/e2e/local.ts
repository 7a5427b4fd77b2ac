/**
 * npm run test:e2e — the local stack, deployed for real and checked with real traffic.
 *
 * The real Pulumi engine (tools/toolchain.sh) runs index.ts on a stack `e2e` made from
 * stacks/Pulumi.local.yaml, whose DHIS2 WAR and glowroot archive are STAND-INS built here
 * (tests/e2e/standin: releases.dhis2.org and GitHub cannot be reached). Then:
 *   a. https through the proxy reaches both instances; http redirects; an unknown host is refused
 *   b. the instances talk to PostgreSQL with dhis.conf's login over TLS; SHOW = the plan;
 *      postgis, pg_trgm, btree_gin and the tracker search indexes exist
 *   c. a flow matrix: allowed flows connect, forbidden ones do not (to listening services)
 *   d. munin and glowroot answer through the proxy only, with the generated login (401 without)
 *   e. a test alert goes through the send-only postfix to an SMTP sink on the LXD host; no
 *      container accepts mail from outside
 *   f. a second `pulumi up` changes nothing
 *   g. the hardware-upgrade review: more memory for the database, `pulumi preview --diff` shows
 *      the retuned settings and the new limit and no replacement; `pulumi up`; SHOW; rows kept
 *   h. `pulumi destroy --exclude-protected` removes everything but the protected data
 *   i. platform existing: containers with sshd stand in for a data centre's servers; the same
 *      roles over SSH through the proxy as bastion, with pinned host keys; connection checks
 * Traffic goes only to loopback and to the containers this run creates.
 * Prerequisites (LXD, toolchain, JDK) come from scripts/e2e.sh.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { parseDocument } from "yaml";
import { loadStackFile } from "../../lib/load";
import { PATHS } from "../../lib/render/paths";
import { containerName, databaseVolumeName, LXD } from "../../lib/render/lxd";
import { PORTS } from "../../lib/plan/topology";
import { dhis2SchemaSql, metadataSql } from "../support/dhis2-schema";
import { startSmtpSink, type SmtpSink } from "./smtp-sink";

const ROOT = path.resolve(__dirname, "..", "..");
const STACK = "e2e";
const WORK = path.join(process.env.DHIS2_CACHE_DIR ?? path.join(ROOT, ".cache"), "e2e");
const STACK_FILE = path.join(ROOT, "stacks", `Pulumi.${STACK}.yaml`);
const PASSPHRASE = "dhis2-local";
const DOMAIN = "dhis2.local";
/** The database memory of the hardware-upgrade check (the stack's share is 3.56 GB). */
const UPGRADED_DB_MEMORY_GB = 4;

// ------------------------------------------------------------------------------------------------
// running things

interface Run { code: number; stdout: string; stderr: string; ms: number }

function run(cmd: string, args: readonly string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv; quiet?: boolean } = {}): Promise<Run> {
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

let pulumiEnv: NodeJS.ProcessEnv = process.env;

async function pulumi(args: readonly string[], timeoutMs = 40 * 60_000, stack = STACK, input?: string): Promise<Run> {
  const r = await run("pulumi", [...args, "--stack", stack, "--non-interactive"], { env: pulumiEnv, timeoutMs, input });
  fs.appendFileSync(path.join(WORK, "pulumi.log"), `\n$ pulumi ${args.join(" ")}  (exit ${r.code}, ${(r.ms / 1000).toFixed(1)} s)\n${r.stdout}\n${r.stderr}\n`);
  return r;
}

/** A command in a container of this run, as root. */
function inContainer(node: string, script: string, timeoutMs = 60_000, container = containerName(STACK, node)): Promise<Run> {
  return run("lxc", ["exec", container, "--", "bash", "-c", script], { timeoutMs });
}

function curl(args: readonly string[]): Promise<Run> {
  return run("curl", ["-sS", "--max-time", "20", "--resolve", `${DOMAIN}:443:127.0.0.1`, "--resolve", `${DOMAIN}:80:127.0.0.1`, ...args], { timeoutMs: 30_000 });
}

function tail(text: string, lines = 25): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

// ------------------------------------------------------------------------------------------------
// results

interface Result { id: string; name: string; ok: boolean; detail: string }
const results: Result[] = [];
const timings: { what: string; seconds: number }[] = [];

function record(id: string, name: string, ok: boolean, detail = ""): boolean {
  results.push({ id, name, ok, detail });
  console.log(`${ok ? "PASS" : "FAIL"} ${id} ${name}${detail ? `: ${detail}` : ""}`);
  return ok;
}

async function check(id: string, name: string, fn: () => Promise<string | void>): Promise<boolean> {
  try {
    return record(id, name, true, (await fn()) ?? "");
  } catch (e) {
    return record(id, name, false, (e as Error).message);
  }
}

function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

// ------------------------------------------------------------------------------------------------
// preparation

/** Leftovers of an earlier run of this test: its containers, its data volume, its stack. */
async function cleanSlate(): Promise<void> {
  const ls = await run("lxc", ["list", "--format", "csv", "-c", "n4"]);
  const mine = `dhis2-${STACK}-`;
  const others = ls.stdout.split("\n").filter((l) => l.includes("10.231.20.") && !l.startsWith(mine) && !l.startsWith("dhis2-e2ex-"));
  if (others.length) {
    throw new Error(`containers of another stack use the local network (${others.map((l) => l.split(",")[0]).join(", ")}): the local stack is deployed; destroy it first (npm run pulumi -- destroy --stack local)`);
  }
  const stacks = await run("pulumi", ["stack", "ls", "--json"], { env: pulumiEnv });
  if (stacks.code === 0 && (JSON.parse(stacks.stdout || "[]") as { name: string }[]).some((s) => s.name === STACK)) {
    await pulumi(["state", "unprotect", "--all", "--yes"]);
    await pulumi(["destroy", "--yes", "--skip-preview"]);
    await pulumi(["stack", "rm", "--yes", "--force"]);
  }
  for (const line of ls.stdout.split("\n")) {
    const name = line.split(",")[0];
    if (name?.startsWith(mine)) await run("lxc", ["delete", "--force", name]);
  }
  await run("lxc", ["storage", "volume", "delete", LXD.pool, databaseVolumeName(STACK)]);
}

/** The stand-in WAR and glowroot archive (tests/e2e/standin), built with the JDK. */
async function buildStandIns(): Promise<{ war: string; glowroot: string }> {
  const out = path.join(WORK, "artifacts");
  fs.mkdirSync(out, { recursive: true });
  const schema = path.join(WORK, "standin-schema.sql");
  // what DHIS2's migrations would create: the tracker tables and some metadata
  fs.writeFileSync(schema, dhis2SchemaSql("trackedentity") + metadataSql());
  const r = await run("bash", [path.join(ROOT, "tests/e2e/standin/build.sh"), out, schema]);
  if (r.code !== 0) throw new Error(`building the stand-ins failed:\n${r.stdout}\n${r.stderr}`);
  return { war: path.join(out, "dhis2-standin.war"), glowroot: path.join(out, "glowroot-standin-dist.zip") };
}

/** stacks/Pulumi.e2e.yaml: the local stack with the stand-ins as WAR and glowroot archive. */
function writeStackFile(artifacts: { war: string; glowroot: string }): void {
  const doc = parseDocument(fs.readFileSync(path.join(ROOT, "stacks", "Pulumi.local.yaml"), "utf8"));
  doc.commentBefore = " Written by tests/e2e/local.ts: the local stack with the end-to-end test's STAND-INS (not DHIS2, not glowroot).";
  const instances = doc.getIn(["config", "dhis2:instances"]) as { items: unknown[] };
  instances.items.forEach((_, i) => doc.setIn(["config", "dhis2:instances", i, "war"], artifacts.war));
  doc.setIn(["config", "dhis2:monitoring"], doc.createNode({ glowrootArchive: artifacts.glowroot }));
  fs.writeFileSync(STACK_FILE, doc.toString());
}

function setDatabaseMemory(gb: number): void {
  const doc = parseDocument(fs.readFileSync(STACK_FILE, "utf8"));
  doc.setIn(["config", "dhis2:sizes", "database"], doc.createNode({ memoryGb: gb }));
  fs.writeFileSync(STACK_FILE, doc.toString());
}

// ------------------------------------------------------------------------------------------------
// checks

async function timedUp(what: string, extra: string[] = [], stack = STACK): Promise<Run> {
  const r = await pulumi(["up", "--yes", "--skip-preview", ...extra], 40 * 60_000, stack);
  timings.push({ what, seconds: r.ms / 1000 });
  return r;
}

/** Poll /api/ping of each path through the proxy until all answer 200. */
async function waitForPing(paths: readonly string[], timeoutMs: number): Promise<{ ok: boolean; detail: string }> {
  const until = Date.now() + timeoutMs;
  let last = "";
  for (const p of paths) {
    for (;;) {
      const r = await curl(["-k", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10", `https://${DOMAIN}${p}/api/ping`]);
      if (r.stdout === "200") break;
      last = `${p || "/"}: HTTP ${r.stdout || "-"} ${r.stderr.trim()}`;
      if (Date.now() > until) return { ok: false, detail: `no 200 within ${timeoutMs / 1000} s (${last})` };
      await new Promise((res) => setTimeout(res, 3000));
    }
  }
  return { ok: true, detail: "" };
}

async function outputs(stack = STACK): Promise<Record<string, unknown>> {
  const r = await pulumi(["stack", "output", "--json", "--show-secrets"], 60_000, stack);
  assert(r.code === 0, `stack output failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

async function showSettings(names: readonly string[], container = containerName(STACK, "database")): Promise<Record<string, string>> {
  const sql = names.map((n) => `SELECT '${n}', current_setting('${n}');`).join("\n");
  const r = await run("lxc", ["exec", container, "--", "bash", "-c", `runuser -u postgres -- psql -X -qAt -F '|' <<'SQL'\n${sql}\nSQL`], { timeoutMs: 60_000 });
  assert(r.code === 0, `psql failed: ${r.stderr}`);
  return Object.fromEntries(r.stdout.trim().split("\n").map((l) => l.split("|") as [string, string]));
}

async function compareSettings(stack = STACK, container = containerName(STACK, "database")): Promise<string> {
  const plan = (await outputs(stack)).postgresSettings as Record<string, string>;
  const shown = await showSettings(Object.keys(plan), container);
  const differ = Object.entries(plan).filter(([k, v]) => shown[k] !== String(v)).map(([k, v]) => `${k}: plan ${v}, SHOW ${shown[k]}`);
  assert(differ.length === 0, differ.join("; "));
  return `${Object.keys(plan).length} settings equal SHOW (shared_buffers ${shown.shared_buffers}, work_mem ${shown.work_mem}, max_connections ${shown.max_connections})`;
}

/**
 * Every secret the deployment generated, with a name: the monitoring login and the database
 * logins (from the stack's secret output), each instance's encryption password (from its dhis.conf).
 */
async function generatedSecrets(instances: readonly string[], stack = STACK, container = (n: string) => containerName(STACK, n)): Promise<Record<string, string>> {
  const creds = (await outputs(stack)).credentials as { monitoring: { password: string }; databases: Record<string, { password: string }> };
  const secrets: Record<string, string> = { "monitoring password": creds.monitoring.password };
  for (const [name, db] of Object.entries(creds.databases)) secrets[`database password of ${name}`] = db.password;
  for (const name of instances) {
    const r = await inContainer(name, `sed -n 's/^encryption.password = //p' ${PATHS.dhis2Home}/dhis.conf`, 60_000, container(name));
    assert(r.stdout.trim().length >= 24, `no encryption password in ${name}'s dhis.conf`);
    secrets[`encryption password of ${name}`] = r.stdout.trim();
  }
  return secrets;
}

/** Which of the secrets `pulumi stack export` (encrypted secrets stay ciphertext) shows in plain text. */
async function secretsInState(stack: string, secrets: Record<string, string>): Promise<{ hits: string[]; secrets: number; bytes: number }> {
  const r = await pulumi(["stack", "export"], 120_000, stack);
  assert(r.code === 0, r.stderr);
  const hits = Object.entries(secrets).filter(([, v]) => r.stdout.includes(v)).map(([k]) => k);
  return { hits, secrets: Object.keys(secrets).length, bytes: r.stdout.length };
}

interface Flow { from: string; to: string; port: number; allowed: boolean; why: string }

/** Can `from` (a node, or "host" for the LXD host) open a TCP connection to `to`:port? */
async function connects(from: string, address: string, port: number, container = from === "host" ? "" : containerName(STACK, from)): Promise<boolean> {
  if (from === "host") {
    return new Promise((resolve) => {
      const s = net.connect({ host: address, port, timeout: 3000 });
      s.once("connect", () => { s.destroy(); resolve(true); });
      s.once("timeout", () => { s.destroy(); resolve(false); });
      s.once("error", () => resolve(false));
    });
  }
  const r = await inContainer(from, `timeout 3 bash -c 'exec 3<>/dev/tcp/${address}/${port}'`, 10_000, container);
  return r.code === 0;
}

async function listening(node: string, port: number): Promise<boolean> {
  const r = await inContainer(node, `ss -Htln 'sport = :${port}'`);
  return r.stdout.trim().length > 0;
}

async function flowMatrix(addresses: Record<string, string>): Promise<void> {
  const flows: Flow[] = [
    { from: "proxy", to: "production", port: PORTS.tomcat, allowed: true, why: "DHIS2 behind the proxy" },
    { from: "proxy", to: "training", port: PORTS.tomcat, allowed: true, why: "DHIS2 behind the proxy" },
    { from: "proxy", to: "production", port: PORTS.glowroot, allowed: true, why: "glowroot behind the proxy" },
    { from: "proxy", to: "monitor", port: PORTS.muninWeb, allowed: true, why: "munin pages behind the proxy" },
    { from: "production", to: "database", port: PORTS.postgres, allowed: true, why: "instance's database" },
    { from: "training", to: "database", port: PORTS.postgres, allowed: true, why: "instance's database" },
    ...["proxy", "production", "training", "database", "monitor"].map((n) => ({ from: "monitor", to: n, port: PORTS.muninNode, allowed: true, why: "munin master polls munin-node" })),
    { from: "proxy", to: "database", port: PORTS.postgres, allowed: false, why: "the proxy never talks to the database" },
    { from: "monitor", to: "database", port: PORTS.postgres, allowed: false, why: "monitoring reads PostgreSQL through munin-node" },
    { from: "production", to: "training", port: PORTS.tomcat, allowed: false, why: "instances are isolated from each other" },
    { from: "training", to: "production", port: PORTS.tomcat, allowed: false, why: "instances are isolated from each other" },
    { from: "training", to: "production", port: PORTS.glowroot, allowed: false, why: "glowroot only for the proxy" },
    { from: "host", to: "database", port: PORTS.postgres, allowed: false, why: "the LXD host is not a client of the database" },
    { from: "host", to: "production", port: PORTS.tomcat, allowed: false, why: "DHIS2 only through the proxy" },
    { from: "host", to: "monitor", port: PORTS.muninWeb, allowed: false, why: "munin pages only through the proxy's login" },
    { from: "proxy", to: "monitor", port: PORTS.muninNode, allowed: false, why: "the proxy reaches the monitor on its web port only" },
    { from: "production", to: "proxy", port: PORTS.muninNode, allowed: false, why: "munin-node answers the monitor only" },
    { from: "production", to: "database", port: PORTS.muninNode, allowed: false, why: "munin-node answers the monitor only" },
  ];
  const rows: string[] = [];
  let failed = 0;
  for (const f of flows) {
    const listens = await listening(f.to, f.port);
    const ok = await connects(f.from, addresses[f.to]!, f.port);
    const pass = listens && ok === f.allowed;
    if (!pass) failed++;
    rows.push(`${pass ? "ok  " : "FAIL"} | ${f.from.padEnd(10)} | ${`${f.to}:${f.port}`.padEnd(16)} | ${(f.allowed ? "allowed" : "forbidden").padEnd(9)} | ${(ok ? "connects" : "blocked").padEnd(8)} | ${listens ? "yes" : "NO "} | ${f.why}`);
  }
  console.log(`\nFlow matrix (${flows.length} flows; "listening": the service is up, so a blocked flow is the firewall's doing)`);
  console.log("     | from       | to               | expected  | result   | listening | why");
  for (const r of rows) console.log(r);
  console.log("");
  record("c", `flow matrix: ${flows.length - failed} of ${flows.length} flows as the plan says`, failed === 0, failed ? `${failed} flow(s) differ (see the matrix)` : "");
}

// ------------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  fs.mkdirSync(WORK, { recursive: true });
  fs.writeFileSync(path.join(WORK, "pulumi.log"), "");
  const bin = (await run("bash", [path.join(ROOT, "tools/toolchain.sh")])).stdout.trim();
  assert(bin, "tools/toolchain.sh printed no bin directory");
  const stateDir = path.join(WORK, "state");
  fs.mkdirSync(stateDir, { recursive: true });
  pulumiEnv = {
    ...process.env,
    PATH: `${bin}:${process.env.PATH}`,
    PULUMI_BACKEND_URL: `file://${stateDir}`,
    PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
    PULUMI_SKIP_UPDATE_CHECK: "true",
  };
  // as scripts/pulumi-env.sh: no plugin downloads only where they cannot be reached
  if ((await run("bash", [path.join(ROOT, "tools/plugin-downloads.sh")])).stdout.trim() === "no") {
    pulumiEnv.PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION = "true";
  }

  await cleanExisting();
  await cleanSlate();
  const artifacts = await buildStandIns();
  writeStackFile(artifacts);
  const plan = loadStackFile(ROOT, STACK).plan;
  const addresses = Object.fromEntries([plan.topology.proxy, plan.topology.database, plan.topology.monitor, ...plan.topology.instances].map((n) => [n.name, n.address]));
  const smtp = plan.config.alerts.smtp!;
  const sink: SmtpSink = await startSmtpSink(smtp.host, smtp.port);
  console.log(`SMTP sink listening on ${smtp.host}:${smtp.port}; Pulumi log: ${path.join(WORK, "pulumi.log")}`);
  try {
    if (process.env.DHIS2_E2E_ONLY === "existing") {
      // for working on the SSH path alone; the full run (the default, and CI) does every phase
      console.log("DHIS2_E2E_ONLY=existing: phase (i) only");
      await existingServersPhase(artifacts, sink).catch((e: Error) => { record("i", "existing servers over SSH", false, e.stack ?? e.message); });
      return summary(sink);
    }
    const init = await pulumi(["stack", "init", "--secrets-provider", "passphrase"]);
    assert(init.code === 0, `pulumi stack init failed: ${init.stderr}`);

    // a. first deployment -----------------------------------------------------------------------
    const up = await timedUp("first pulumi up (everything created)");
    if (!record("a", "pulumi up creates the whole topology", up.code === 0, up.code === 0 ? `${(up.ms / 1000).toFixed(0)} s` : tail(up.stdout + up.stderr, 40))) return summary(sink);

    await check("a", "https through the proxy reaches both instances (/api/ping 200)", async () => {
      const started = Date.now();
      const r = await waitForPing(["", "/training"], 300_000);
      assert(r.ok, r.detail);
      return `both answer (${((Date.now() - started) / 1000).toFixed(0)} s after pulumi up returned)`;
    });
    await check("a", "the official Node.js language host 3.248.0 and command provider 1.2.1 ran it (pulumi about)", async () => {
      const r = await pulumi(["about", "--json"], 120_000);
      assert(r.code === 0, tail(r.stdout + r.stderr));
      const about = JSON.parse(r.stdout) as { plugins?: { name: string; kind?: string; version: string }[] };
      const plugins = about.plugins ?? [];
      const version = (name: string, kind: string) => plugins.find((p) => p.name === name && p.kind === kind)?.version?.replace(/^v/, "");
      const shown = plugins.map((p) => `${p.kind} ${p.name} ${p.version}`).join(", ");
      const cli = (await run("pulumi", ["version"], { env: pulumiEnv })).stdout.trim();
      console.log(`pulumi ${cli}; pulumi about: ${shown}`);
      assert(cli === "v3.248.0", `CLI ${cli}`);
      assert(version("nodejs", "language") === "3.248.0", `language host: ${version("nodejs", "language")} (${shown})`);
      assert(version("command", "resource") === "1.2.1", `command provider: ${version("command", "resource")} (${shown})`);
      return `CLI ${cli}, ${shown}`;
    });
    await check("a", "TLS 1.2+ with HSTS; TLS 1.1 refused", async () => {
      const r = await curl(["-k", "-sI", `https://${DOMAIN}/api/ping`]);
      assert(/strict-transport-security: max-age=63072000/i.test(r.stdout), `no HSTS header:\n${r.stdout}`);
      const old = await curl(["-k", "--tlsv1.1", "--tls-max", "1.1", "-o", "/dev/null", `https://${DOMAIN}/`]);
      assert(old.code !== 0, "a TLS 1.1 handshake succeeded");
    });
    await check("a", "http redirects to https", async () => {
      const r = await curl(["-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", `http://${DOMAIN}/dhis-web-dashboard/`]);
      assert(r.stdout === `301 https://${DOMAIN}/dhis-web-dashboard/`, `got ${r.stdout}`);
    });
    await check("a", "an unknown host name is refused (TLS handshake rejected, http connection closed)", async () => {
      const https = await run("curl", ["-sk", "--max-time", "10", "--resolve", "other.example.org:443:127.0.0.1", "https://other.example.org/"]);
      assert(https.code === 35, `https: curl exit ${https.code} (35 = handshake refused)`);
      const http = await run("curl", ["-s", "--max-time", "10", "--resolve", "other.example.org:80:127.0.0.1", "http://other.example.org/"]);
      assert(http.code === 52, `http: curl exit ${http.code} (52 = closed without a reply)`);
      return "https: handshake refused; http: closed without reply";
    });

    // b. database --------------------------------------------------------------------------------
    for (const inst of plan.instances) {
      const name = inst.config.name;
      await check("b", `${name} is connected to PostgreSQL with dhis.conf's login, over TLS`, async () => {
        const conf = await inContainer(name, `grep -E '^connection\\.(username|url)' ${PATHS.dhis2Home}/dhis.conf`);
        const user = /connection\.username = (\S+)/.exec(conf.stdout)?.[1];
        const r = await curl(["-k", `https://${DOMAIN}${inst.config.path === "/" ? "" : inst.config.path}/api/system/info`]);
        const info = JSON.parse(r.stdout) as { standIn?: string; databaseInfo?: { user: string; name: string; ssl: boolean; serverAddress: string } };
        assert(info.standIn, "not the stand-in's answer");
        const db = info.databaseInfo;
        assert(db, `no database info: ${r.stdout}`);
        assert(user && db.user === user, `connected as ${db.user}, dhis.conf says ${user}`);
        assert(db.name === inst.database, `database ${db.name}, expected ${inst.database}`);
        assert(db.ssl === true, "the connection is not encrypted");
        assert(db.serverAddress === addresses.database, `server ${db.serverAddress}`);
        const mode = await inContainer(name, `stat -c '%a %U' ${PATHS.dhis2Home}/dhis.conf`);
        assert(mode.stdout.trim() === "600 dhis", `dhis.conf is ${mode.stdout.trim()}`);
        return `user ${db.user}, database ${db.name}, TLS, dhis.conf 0600 dhis`;
      });
    }
    await check("b", "PostgreSQL's SHOW values equal the plan", compareSettings);
    await check("b", "postgis, pg_trgm and btree_gin exist in every instance database; the tracker search indexes exist", async () => {
      for (const inst of plan.instances) {
        const r = await inContainer("database", `runuser -u postgres -- psql -X -qAt -d ${inst.database} -c "SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension WHERE extname IN ('postgis','pg_trgm','btree_gin')"`);
        assert(r.stdout.trim() === "btree_gin,pg_trgm,postgis", `${inst.database}: ${r.stdout.trim()} ${r.stderr}`);
      }
      const idx = await inContainer("database", `runuser -u postgres -- psql -X -qAt -d dhis2_production -c "SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'in_toolkit_teav_trgm_%' AND indexdef LIKE '%gin_trgm_ops%'"`);
      assert(idx.stdout.trim() === String(plan.instances[0]!.config.trackerSearch.attributes.length), `trigram indexes: ${idx.stdout.trim()}`);
      return `extensions in ${plan.instances.length} databases; ${idx.stdout.trim()} trigram GIN indexes in dhis2_production`;
    });

    // c. flows -----------------------------------------------------------------------------------
    await flowMatrix(addresses);

    // d. monitoring behind the login -------------------------------------------------------------
    const creds = (await outputs()).credentials as { monitoring: { user: string; password: string } };
    for (const [what, url, expect] of [
      ["munin", `https://${DOMAIN}/munin/`, /munin/i],
      ...plan.instances.map((i) => [`glowroot of ${i.config.name}`, `https://${DOMAIN}/glowroot/${i.config.name}/`, /GLOWROOT STAND-IN/] as const),
    ] as const) {
      await check("d", `${what}: 401 without the login, 401 with a wrong one, 200 with the generated one`, async () => {
        const none = await curl(["-k", "-o", "/dev/null", "-w", "%{http_code}", url]);
        const wrong = await curl(["-k", "-o", "/dev/null", "-w", "%{http_code}", "-u", `${creds.monitoring.user}:wrong`, url]);
        // the password on curl's stdin (a config file), not in its arguments
        const good = await run("curl", ["-sSk", "--max-time", "20", "--resolve", `${DOMAIN}:443:127.0.0.1`, "-K", "-", "-w", "\n%{http_code}", url],
          { input: `user = "${creds.monitoring.user}:${creds.monitoring.password}"\n`, timeoutMs: 30_000 });
        const code = good.stdout.trim().split("\n").pop();
        assert(none.stdout === "401" && wrong.stdout === "401", `without: ${none.stdout}, wrong: ${wrong.stdout}`);
        assert(code === "200" && expect.test(good.stdout), `with the login: HTTP ${code}`);
      });
    }

    // e. alerts by mail --------------------------------------------------------------------------
    await check("e", "a test alert from the monitor reaches the SMTP sink through the send-only postfix", async () => {
      const before = sink.messages.length;
      const r = await inContainer("monitor", PATHS.alertTest);
      assert(r.code === 0, `dhis2-alert-test failed: ${r.stderr}`);
      const got = await sink.waitFor((m) => m.data.includes(`[DHIS2 ${STACK}] TEST`), 90_000, before);
      assert(got, `nothing arrived in 90 s; queue: ${(await inContainer("monitor", "postqueue -p")).stdout}`);
      assert(got.rcptTo.includes("alerts@dhis2.local"), `to ${got.rcptTo.join(", ")}`);
      assert(got.mailFrom === "dhis2-alerts@dhis2.local", `from ${got.mailFrom}`);
      return `from ${got.mailFrom} to ${got.rcptTo.join(", ")} via ${got.peer}`;
    });
    await check("e", "no container accepts mail from outside (port 25 from the LXD host)", async () => {
      for (const [node, address] of Object.entries(addresses)) {
        assert(!(await connects("host", address, 25)), `${node} accepts connections on port 25`);
      }
      return `${Object.keys(addresses).length} containers refuse`;
    });

    // f. nothing to change -----------------------------------------------------------------------
    await check("f", "pulumi preview --expect-no-changes passes", async () => {
      const r = await pulumi(["preview", "--expect-no-changes"]);
      assert(r.code === 0, tail(r.stdout + r.stderr));
    });
    await check("f", "a second pulumi up changes nothing", async () => {
      const r = await timedUp("second pulumi up (no changes)", ["--expect-no-changes"]);
      assert(r.code === 0, tail(r.stdout + r.stderr));
    });

    await check("f", "no generated secret is in plain text in the state (pulumi stack export)", async () => {
      const found = await secretsInState(STACK, await generatedSecrets(plan.instances.map((i) => i.config.name)));
      assert(found.hits.length === 0, `in plain text: ${found.hits.join(", ")}`);
      return `${found.secrets} secrets, 0 found in ${found.bytes} bytes of state`;
    });

    // g. hardware upgrade ------------------------------------------------------------------------
    const rows = 5000;
    await check("g", `rows written before the upgrade (${rows})`, async () => {
      const r = await inContainer("database", `runuser -u postgres -- psql -X -q -d dhis2_production -v ON_ERROR_STOP=1 -c "CREATE TABLE e2e_before_upgrade AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, ${rows}) g"`);
      assert(r.code === 0, r.stderr);
    });
    const before = await showSettings(["shared_buffers", "effective_cache_size", "work_mem"]);
    setDatabaseMemory(UPGRADED_DB_MEMORY_GB);
    const upgraded = loadStackFile(ROOT, STACK).plan;
    const newMb = upgraded.topology.database.budget.memoryMb;
    const newSetting = (n: string) => upgraded.postgres.settings.find((s) => s.name === n)!.value;
    await check("g", `pulumi preview --diff shows the retuned PostgreSQL lines and the new limit (${newMb}MB), and replaces nothing`, async () => {
      const diff = await pulumi(["preview", "--diff"]);
      assert(diff.code === 0, tail(diff.stdout + diff.stderr));
      const lines = diff.stdout.split("\n");
      const shown = lines.filter((l) => /shared_buffers = |effective_cache_size = |limits\.memory=/.test(l) && /^\s*[-+~]/.test(l));
      console.log(`\npulumi preview --diff, the lines about the database's memory:\n${shown.map((l) => `  ${l.trim()}`).join("\n")}\n`);
      assert(lines.some((l) => /^\s*\+.*shared_buffers = '/.test(l) && l.includes(newSetting("shared_buffers"))), `no added shared_buffers = '${newSetting("shared_buffers")}' line`);
      assert(lines.some((l) => /^\s*-.*shared_buffers = '/.test(l) && l.includes(before.shared_buffers!)), `no removed shared_buffers = '${before.shared_buffers}' line`);
      assert(lines.some((l) => /^\s*\+.*limits\.memory=/.test(l) && l.includes(`${newMb}MB`)), `no added limits.memory=${newMb}MB line`);
      const json = await pulumi(["preview", "--json"]);
      const steps = (JSON.parse(json.stdout) as { steps?: { op: string; urn: string }[] }).steps ?? [];
      const replaced = steps.filter((s) => /replace|delete/.test(s.op));
      assert(replaced.length === 0, `would replace or delete: ${replaced.map((s) => `${s.op} ${s.urn.split("::").pop()}`).join(", ")}`);
      const db = steps.find((s) => s.urn.endsWith("::dhis2-lxd-database-container"));
      assert(db?.op === "update", `the database container: ${db?.op ?? "no step"}`);
      // only containers (new limits) and the changed files themselves; no set-up or start step again
      const updated = steps.filter((s) => s.op === "update").map((s) => s.urn.split("::").pop()!);
      const other = updated.filter((n) => !/-container$|-file-/.test(n));
      assert(other.length === 0, `updates besides containers and files: ${other.join(", ")}`);
      assert(updated.includes("dhis2-database-file-etc-postgresql-15-main-conf.d-dhis2.conf"), `PostgreSQL's conf.d file is not updated: ${updated.join(", ")}`);
      return `${updated.length} updates in place (${updated.join(", ")}), 0 replacements`;
    });
    await check("g", "pulumi up applies the upgrade; SHOW gives the new values; the limit is set; the rows are still there", async () => {
      const r = await timedUp(`resize pulumi up (database memory to ${UPGRADED_DB_MEMORY_GB} GB)`);
      assert(r.code === 0, tail(r.stdout + r.stderr, 40));
      const detail = await compareSettings();
      const after = await showSettings(["shared_buffers"]);
      assert(after.shared_buffers !== before.shared_buffers, `shared_buffers still ${after.shared_buffers}`);
      const limit = await run("lxc", ["config", "get", containerName(STACK, "database"), "limits.memory"]);
      assert(limit.stdout.trim() === `${newMb}MB`, `limits.memory ${limit.stdout.trim()}`);
      const count = await inContainer("database", `runuser -u postgres -- psql -X -qAt -d dhis2_production -c "SELECT count(*) FROM e2e_before_upgrade"`);
      assert(count.stdout.trim() === String(rows), `rows: ${count.stdout.trim()} ${count.stderr}`);
      // the instances restart too when their share of the host (and so their heap) changed
      const waited = await waitForPing(["", "/training"], 300_000);
      assert(waited.ok, `DHIS2 after the upgrade: ${waited.detail}`);
      return `shared_buffers ${before.shared_buffers} → ${after.shared_buffers}; ${detail}; ${rows} rows kept`;
    });

    // h. destroy ---------------------------------------------------------------------------------
    await check("h", "pulumi destroy --exclude-protected removes every container and keeps the protected data", async () => {
      const r = await pulumi(["destroy", "--yes", "--skip-preview", "--exclude-protected"]);
      assert(r.code === 0, tail(r.stdout + r.stderr));
      const ls = await run("lxc", ["list", "--format", "csv", "-c", "n"]);
      const left = ls.stdout.split("\n").filter((n) => n.startsWith(`dhis2-${STACK}-`));
      assert(left.length === 0, `containers left: ${left.join(", ")}`);
      const vol = await run("lxc", ["storage", "volume", "show", LXD.pool, databaseVolumeName(STACK)]);
      assert(vol.code === 0, "the data volume is gone");
      const state = JSON.parse((await pulumi(["stack", "export"])).stdout) as { deployment: { resources?: { urn: string; protect?: boolean; type: string }[] } };
      const kept = (state.deployment.resources ?? []).filter((x) => x.type === "command:local:Command");
      assert(kept.every((x) => x.protect), `unprotected resources left: ${kept.filter((x) => !x.protect).map((x) => x.urn).join(", ")}`);
      return `kept: volume ${LXD.pool}/${databaseVolumeName(STACK)} and ${kept.length} protected resources (the data volume, the encryption passwords)`;
    });

    // i. existing servers over SSH -----------------------------------------------------------------
    await existingServersPhase(artifacts, sink).catch((e: Error) => { record("i", "existing servers over SSH", false, e.stack ?? e.message); });
  } finally {
    await sink.close();
  }
  return summary(sink);
}


// ------------------------------------------------------------------------------------------------
// (i) platform existing: LXD containers running sshd stand in for a data centre's servers

const EXISTING = "e2e-existing";
const EXISTING_FILE = path.join(ROOT, "stacks", `Pulumi.${EXISTING}.yaml`);
/** The "servers": plain containers this test creates, with sshd, an admin user and sudo. */
const SERVERS = { proxy: "10.231.20.2", production: "10.231.20.11", database: "10.231.20.20", monitor: "10.231.20.30" } as const;
const serverName = (role: string) => `dhis2-e2ex-${role}`;
/** A command on one of the "servers", as root (the test's own look, not the toolkit's SSH path). */
const onServer = (role: string, script: string) => inContainer(role, script, 60_000, serverName(role));

async function removeServers(): Promise<void> {
  for (const role of Object.keys(SERVERS)) await run("lxc", ["delete", "--force", serverName(role)]);
}

/** Start the servers: sshd, the admin user with the test's key, sudo without password. */
async function makeServers(publicKey: string): Promise<Record<string, string>> {
  const hostKeys: Record<string, string> = {};
  await removeServers();
  await Promise.all(Object.entries(SERVERS).map(async ([role, address]) => {
    const name = serverName(role);
    for (const args of [["init", LXD.image, name, "--profile", LXD.profile], ["config", "device", "override", name, "eth0", `ipv4.address=${address}`], ["start", name]]) {
      const r = await run("lxc", args);
      if (r.code !== 0) throw new Error(`lxc ${args.join(" ")}: ${r.stderr}`);
    }
    const script = [
      "set -e",
      "for i in $(seq 60); do ip -4 route show default | grep -q . && break; sleep 1; done",
      "export DEBIAN_FRONTEND=noninteractive",
      "apt-get -qq update && apt-get -qq install -y --no-install-recommends openssh-server sudo >/dev/null",
      "id dhis2admin >/dev/null 2>&1 || adduser --quiet --disabled-password --gecos '' dhis2admin",
      "install -d -m 0700 -o dhis2admin -g dhis2admin /home/dhis2admin/.ssh",
      `printf '%s\\n' '${publicKey}' >/home/dhis2admin/.ssh/authorized_keys`,
      "chown dhis2admin: /home/dhis2admin/.ssh/authorized_keys && chmod 0600 /home/dhis2admin/.ssh/authorized_keys",
      "echo 'dhis2admin ALL=(ALL) NOPASSWD:ALL' >/etc/sudoers.d/dhis2admin && chmod 0440 /etc/sudoers.d/dhis2admin",
      "printf 'PasswordAuthentication no\\nPermitRootLogin no\\n' >/etc/ssh/sshd_config.d/50-e2e.conf",
      "systemctl restart ssh",
      "cut -d' ' -f1,2 /etc/ssh/ssh_host_ed25519_key.pub",
    ].join("\n");
    const r = await run("lxc", ["exec", name, "--", "bash", "-c", script], { timeoutMs: 300_000 });
    if (r.code !== 0) throw new Error(`${name}: ${r.stderr}`);
    hostKeys[role] = r.stdout.trim().split("\n").pop()!;
  }));
  return hostKeys;
}

function writeExistingStack(artifacts: { war: string; glowroot: string }, publicKey: string, hostKeys: Record<string, string>): void {
  const server = (role: keyof typeof SERVERS) => ({ address: SERVERS[role], hostKey: hostKeys[role] });
  const config = {
    "dhis2:platform": "existing",
    "dhis2:isolation": "vm",
    "dhis2:domain": DOMAIN,
    "dhis2:postgresVersion": 15,
    "dhis2:network": { cidr: "10.231.20.0/24" },
    "dhis2:sizes": {
      database: { cpus: 2, memoryGb: 4 }, instance: { cpus: 2, memoryGb: 3 }, proxy: { cpus: 1, memoryGb: 1 }, monitor: { cpus: 1, memoryGb: 1 },
    },
    "dhis2:instances": [{ name: "production", version: "2.42.1", path: "/", war: artifacts.war, trackerSearch: { attributes: ["w75KJ2mc4zz"] } }],
    "dhis2:servers": { proxy: server("proxy"), database: server("database"), monitor: server("monitor"), instances: { production: server("production") } },
    "dhis2:tls": { mode: "self-signed" },
    "dhis2:admin": { user: "dhis2admin", sshKeys: [publicKey], allowedCidrs: ["10.231.20.1/32"] },
    "dhis2:monitoring": { glowrootArchive: artifacts.glowroot },
    "dhis2:alerts": { recipients: ["alerts@dhis2.local"], from: "dhis2-alerts@dhis2.local", smtp: { host: "10.231.20.1", port: 2525, security: "none" } },
  };
  const doc = parseDocument("config: {}\n");
  doc.commentBefore = " Written by tests/e2e/local.ts: LXD containers with sshd as existing servers, with the test's STAND-INS.";
  doc.set("config", doc.createNode(config));
  fs.writeFileSync(EXISTING_FILE, doc.toString());
}

async function existingServersPhase(artifacts: { war: string; glowroot: string }, sink: SmtpSink): Promise<void> {
  const keyFile = path.join(WORK, "id_ed25519");
  fs.rmSync(keyFile, { force: true });
  fs.rmSync(`${keyFile}.pub`, { force: true });
  const kg = await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "dhis2-e2e", "-f", keyFile]);
  assert(kg.code === 0, `ssh-keygen: ${kg.stderr}`);
  const publicKey = fs.readFileSync(`${keyFile}.pub`, "utf8").trim();
  const hostKeys = await makeServers(publicKey);
  writeExistingStack(artifacts, publicKey, hostKeys);
  const init = await pulumi(["stack", "init", "--secrets-provider", "passphrase"], 60_000, EXISTING);
  assert(init.code === 0, `stack init: ${init.stderr}`);
  // the private key goes in as a secret, on stdin (never in a process argument)
  const set = await pulumi(["config", "set", "--path", "--secret", "dhis2:admin.privateKey"], 60_000, EXISTING, fs.readFileSync(keyFile, "utf8"));
  assert(set.code === 0, `config set: ${set.stderr}`);
  const stackText = fs.readFileSync(EXISTING_FILE, "utf8");
  assert(!stackText.includes("PRIVATE KEY"), "the private key is in the stack file in plain text");

  const up = await timedUp("pulumi up on existing servers over SSH (4 servers)", [], EXISTING);
  if (!record("i", "pulumi up converges existing servers over SSH, through the proxy as bastion, host keys pinned", up.code === 0,
    up.code === 0 ? `${(up.ms / 1000).toFixed(0)} s` : tail(up.stdout + up.stderr, 40))) return;
  const via = (p: string) => ["-k", "--max-time", "20", "--resolve", `${DOMAIN}:443:${SERVERS.proxy}`, `https://${DOMAIN}${p}`];
  await check("i", "https on the proxy server reaches the instance; it is connected to PostgreSQL with dhis.conf's login over TLS", async () => {
    let info = "";
    for (let i = 0; i < 60 && !info.includes("databaseInfo"); i++) {
      info = (await run("curl", ["-sS", ...via("/api/system/info")], { timeoutMs: 30_000 })).stdout;
      if (!info.includes("databaseInfo")) await new Promise((r) => setTimeout(r, 3000));
    }
    const db = (JSON.parse(info) as { databaseInfo: { user: string; name: string; ssl: boolean; serverAddress: string } }).databaseInfo;
    const conf = await onServer("production", `grep '^connection.username' ${PATHS.dhis2Home}/dhis.conf`);
    assert(conf.stdout.trim() === `connection.username = ${db.user}`, `dhis.conf: ${conf.stdout.trim()}, connected as ${db.user}`);
    assert(db.name === "dhis2_production" && db.ssl && db.serverAddress === SERVERS.database, JSON.stringify(db));
    return `user ${db.user}, database ${db.name}, TLS, server ${db.serverAddress}`;
  });
  await check("i", "PostgreSQL on the database server: SHOW equals the plan; postgis, pg_trgm, btree_gin and the search index exist", async () => {
    const detail = await compareSettings(EXISTING, serverName("database"));
    const r = await onServer("database",
      `runuser -u postgres -- psql -X -qAt -d dhis2_production -c "SELECT (SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension WHERE extname IN ('postgis','pg_trgm','btree_gin')) || ' ' || (SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'in_toolkit_teav_trgm_%')"`);
    assert(r.stdout.trim() === "btree_gin,pg_trgm,postgis 1", r.stdout + r.stderr);
    return detail;
  });
  await check("i", "SSH only to the proxy from the admin network, to the others only through the proxy; the database only from the instance", async () => {
    const flows: [string, string, number, boolean][] = [
      ["host", SERVERS.proxy, 22, true],
      ["host", SERVERS.database, 22, false],
      ["host", SERVERS.production, 22, false],
      ["proxy", SERVERS.database, 22, true],
      ["production", SERVERS.database, 5432, true],
      ["host", SERVERS.database, 5432, false],
      ["proxy", SERVERS.database, 5432, false],
      ["proxy", SERVERS.production, PORTS.tomcat, true],
      ["host", SERVERS.production, PORTS.tomcat, false],
    ];
    const wrong: string[] = [];
    for (const [from, to, port, allowed] of flows) {
      const ok = await connects(from, to, port, from === "host" ? "" : serverName(from));
      if (ok !== allowed) wrong.push(`${from} → ${to}:${port} ${ok ? "connects" : "blocked"}, expected ${allowed ? "allowed" : "forbidden"}`);
    }
    assert(wrong.length === 0, wrong.join("; "));
    return `${flows.length} flows as the plan says`;
  });
  await check("i", "an alert from the monitor server reaches the SMTP sink", async () => {
    const before = sink.messages.length;
    const r = await onServer("monitor", PATHS.alertTest);
    assert(r.code === 0, r.stderr);
    const got = await sink.waitFor((m) => m.data.includes(`[DHIS2 ${EXISTING}] TEST`), 90_000, before);
    assert(got, "nothing arrived in 90 s");
    return `via ${got.peer}`;
  });
  await check("i", "neither the SSH private key nor a generated secret is in plain text in the state", async () => {
    const secrets = await generatedSecrets(["production"], EXISTING, serverName);
    const key = fs.readFileSync(keyFile, "utf8").split("\n").filter((l) => l && !l.startsWith("-----"));
    key.forEach((line, i) => { secrets[`SSH private key, line ${i + 1}`] = line; });
    const found = await secretsInState(EXISTING, secrets);
    assert(found.hits.length === 0, `in plain text: ${found.hits.join(", ")}`);
    return `${found.secrets} secrets, 0 found in ${found.bytes} bytes of state`;
  });
  await check("i", "a second pulumi preview over SSH changes nothing", async () => {
    const r = await pulumi(["preview", "--expect-no-changes"], 10 * 60_000, EXISTING);
    assert(r.code === 0, tail(r.stdout + r.stderr));
  });
}

async function cleanExisting(): Promise<void> {
  const stacks = await run("pulumi", ["stack", "ls", "--json"], { env: pulumiEnv });
  if (stacks.code === 0 && (JSON.parse(stacks.stdout || "[]") as { name: string }[]).some((x) => x.name === EXISTING)) {
    await pulumi(["state", "unprotect", "--all", "--yes"], 60_000, EXISTING);
    await pulumi(["stack", "rm", "--yes", "--force"], 60_000, EXISTING);
  }
  await removeServers();
  fs.rmSync(EXISTING_FILE, { force: true });
}

function summary(_sink: SmtpSink): number {
  const failed = results.filter((r) => !r.ok);
  console.log("\nChecks");
  for (const r of results) console.log(`  ${r.ok ? "PASS" : "FAIL"}  ${r.id}  ${r.name}`);
  console.log("\nTimings");
  for (const t of timings) console.log(`  ${t.what}: ${t.seconds.toFixed(1)} s`);
  console.log(`\n${results.length - failed.length} passed, ${failed.length} failed`);
  return failed.length ? 1 : 0;
}

async function cleanup(): Promise<void> {
  if (process.env.DHIS2_E2E_KEEP === "1") {
    console.log("DHIS2_E2E_KEEP=1: the e2e stack is left as it is");
    return;
  }
  await cleanExisting().catch((e: Error) => console.error(`cleanup: ${e.message}`));
  await cleanSlate().catch((e: Error) => console.error(`cleanup: ${e.message}`));
}

main()
  .catch((e: Error) => {
    record("-", "the end-to-end run", false, e.stack ?? e.message);
    return summary(undefined as unknown as SmtpSink);
  })
  .then(async (code) => {
    await cleanup();
    process.exit(code);
  });
