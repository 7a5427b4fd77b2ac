/**
 * How hosts are converged (lib/render/converge.ts, lxd.ts, role-steps.ts): the commands and
 * scripts the components run, checked directly, and every shell script parsed by bash itself.
 */
import test from "ava";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadStackFile } from "../lib/load";
import type { Plan } from "../lib/plan";
import { previewArtifact } from "../lib/render/artifacts";
import { nodeRoleSteps, renderDeployment, scriptOf } from "../lib/render/hosts";
import { containerName, lxdContainers, lxdDataVolumes, lxdLimits } from "../lib/render/lxd";
import { PATHS } from "../lib/render/paths";
import { placeholderSecrets } from "../lib/render/secrets";
import { sqlLiteral, writeFileCommand } from "../lib/render/shell";
import { databasesSql, POSTGRES_DATA_PATH } from "../lib/roles/database";
import { warScript } from "../lib/roles/instance";
import { cloudStack, load } from "./support/stacks";

const PROJECT = path.resolve(__dirname, "..");
const local = () => loadStackFile(PROJECT, "local").plan;
const withDatabaseMemory = (gb: number): Plan => {
  const raw = loadStackFile(PROJECT, "local").plan.config;
  // the local stack file with an explicit database size, as an administrator would write it
  return load({
    platform: "local", isolation: "lxd", domain: raw.domain, postgresVersion: 15,
    sizes: { host: { cpus: 2, memoryGb: 8, disk: "ssd", diskGb: 40 }, database: { memoryGb: gb } },
    instances: raw.instances.map((i) => ({ name: i.name, version: i.runtime.display, path: i.path })),
    alerts: { recipients: ["alerts@dhis2.local"], from: "dhis2-alerts@dhis2.local", smtp: { host: "10.231.20.1", port: 2525, security: "none" } },
  }, "local").plan;
};

/** Runs a command line with sh (as the host abstraction does), stdin given. */
function sh(cmd: string, stdin: string): { code: number; stderr: string } {
  const r = spawnSync("/bin/sh", ["-c", cmd], { input: stdin, encoding: "utf8" });
  return { code: r.status ?? -1, stderr: r.stderr };
}

test("writeFileCommand writes the content atomically with owner and mode, and reloads only on update", (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dhis2-write-"));
  const target = path.join(dir, "sub dir", "it's.conf");
  const me = os.userInfo().username;
  const group = spawnSync("id", ["-gn"], { encoding: "utf8" }).stdout.trim();
  const f = { path: target, content: "", mode: "0640", owner: me, group, reload: `echo reloaded >${dir}/reload` };
  let r = sh(writeFileCommand(f, false), "first\n");
  t.is(r.code, 0, r.stderr);
  t.is(fs.readFileSync(target, "utf8"), "first\n");
  t.is(fs.statSync(target).mode & 0o777, 0o640);
  t.false(fs.existsSync(`${dir}/reload`), "no reload on create");
  r = sh(writeFileCommand(f, true), "second\n");
  t.is(r.code, 0, r.stderr);
  t.is(fs.readFileSync(target, "utf8"), "second\n");
  t.is(fs.readFileSync(`${dir}/reload`, "utf8"), "reloaded\n");
  t.deepEqual(fs.readdirSync(path.dirname(target)), ["it's.conf"], "no temporary file left");
  fs.rmSync(dir, { recursive: true });
});

test("writeFileCommand refuses what it cannot put in a command safely", (t) => {
  const base = { path: "/etc/x.conf", content: "", mode: "0644", owner: "root", group: "root" };
  t.throws(() => writeFileCommand({ ...base, path: "etc/x.conf" }, false), { message: /absolute path/ });
  t.throws(() => writeFileCommand({ ...base, path: "/etc/x\nrm -rf /" }, false), { message: /absolute path/ });
  t.throws(() => writeFileCommand({ ...base, mode: "644; id" }, false), { message: /octal mode/ });
  t.throws(() => writeFileCommand({ ...base, owner: "root;id" }, false), { message: /bad owner/ });
});

test("set-up of the local stack: each role's packages, Debian's tomcat service masked, services started in order", (t) => {
  const plan = local();
  const setups = renderDeployment(plan, { secrets: placeholderSecrets(plan) });
  t.deepEqual(setups.map((s) => s.host).sort(), ["database", "monitor", "production", "proxy", "training"]);
  const of = (h: string) => setups.find((s) => s.host === h)!;
  for (const s of setups) {
    for (const p of ["nftables", "munin-node", "postfix", "bsd-mailx"]) t.true(s.packages.includes(p), `${s.host} lacks ${p}`);
    t.regex(scriptOf(s, "start"), /nft -f \/etc\/nftables\.conf/);
  }
  t.true(of("database").packages.includes("postgresql-15-postgis-3"));
  t.true(of("production").packages.includes("openjdk-17-jre-headless"));
  t.true(of("production").packages.includes("tomcat10"));
  t.regex(scriptOf(of("production"), "setup"), /systemctl mask --quiet tomcat10\.service[\s\S]*apt_get install/);
  t.regex(scriptOf(of("production"), "setup"), /ln -sfn \/usr\/share\/tomcat10 \/opt\/tomcat/);
  t.regex(scriptOf(of("production"), "setup"), /ln -sfn "\$jdk_home" \/usr\/lib\/jvm\/dhis2-jdk/);
  t.deepEqual(of("production").services, ["dhis2", "dhis2-backup.timer", "munin-node", "postfix", "dhis2-status.timer"]);
  t.deepEqual(of("database").services, ["postgresql", "dhis2-backup.timer", "munin-node", "postfix", "dhis2-status.timer"]);
  t.regex(scriptOf(of("database"), "start"), /pg_isready/);
  t.regex(scriptOf(of("monitor"), "start"), /runuser -u munin -- \/usr\/bin\/munin-cron/);
  t.notRegex(scriptOf(of("proxy"), "start"), /munin-cron/);
  t.regex(scriptOf(of("proxy"), "setup"), /install -d -m 0750 -o root -g www-data \/etc\/ssl\/dhis2\/dhis2\.local/);
  t.notRegex(scriptOf(of("database"), "setup"), /nginx/, "nginx only where it runs");
  // every host installs its security updates itself, local containers as servers
  t.regex(scriptOf(of("proxy"), "setup"), /APT::Periodic::Unattended-Upgrade "1"/);
  const cloud = load(cloudStack({ isolation: "vm", cpus: 8, memoryGb: 16 })).plan;
  t.true(renderDeployment(cloud, { secrets: placeholderSecrets(cloud) }).every((s) => scriptOf(s, "setup").includes("unattended-upgrades")));
});

test("LXD containers: the plan's limits, fixed addresses, the data volume on the database, 80/443 forwarded to the proxy with the PROXY protocol", (t) => {
  const plan = local();
  const containers = lxdContainers(plan);
  t.is(containers.length, 5);
  for (const c of containers) {
    const node = [plan.topology.proxy, plan.topology.database, plan.topology.monitor, ...plan.topology.instances].find((n) => n.name === c.node)!;
    t.is(c.name, containerName("local", c.node));
    t.is(c.address, node.address);
    t.regex(c.script, new RegExp(`limits\\.memory=${node.budget.memoryMb}MB limits\\.memory\\.enforce=hard`));
    t.regex(c.script, new RegExp(`ipv4\\.address=${node.address.replace(/\./g, "\\.")}`));
    t.notRegex(c.script, /lxc delete/, "the create/update script never deletes");
  }
  const db = containers.find((c) => c.node === "database")!;
  t.deepEqual(db.volumes, ["dhis2-local-pgdata"]);
  t.regex(db.script, new RegExp(`disk pool=dhis2 source=dhis2-local-pgdata path=${POSTGRES_DATA_PATH}`));
  const proxy = containers.find((c) => c.node === "proxy")!;
  t.regex(proxy.script, /proxy listen=tcp:0\.0\.0\.0:443 connect=tcp:127\.0\.0\.1:443 proxy_protocol=true/);
  t.regex(proxy.script, /proxy listen=tcp:0\.0\.0\.0:80 connect=tcp:127\.0\.0\.1:80 proxy_protocol=true/);
  for (const c of containers.filter((x) => x.node !== "proxy")) t.notRegex(c.script, /proxy listen=/, `${c.node} forwards nothing`);
  t.deepEqual(lxdLimits({ ...plan.topology.proxy, budget: { ...plan.topology.proxy.budget, cpus: 0.75 } }), { cpuCount: 1, cpuAllowance: "75%", memory: `${plan.topology.proxy.budget.memoryMb}MB` });
  t.deepEqual(lxdLimits({ ...plan.topology.proxy, budget: { ...plan.topology.proxy.budget, cpus: 2.5 } }).cpuCount, 3);
  const pgdata = lxdDataVolumes(plan).find((v) => v.node === "database")!;
  t.regex(pgdata.script, /lxc storage volume create dhis2 dhis2-local-pgdata/);
  for (const v of lxdDataVolumes(plan)) t.notRegex(v.script, /delete/);
  // each instance's file store on a volume of its own, at /var/lib/dhis2
  for (const i of plan.instances) {
    const c = containers.find((x) => x.node === i.config.name)!;
    t.deepEqual(c.volumes, [`dhis2-local-files-${i.config.name}`]);
    t.regex(c.script, new RegExp(`disk pool=dhis2 source=dhis2-local-files-${i.config.name} path=/var/lib/dhis2`));
  }
});

test("a database memory upgrade changes the database container's limits and PostgreSQL's settings, never an image or a name", (t) => {
  const before = withDatabaseMemory(3.5);
  const after = withDatabaseMemory(4);
  const c0 = lxdContainers(before);
  const c1 = lxdContainers(after);
  t.deepEqual(c0.map((c) => c.name), c1.map((c) => c.name));
  const db0 = c0.find((c) => c.node === "database")!;
  const db1 = c1.find((c) => c.node === "database")!;
  t.is(db1.memory, "4096MB");
  t.not(db0.script, db1.script);
  t.is(c0.find((c) => c.node === "proxy")!.script, c1.find((c) => c.node === "proxy")!.script, "the proxy is untouched");
  const conf = (p: Plan) => renderDeployment(p, { secrets: placeholderSecrets(p) }).find((h) => h.host === "database")!.files.find((f) => f.path.endsWith("conf.d/dhis2.conf"))!.content;
  t.regex(conf(before), /shared_buffers = '896MB'/);
  t.regex(conf(after), /shared_buffers = '1GB'/);
});

test("role steps: certificates before the proxy's files, the WAR and glowroot before an instance starts, databases after PostgreSQL starts", (t) => {
  const plan = local();
  const pw = { production: "pw-production-S3NT1NEL", training: "it's-S3NT1NEL" };
  const steps = (n: string) => nodeRoleSteps(plan, n, { artifact: previewArtifact, databasePasswords: pw });
  t.deepEqual(steps("proxy").map((s) => `${s.phase}:${s.name}`), ["prepare:certificates"]);
  t.deepEqual(steps("production").map((s) => `${s.phase}:${s.name}`), ["install:war", "install:glowroot", "after:first-backup"]);
  t.deepEqual(steps("monitor"), []);
  const [db] = steps("database");
  t.is(db!.phase, "after");
  t.true(db!.secret);
  t.is(db!.command, "runuser -u postgres -- psql -X -q -f -");
  t.regex(db!.script, /ALTER ROLE dhis2_production WITH LOGIN NOSUPERUSER .* PASSWORD 'pw-production-S3NT1NEL';/);
  t.regex(db!.script, /PASSWORD 'it''s-S3NT1NEL';/, "quotes are doubled");
  t.regex(db!.script, /\\connect dhis2_training\n--[^\n]*\nCREATE EXTENSION IF NOT EXISTS postgis;\nCREATE EXTENSION IF NOT EXISTS pg_trgm;\nCREATE EXTENSION IF NOT EXISTS btree_gin;/);
  for (const n of ["proxy", "production", "monitor"]) for (const s of steps(n)) t.notRegex(s.script, /S3NT1NEL/, `${n} ${s.name} holds no secret`);
  t.throws(() => databasesSql(plan, { production: "x" }), { message: /training/ });
  t.is(sqlLiteral("a'b"), "'a''b'");
});

test("artifacts: a URL is downloaded on the host, a local file is copied first and its sha256 checked there", (t) => {
  const plan = local();
  const inst = plan.instances[0]!;
  const url = warScript(plan, inst, { source: "https://releases.dhis2.org/42/dhis2-stable-42.1.0.war" });
  t.regex(url, /curl -fsSL .* -o "\$tmp" https:\/\/releases\.dhis2\.org\/42\/dhis2-stable-42\.1\.0\.war/);
  t.regex(url, /set dhis2:instances\[0\]\.war in the stack to a local file or a mirror URL/);
  t.regex(url, /target=\/opt\/dhis2\/tomcat\/webapps\/ROOT\.war/);
  const sha = "a".repeat(64);
  const file = warScript(plan, plan.instances[1]!, { source: "/srv/dhis2.war", staged: "/var/lib/dhis2-toolkit/incoming/training-war", sha256: sha });
  t.regex(file, /cp -f \/var\/lib\/dhis2-toolkit\/incoming\/training-war "\$tmp"/);
  t.regex(file, new RegExp(`echo "${sha}  \\$tmp" \\| sha256sum -c`));
  t.regex(file, /webapps\/training\.war/);
  t.notRegex(file, /curl/);
  t.throws(() => warScript(plan, inst, { source: "https://x.org/a.war; rm -rf /" }), { message: /plain http/ });
  t.throws(() => warScript(plan, inst, { source: "/a.war", staged: "/x", sha256: "nope" }), { message: /sha256/ });
});

test("every shell script the convergence runs is valid bash (bash -n)", (t) => {
  const plans = {
    local: local(),
    hcloud: load(cloudStack({ isolation: "vm", cpus: 8, memoryGb: 16, instances: 2 })).plan,
    "aws-lxd-provided-tls": load({ ...cloudStack({ isolation: "lxd", cpus: 16, memoryGb: 32 }), platform: "aws", tls: { mode: "provided", certificateFile: "/srv/tls/chain.pem", keyFile: "/srv/tls/key.pem" } }).plan,
  };
  let n = 0;
  for (const [name, plan] of Object.entries(plans)) {
    const hosts = renderDeployment(plan, { secrets: placeholderSecrets(plan) });
    const scripts: [string, string][] = [];
    for (const s of hosts) {
      scripts.push([`${s.host} setup`, scriptOf(s, "setup")], [`${s.host} start`, scriptOf(s, "start")]);
      for (const r of nodeRoleSteps(plan, s.host, { artifact: previewArtifact, databasePasswords: placeholderSecrets(plan).databasePasswords })) {
        if (!r.command) scripts.push([`${s.host} ${r.name}`, r.script]);
      }
      for (const f of s.files.filter((x) => x.content.startsWith("#!/bin/sh") || x.content.startsWith("#!/bin/bash"))) scripts.push([`${s.host} ${f.path}`, f.content]);
    }
    if (plan.config.platform === "local") {
      scripts.push(["volume", lxdDataVolumes(plan)[0]!.script]);
      for (const c of lxdContainers(plan)) scripts.push([`container ${c.node}`, c.script]);
    }
    for (const [what, script] of scripts) {
      const r = spawnSync("bash", ["-n"], { input: script, encoding: "utf8" });
      t.is(r.status, 0, `${name} ${what}: ${r.stderr}`);
      n++;
    }
  }
  t.true(n > 30, `${n} scripts`);
  t.true(PATHS.postgresApply.startsWith("/usr/local/sbin/"));
});

test("tls.mode provided: the chain and the key are copied with their sha256 and installed for every host name, after a check that they belong together", (t) => {
  const plan = load({ ...cloudStack({ isolation: "vm", cpus: 8, memoryGb: 16 }), tls: { mode: "provided", certificateFile: "/srv/tls/chain.pem", keyFile: "/srv/tls/key.pem" } }).plan;
  const sha = (c: string) => c.repeat(64);
  const steps = nodeRoleSteps(plan, "proxy", { artifact: (name, source) => ({ source, staged: `/var/lib/dhis2-toolkit/incoming/proxy-${name}`, sha256: sha(name === "tls-key" ? "b" : "a") }), databasePasswords: {} });
  t.deepEqual(steps.map((s) => s.name), ["certificates", "tls-chain", "tls-key"]);
  t.like(steps[1]!.copy, { localPath: "/srv/tls/chain.pem", fingerprint: sha("a") });
  t.like(steps[2]!.copy, { localPath: "/srv/tls/key.pem", fingerprint: sha("b") });
  const script = steps[2]!.script;
  t.regex(script, new RegExp(`echo "${sha("b")}  \\$key" \\| sha256sum -c`));
  t.regex(script, /openssl x509 -noout -pubkey -in "\$chain" \| sha256sum\)" != "\$\(openssl pkey -pubout -in "\$key"/);
  t.regex(script, /install -m 0640 -o root -g www-data "\$key" \/etc\/ssl\/dhis2\/dhis2\.example\.org\/privkey\.pem/);
});

/**
 * The monitor's first munin run, as rendered, run by bash. munin's cron job may hold munin-update's
 * lock at that moment (CI once failed so: "Lock already exists"); the script must wait for it and
 * then run. `runuser` is a stand-in here that behaves as munin-cron does: it fails while a live
 * process holds the lock, and it records each run.
 */
function muninFirstRun(t: import("ava").ExecutionContext, failFirst: number): { status: number | null; runs: number; out: string; seconds: number } {
  const plan = local();
  const monitor = renderDeployment(plan, { secrets: placeholderSecrets(plan) }).find((s) => s.role === "monitor")!;
  const lines = scriptOf(monitor, "start").split("\n");
  const from = lines.findIndex((l) => l.startsWith("munin_lock="));
  const to = lines.findIndex((l, i) => i > from && l === "done");
  t.true(from > 0 && to > from, "the start script has the munin block");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "munin-first-run-"));
  const lock = path.join(dir, "munin-update.lock");
  const runs = path.join(dir, "runs");
  fs.writeFileSync(path.join(dir, "runuser"), [
    "#!/bin/bash",
    `echo run >> ${runs}`,
    `if [ -e ${lock} ] && kill -0 "$(cat ${lock})" 2>/dev/null; then echo "[FATAL ERROR] Lock already exists: ${lock}. Dying." >&2; exit 1; fi`,
    `[ "$(wc -l < ${runs})" -gt ${failFirst} ] || { echo "munin-update failed" >&2; exit 1; }`,
    `[ "$1 $2 $3 $4" = "-u munin -- ${PATHS.muninCron}" ] || { echo "unexpected: $*" >&2; exit 2; }`,
  ].join("\n"), { mode: 0o755 });
  // munin's cron job: a live process holding the lock for 4 seconds
  const holder = `sleep 4 & echo $! > ${lock}`;
  const block = lines.slice(from, to + 1).join("\n").replace(`munin_lock=${PATHS.muninUpdateLock}`, `munin_lock=${lock}`);
  const started = Date.now();
  const r = spawnSync("bash", ["-c", `set -euo pipefail\n${holder}\n${block}`], { env: { PATH: `${dir}:/usr/bin:/bin` }, encoding: "utf8" });
  const seconds = (Date.now() - started) / 1000;
  const count = fs.existsSync(runs) ? fs.readFileSync(runs, "utf8").trim().split("\n").length : 0;
  fs.rmSync(dir, { recursive: true, force: true });
  return { status: r.status, runs: count, out: r.stdout + r.stderr, seconds };
}

test("monitor start: the first munin run waits while munin's cron job holds the lock, then runs once", (t) => {
  const r = muninFirstRun(t, 0);
  t.is(r.status, 0, r.out);
  t.is(r.runs, 1, "munin-cron ran once, after the cron job's run ended");
  t.true(r.seconds >= 3, `waited for the lock holder (${r.seconds}s)`);
  t.regex(r.out, /munin's cron job is running \(munin-update, pid \d+\); waiting for it/);
});

test("monitor start: a munin run that fails (the cron job started in between) is tried again; 5 failures fail the start", (t) => {
  const again = muninFirstRun(t, 1);
  t.is(again.status, 0, again.out);
  t.is(again.runs, 2);
  const never = muninFirstRun(t, 99);
  t.is(never.status, 1);
  t.is(never.runs, 5);
  t.regex(never.out, /munin-cron failed 5 times/);
});
