/**
 * Every rendered file, checked by the real program that will read it: nginx -t, a PostgreSQL
 * started with the rendered conf.d file and pg_hba.conf, Tomcat's configtest, cloud-init schema,
 * nft -c, postfix, munin-node, systemd-analyze verify. The programs come from
 * tools/install-check-tools.sh; the harness (tests/support/realtools.ts) puts the files at their
 * real paths inside a private mount namespace, so the machine itself is never changed.
 */
import test from "ava";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadStackFile } from "../lib/load";
import type { RenderedFile } from "../lib/render/file";
import type { Plan } from "../lib/plan";
import { renderDeployment, type HostPlan } from "../lib/render/hosts";
import { certificatePaths } from "../lib/render/paths";
import { placeholderSecrets } from "../lib/render/secrets";
import {
  cloudInitSchema, makeTestCertificate, muninNodeProbe, nftCheck, nginxTest, postfixCheck, startThrowawayPostgres,
  systemdVerify, tomcatConfigtest, type TestCertificate,
} from "./support/realtools";
import { cloudStack, load, SSH_KEY } from "./support/stacks";

const PROJECT = path.resolve(__dirname, "..");

/** A stack using every feature: 2.41 / 2.42 / 2.43, an own host name, a relay with login. */
function everything(): Plan {
  const raw = cloudStack({ isolation: "vm", cpus: 16, memoryGb: 32, instances: 3 });
  raw.instances = [
    { name: "production", version: "2.41.3", os: "ubuntu-22.04", path: "/" },
    { name: "staging", version: "2.42.1", path: "/staging" },
    { name: "training", version: "2.44.0", hostname: "training.example.org", size: { cpus: 4, memoryGb: 8 } },
  ];
  raw.alerts = { recipients: ["ops@example.org"], smtp: { host: "smtp.example.org", security: "tls", username: "alerts", password: "x" } };
  return load(raw).plan;
}

const STACKS: Record<string, () => Plan> = {
  local: () => loadStackFile(PROJECT, "local").plan,
  "example-existing": () => loadStackFile(PROJECT, "example-existing").plan,
  everything,
  "hcloud-lxd": () => load(cloudStack({ isolation: "lxd", cpus: 32, memoryGb: 64, instances: 2 })).plan,
  "aws-provided-tls": () => load({
    ...cloudStack({ isolation: "vm", cpus: 8, memoryGb: 16 }),
    platform: "aws",
    tls: { mode: "provided", certificateFile: "/etc/dhis2/cert.pem", keyFile: "/etc/dhis2/key.pem" },
  }).plan,
};

const hostsOf = (plan: Plan) => renderDeployment(plan, { secrets: placeholderSecrets(plan) });
const filesOf = (h: HostPlan, prefix: string) => h.files.filter((f) => f.path.startsWith(prefix));

let certificate: TestCertificate | undefined;
async function testCertificate(): Promise<TestCertificate> {
  certificate ??= await makeTestCertificate(["dhis2.example.org", "training.example.org", "dhis2.local", "dhis2.health.example.org"]);
  return certificate;
}

/** The certificate files nginx expects for every host name it serves (made at deploy time; test certificates here). */
async function certificateFiles(plan: Plan): Promise<RenderedFile[]> {
  const cert = await testCertificate();
  const names = new Set([plan.config.domain, ...plan.instances.map((i) => i.config.hostname)]);
  return [...names].flatMap((n) => {
    const p = certificatePaths(n);
    return [
      { path: p.certificate, content: cert.certPem, mode: "0644", owner: "root", group: "root" },
      { path: p.key, content: cert.keyPem, mode: "0600", owner: "root", group: "root" },
    ];
  });
}

for (const [name, make] of Object.entries(STACKS)) {
  test(`nginx -t accepts the proxy and monitor configuration: ${name}`, async (t) => {
    const plan = make();
    for (const host of hostsOf(plan).filter((h) => h.role === "proxy" || h.role === "monitor")) {
      const files = [...filesOf(host, "/etc/nginx"), ...(host.role === "proxy" ? await certificateFiles(plan) : [])];
      const r = await nginxTest(files);
      t.true(r.ok, `${host.host}:\n${r.output}`);
      t.deepEqual(r.warnings, [], r.output);
    }
  });

  test(`nft -c accepts every host firewall: ${name}`, async (t) => {
    for (const host of hostsOf(make())) {
      const nft = host.files.find((f) => f.path === "/etc/nftables.conf")!;
      const r = await nftCheck(nft.content);
      t.true(r.ok, `${host.host}:\n${r.output}\n${nft.content}`);
    }
  });

  test(`postfix accepts the send-only mail configuration: ${name}`, async (t) => {
    const plan = make();
    const host = hostsOf(plan).find((h) => h.role === "monitor")!;
    const r = await postfixCheck(filesOf(host, "/etc/postfix"));
    t.true(r.ok, r.output);
    t.deepEqual(r.problems, []);
  });
}

test("nginx -t rejects a broken site file (the check can fail)", async (t) => {
  const plan = STACKS.local!();
  const proxy = hostsOf(plan).find((h) => h.role === "proxy")!;
  const files = [...filesOf(proxy, "/etc/nginx"), ...(await certificateFiles(plan))];
  const broken = files.map((f) => (f.path.endsWith("dhis2.local.conf") ? { ...f, content: f.content.replace("proxy_pass", "proxy_passs") } : f));
  const r = await nginxTest(broken);
  t.false(r.ok, r.output);
  t.regex(r.output, /unknown directive "proxy_passs"/);
});

test("nft -c rejects a rule for a port written as text it does not know", async (t) => {
  const host = hostsOf(STACKS.local!()).find((h) => h.role === "database")!;
  const nft = host.files.find((f) => f.path === "/etc/nftables.conf")!;
  const r = await nftCheck(nft.content.replace("tcp dport 5432", "tcp dport postgresqll"));
  t.false(r.ok, r.output);
});

/** PostgreSQL: start a real server with the rendered conf.d file and compare every setting with SHOW. */
for (const [name, make] of Object.entries({
  "local (container share of this machine)": STACKS.local!,
  "reference 32 CPU / 32 GB / SSD database server": () => loadStackFile(PROJECT, "example-existing").plan,
  "PostgreSQL 13 values (wal_compression pglz)": () => load({ ...cloudStack({ isolation: "vm", cpus: 4, memoryGb: 8 }), os: "debian-11", postgresVersion: 13, instances: [{ name: "production", version: "2.40.4" }] }).plan,
  "hdd and synchronous_commit off": () => load({ ...cloudStack({ isolation: "vm", cpus: 8, memoryGb: 16, disk: "hdd" }), postgres: { synchronousCommit: "off", walWriterDelayMs: 10000, logMinDurationStatementMs: 2500 } }).plan,
  "slow-query log off": () => load({ ...cloudStack({ isolation: "vm", cpus: 2, memoryGb: 4 }), postgres: { logMinDurationStatementMs: -1 } }).plan,
})) {
  test.serial(`PostgreSQL runs the rendered conf.d file and SHOW gives every computed value: ${name}`, async (t) => {
    const plan = make();
    const db = hostsOf(plan).find((h) => h.role === "database")!;
    const confD = db.files.find((f) => f.path.endsWith("/conf.d/dhis2.conf"))!;
    const pg = await startThrowawayPostgres({ confD, sslCert: await testCertificate() });
    t.teardown(() => pg.stop());
    const shown: Record<string, string> = {};
    for (const s of plan.postgres.settings) shown[s.name] = await pg.show(s.name);
    // the test server is PostgreSQL 15; a file rendered for 13/14 sets wal_compression = on, which 15 shows as pglz
    const asShownBy15 = (s: { name: string; value: string }) => (s.name === "wal_compression" && s.value === "on" ? "pglz" : s.value);
    t.deepEqual(shown, Object.fromEntries(plan.postgres.settings.map((s) => [s.name, asShownBy15(s)])));
    t.is(await pg.show("password_encryption"), "scram-sha-256");
    t.is(await pg.show("ssl"), "on");
  });
}

test.serial("pg_hba.conf: the instance's role reaches only its database, only over TLS with its password", async (t) => {
  // existing servers on loopback addresses, so that the test's connections come from the instance's address
  const plan = load({
    platform: "existing",
    isolation: "vm",
    domain: "dhis2.example.org",
    postgresVersion: 15,
    os: "ubuntu-22.04",
    instances: [{ name: "production", version: "2.41.3" }, { name: "training", version: "2.41.3", path: "/training" }],
    servers: {
      proxy: { address: "127.0.0.3" }, database: { address: "127.0.0.2" }, monitor: { address: "127.0.0.4" },
      instances: { production: { address: "127.0.0.1" }, training: { address: "127.0.0.5" } },
    },
    admin: { sshKeys: [SSH_KEY], allowedCidrs: ["196.12.4.0/24"] },
    alerts: { recipients: ["ops@example.org"], smtp: { host: "smtp.example.org" } },
    sizes: { database: { cpus: 2, memoryGb: 4 }, instance: { cpus: 2, memoryGb: 4 } },
  }).plan;
  const db = hostsOf(plan).find((h) => h.role === "database")!;
  const pg = await startThrowawayPostgres({
    confD: db.files.find((f) => f.path.endsWith("/conf.d/dhis2.conf"))!,
    hba: db.files.find((f) => f.path.endsWith("/pg_hba.conf"))!,
    sslCert: await testCertificate(),
  });
  t.teardown(() => pg.stop());
  t.true(pg.hbaLoaded);
  t.deepEqual(await pg.hbaErrors(), []);
  const password = "test-only-password-1";
  for (const i of plan.instances) {
    for (const sql of [`CREATE ROLE ${i.databaseUser} LOGIN PASSWORD '${password}'`, `CREATE DATABASE ${i.database} OWNER ${i.databaseUser}`]) {
      const setup = await pg.query(sql);
      t.is(setup.code, 0, setup.stderr);
    }
  }
  const as = (user: string, database: string, sslmode: string, pass = password) =>
    pg.query("SELECT current_user, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", { host: "127.0.0.1", user, database, password: pass, sslmode });

  const ok = await as("dhis2_production", "dhis2_production", "require");
  t.is(ok.code, 0, ok.stderr);
  t.is(ok.stdout.trim(), "dhis2_production|t");
  const plain = await as("dhis2_production", "dhis2_production", "disable");
  t.not(plain.code, 0);
  t.regex(plain.stderr, /rejects connection|no pg_hba\.conf entry/);
  const otherDb = await as("dhis2_production", "dhis2_training", "require");
  t.not(otherDb.code, 0, "an instance's role must not reach another instance's database");
  const otherHost = await as("dhis2_training", "dhis2_training", "require");
  t.not(otherHost.code, 0, "training's role is only accepted from training's address, not 127.0.0.1");
  const wrong = await as("dhis2_production", "dhis2_production", "require", "wrong-password");
  t.not(wrong.code, 0);
  t.regex(wrong.stderr, /password authentication failed/);
  const superuser = await as("postgres", "postgres", "require");
  t.not(superuser.code, 0, "the superuser has no network access");
});

test.serial("Tomcat parses the rendered server.xml (Tomcat 9 and Tomcat 10 instances)", async (t) => {
  const plan = everything();
  for (const host of hostsOf(plan).filter((h) => h.role === "instance")) {
    const serverXml = host.files.find((f) => f.path.endsWith("/conf/server.xml"));
    if (!serverXml) {
      t.is(plan.instances.find((i) => i.config.name === host.host)!.config.servletContainer, "embedded");
      continue;
    }
    const r = await tomcatConfigtest(serverXml.content);
    t.true(r.ok, `${host.host}:\n${r.output}`);
  }
});

test.serial("Tomcat's configtest fails on a misspelled connector attribute (the check can fail)", async (t) => {
  const serverXml = hostsOf(everything()).find((h) => h.host === "production")!.files.find((f) => f.path.endsWith("server.xml"))!;
  const r = await tomcatConfigtest(serverXml.content.replace("relaxedQueryChars", "relaxedQueryCharz"));
  t.false(r.ok, r.output);
});

test("systemd accepts the DHIS2 units (Tomcat and embedded server)", async (t) => {
  // the programs the units start are installed at deploy time; stand-ins let systemd check the rest
  const standIns: RenderedFile[] = ["/opt/tomcat/bin/catalina.sh", "/usr/lib/jvm/dhis2-jdk/bin/java"].map((p) => ({
    path: p, content: "#!/bin/sh\nexit 0\n", mode: "0755", owner: "root", group: "root",
  }));
  for (const host of hostsOf(everything()).filter((h) => h.role === "instance")) {
    const unit = host.files.find((f) => f.path === "/etc/systemd/system/dhis2.service")!;
    const r = await systemdVerify("dhis2.service", unit.content, { files: standIns });
    t.true(r.ok, `${host.host}:\n${r.output}`);
  }
});

test("systemd accepts the backup's service and timer; the munin plugin answers config and a value", async (t) => {
  for (const host of hostsOf(everything()).filter((h) => h.role === "instance" || h.role === "database")) {
    const of = (p: string) => host.files.find((f) => f.path === p)!;
    const backup = of("/usr/local/sbin/dhis2-backup");
    const r = await systemdVerify("dhis2-backup.timer", of("/etc/systemd/system/dhis2-backup.timer").content, {
      extraUnits: { "dhis2-backup.service": of("/etc/systemd/system/dhis2-backup.service").content },
      files: [backup],
    });
    t.true(r.ok, `${host.host}:\n${r.output}`);
    const plugin = of("/etc/munin/plugins/dhis2_backup_age");
    t.is(plugin.mode, "0755");
    const config = spawnSync("sh", ["-c", plugin.content, "dhis2_backup_age", "config"], { encoding: "utf8" });
    t.regex(config.stdout, /^age\.warning 26$/m);
    t.regex(config.stdout, /^age\.critical 52$/m);
    // no backup yet on this machine: above the critical threshold
    t.regex(spawnSync("sh", ["-c", plugin.content], { encoding: "utf8" }).stdout, /^age\.value 53$/m);
  }
});

test("cloud-init schema accepts the user-data of every server", async (t) => {
  for (const make of [everything, STACKS["hcloud-lxd"]!, STACKS["aws-provided-tls"]!]) {
    for (const host of hostsOf(make()).filter((h) => h.userData)) {
      const r = await cloudInitSchema(host.userData!);
      t.true(r.ok, `${host.host}:\n${r.output}`);
    }
  }
});

test("munin-node starts with every host's rendered configuration and lists its plugins", async (t) => {
  for (const host of hostsOf(STACKS.local!())) {
    const node = host.files.find((f) => f.path === "/etc/munin/munin-node.conf")!;
    const r = await muninNodeProbe(node.content, { files: [...filesOf(host, "/etc/munin/plugin-conf.d"), ...filesOf(host, "/etc/munin/plugins/")] });
    t.true(r.ok, `${host.host}:\n${r.output}`);
    t.true(r.plugins.includes("cpu"), `${host.host}: ${r.plugins.join(" ")}`);
    t.is(r.plugins.includes("dhis2_postgresql_log"), host.role === "database", `${host.host}: ${r.plugins.join(" ")}`);
  }
});

test("the PostgreSQL log-size munin plugin: its config, and the size of the log directory in bytes", async (t) => {
  const db = hostsOf(STACKS.local!()).find((h) => h.role === "database")!;
  const plugin = db.files.find((f) => f.path === "/etc/munin/plugins/dhis2_postgresql_log")!;
  t.is(plugin.mode, "0755");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pglog-"));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const script = path.join(dir, "plugin");
  fs.writeFileSync(script, plugin.content, { mode: 0o755 });
  const logs = path.join(dir, "log");
  fs.mkdirSync(logs);
  fs.writeFileSync(path.join(logs, "postgresql-15-main.log"), "x".repeat(1000));
  fs.writeFileSync(path.join(logs, "postgresql-15-main.log.1"), "y".repeat(3000));
  const config = spawnSync("/bin/sh", [script, "config"], { encoding: "utf8", env: { PATH: "/usr/bin:/bin", logdir: logs } });
  t.is(config.status, 0, config.stderr);
  t.regex(config.stdout, /^graph_title PostgreSQL log size$/m);
  t.regex(config.stdout, /^size\.label /m);
  const fetch = spawnSync("/bin/sh", [script], { encoding: "utf8", env: { PATH: "/usr/bin:/bin", logdir: logs } });
  const bytes = Number(/^size\.value (\d+)$/m.exec(fetch.stdout)?.[1]);
  // the directory entry itself plus the two files
  t.true(bytes >= 4000 && bytes < 4000 + 64 * 1024, fetch.stdout);
  const missing = spawnSync("/bin/sh", [script], { encoding: "utf8", env: { PATH: "/usr/bin:/bin", logdir: path.join(dir, "none") } });
  t.regex(missing.stdout, /^size\.value U$/m);
  t.regex(plugin.content, /^default_logdir='\/var\/log\/postgresql'$/m);
});

test("glowroot admin.json is valid JSON with the proxy path", (t) => {
  for (const host of hostsOf(everything()).filter((h) => h.role === "instance")) {
    const admin = JSON.parse(host.files.find((f) => f.path === "/opt/glowroot/admin.json")!.content) as { web: { contextPath: string; port: number; bindAddress: string } };
    t.is(admin.web.contextPath, `/glowroot/${host.host}`);
    t.is(admin.web.port, 4000);
    t.is(admin.web.bindAddress, host.address);
  }
});
