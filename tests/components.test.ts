/**
 * Components with Pulumi mocks: what they would create, without an engine. The real behaviour of
 * the scripts they run is tested against real programs (tests/search-indexes.test.ts).
 */
import { calls, isSecret, optionsRecorder, plain, recorded, resourcesOf, settle, valueOf } from "./support/pulumi-mocks";
import test from "ava";
import * as pulumi from "@pulumi/pulumi";
import { resolveDhis2Runtime } from "../lib/dhis2/compat";
import type { SearchIndexTarget } from "../lib/roles/database/search-indexes";
import { LocalHost, LxdContainerHost, SshHost } from "../components/host";
import { TrackerSearchIndexes } from "../components/tracker-search-indexes";
import { HostVerification } from "../components/host-verification";
import { Dhis2Deployment } from "../components/deployment";
import { loadStackFile } from "../lib/load";
import { renderDeployment } from "../lib/render/hosts";
import { placeholderSecrets } from "../lib/render/secrets";
import * as path from "node:path";
import { cloudStack, declaredStack, load, SSH_KEY, withGeneratedSecrets } from "./support/stacks";

const PROJECT = path.resolve(__dirname, "..");

const target = (instance: string): SearchIndexTarget => ({
  instance,
  database: `dhis2_${instance}`,
  schema: resolveDhis2Runtime("2.41.3").schema,
  attributes: ["w75KJ2mc4zz", "zDhUuAYrxNC"],
  eventDataElements: [{ programStage: "ZkbAXlQUYJG", dataElement: "LavUrktwH5D", search: "contains" }],
});

test.serial("TrackerSearchIndexes on an LXD container: one command, run as postgres, the script on stdin", async (t) => {
  const c = new TrackerSearchIndexes("production-search", { host: new LxdContainerHost("database", "dhis2-database"), target: target("production") });
  await settle();
  const [cmd, ...more] = resourcesOf("command:local:Command", "production-search");
  t.is(more.length, 0);
  t.is(cmd!.inputs.create, "lxc exec 'dhis2-database' -- /bin/sh -c 'runuser -u postgres -- /bin/bash -s'");
  const stdin = String(cmd!.inputs.stdin);
  t.regex(stdin, /^#!\/bin\/bash/);
  t.regex(stdin, /psql -X -v ON_ERROR_STOP=1 -d "\$database"/);
  t.regex(stdin, /INSERT INTO toolkit_wanted_attribute VALUES \('w75KJ2mc4zz'\);/);
  t.regex(stdin, /INSERT INTO toolkit_wanted_event VALUES \('ZkbAXlQUYJG', 'LavUrktwH5D', 'contains'\);/);
  t.notRegex(stdin, /PGPASSWORD|PASSWORD '|sslpassword|:\/\/\w+:\w+@/i, "the script needs no credentials");
  t.is(cmd!.inputs.delete, undefined, "removing the component drops nothing");
  t.is(await valueOf(c.report), "ran production-search-apply");
  t.true(recorded.some((r) => r.type === "dhis2:role:TrackerSearchIndexes" && r.name === "production-search"));
});

test.serial("TrackerSearchIndexes over SSH through the bastion: sudo, key as a secret, nothing secret in the command", async (t) => {
  const key = pulumi.secret("-----BEGIN OPENSSH PRIVATE KEY-----\ntest\n-----END OPENSSH PRIVATE KEY-----");
  new TrackerSearchIndexes("staging-search", {
    host: new SshHost("database", { host: "10.231.20.20", user: "dhis2admin", privateKey: key, bastion: { host: "203.0.113.10", user: "dhis2admin", privateKey: key } }),
    target: target("staging"),
  });
  await settle();
  const [cmd] = resourcesOf("command:remote:Command", "staging-search");
  t.is(cmd!.inputs.create, "sudo /bin/sh -c 'runuser -u postgres -- /bin/bash -s'");
  // the connection holds the private key, so the whole connection is a secret in the engine's eyes
  t.true(isSecret(cmd!.inputs.connection));
  const conn = plain<{ host: string; user: string; privateKey: string; proxy: { host: string } }>(cmd!.inputs.connection);
  t.is(conn.host, "10.231.20.20");
  t.is(conn.user, "dhis2admin");
  t.is(conn.proxy.host, "203.0.113.10");
  t.notRegex(String(cmd!.inputs.create), /PRIVATE KEY/);
});

test.serial("TrackerSearchIndexes on this machine with environment (a cluster on another socket)", async (t) => {
  new TrackerSearchIndexes("local-search", { host: new LocalHost("local"), target: target("local"), environment: { PGHOST: "/tmp/sock", PGPORT: "5433" } });
  await settle();
  const [cmd] = resourcesOf("command:local:Command", "local-search");
  t.is(cmd!.inputs.create, "runuser -u postgres -- /bin/bash -s");
  t.deepEqual(cmd!.inputs.environment, { PGHOST: "/tmp/sock", PGPORT: "5433" });
});

test.serial("Dhis2Deployment on the local stack: a container per role, every rendered file as its own command, secrets only on stdin and secret", async (t) => {
  const plan = withGeneratedSecrets(loadStackFile(PROJECT, "local").plan);
  const d = new Dhis2Deployment("unit", { plan });
  await settle();
  const commands = recorded.filter((r) => r.type === "command:local:Command" && r.name.startsWith("unit-"));
  // one container per node, deleted with the deployment, replaced only by another image
  const containers = commands.filter((r) => r.name.endsWith("-container"));
  t.deepEqual(containers.map((c) => c.name).sort(), ["database", "monitor", "production", "proxy", "training"].map((n) => `unit-lxd-${n}-container`));
  for (const c of containers) {
    const node = c.name.replace(/^unit-lxd-|-container$/g, "");
    t.is(c.inputs.delete, `lxc delete --force 'dhis2-local-${node}'`);
    t.deepEqual(c.inputs.triggers, ["dhis2-debian-12", `dhis2-local-${node}`]);
  }
  const volume = commands.find((r) => r.name === "unit-lxd-pgdata-volume")!;
  t.is(volume.inputs.delete, undefined, "the data volume is never deleted by pulumi");
  // every rendered file is one command; the secret ones carry their content as a secret
  const hosts = renderDeployment(plan, { secrets: placeholderSecrets(plan) });
  for (const h of hosts) {
    for (const f of h.files) {
      const name = `unit-${h.host}-file-${f.path.replace(/^\/+/, "").replace(/[^A-Za-z0-9._-]+/g, "-")}`;
      const cmd = commands.find((r) => r.name === name);
      t.truthy(cmd, `${name} missing`);
      t.is(isSecret(cmd!.inputs.stdin), Boolean(f.secret), `${name}: secret stdin ${isSecret(cmd!.inputs.stdin)}`);
      if (!f.secret) t.is(cmd!.inputs.stdin, f.content);
      t.regex(String(cmd!.inputs.create), /^lxc exec 'dhis2-local-/);
      t.regex(String(cmd!.inputs.update), /systemctl|nft|dhis2-postgresql-apply|^lxc exec [^ ]+ -- \/bin\/sh -c '.*mv -f/);
    }
  }
  // before a new DHIS2 version: a dump of the instance's database, on the database's container
  for (const i of plan.instances) {
    const pre = commands.find((r) => r.name === `unit-${i.config.name}-pre-upgrade-dump`);
    t.truthy(pre, `pre-upgrade dump of ${i.config.name}`);
    t.regex(String(pre!.inputs.create), /^lxc exec 'dhis2-local-database'/);
    t.true(String(pre!.inputs.create).includes(`/usr/local/sbin/dhis2-backup --pre-upgrade ${i.config.name} ${i.config.runtime.display} `));
  }
  // generated secrets (dhis2:generated, from the stack file): only ever inside secret values
  const values = Object.values(plan.config.generated).map((g) => g.value!);
  t.is(values.length, 2 * plan.instances.length + 2);
  const leaked = commands.filter((r) => !isSecret(r.inputs.stdin) && values.some((v) => JSON.stringify(r.inputs).includes(v)));
  t.deepEqual(leaked.map((r) => r.name), []);
  const databases = commands.find((r) => r.name === "unit-database-databases")!;
  t.true(isSecret(databases.inputs.stdin));
  t.regex(plain<string>(databases.inputs.stdin), /PASSWORD 'UnitProductionDatabasePasswordValue'/);
  t.is(databases.inputs.logging, "none");
  // the monitoring login's htpasswd line: openssl on this machine, the password on stdin, not logged
  const htpasswd = commands.find((r) => r.name === "unit-monitoring-htpasswd-hash")!;
  t.true(isSecret(htpasswd.inputs.stdin));
  t.is(plain<string>(htpasswd.inputs.stdin), "UnitMonitoringPasswordValue");
  t.is(htpasswd.inputs.logging, "none");
  t.regex(String(htpasswd.inputs.create), /openssl passwd -6 -stdin/);
  // the tracker search indexes run on the database container for each instance
  t.truthy(commands.find((r) => r.name === "unit-production-search-indexes-apply"));
  t.deepEqual(await valueOf(d.urls), { production: "https://dhis2.local", training: "https://dhis2.local/training" });
  t.deepEqual(await valueOf(d.machines), Object.fromEntries(["proxy", "production", "training", "database", "monitor"].map((n) => [n, `dhis2-local-${n}`])));
});

test.serial("Dhis2Deployment on the local stack: pulumi up starts a stopped service again (dhis2-status --repair in each container, as an invoke: no resource, no change)", async (t) => {
  const plan = withGeneratedSecrets(loadStackFile(PROJECT, "local").plan);
  const before = calls.length;
  new Dhis2Deployment("unit-drift", { plan });
  await settle();
  const runs = calls.slice(before).filter((c) => c.token === "command:local:run").map((c) => String(c.inputs.command));
  for (const node of ["proxy", "production", "training", "database", "monitor"]) {
    t.true(runs.some((r) => r.includes(`lxc exec 'dhis2-local-${node}'`) && r.includes("/usr/local/sbin/dhis2-status --repair")), `${node}: ${runs.join("\n")}`);
  }
  t.false(recorded.some((r) => r.name.startsWith("unit-drift") && /--repair/.test(String(r.inputs.create))), "no resource for the check");
});

test.serial("Dhis2Deployment without its generated secrets stops naming dhis2:generated and npm run secrets", (t) => {
  const plan = loadStackFile(PROJECT, "local").plan;
  const before = recorded.length;
  t.throws(() => new Dhis2Deployment("unit-nosecrets", { plan }), { message: /dhis2:generated\.production-database-password is missing: run `npm run secrets -- --stack local`/ });
  t.is(recorded.length, before);
});

test.serial("Dhis2Deployment on a server platform without the SSH key stops before creating anything", (t) => {
  const plan = withGeneratedSecrets(load(cloudStack({ isolation: "vm", cpus: 8, memoryGb: 16 })).plan);
  const before = recorded.length;
  t.throws(() => new Dhis2Deployment("unit-nokey", { plan }), { message: /dhis2:admin\.privateKey: is required/ });
  t.is(recorded.length, before);
});

test.serial("Dhis2Deployment on existing servers: every role over SSH as the admin user, the proxy as the bastion of the others, host keys pinned, the key a secret", async (t) => {
  const stack = loadStackFile(PROJECT, "example-existing").plan.config;
  const hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHJ0d3Bvb2xleGFtcGxla2V5Zm9yZG9jc29ubHkx";
  const raw = load({
    platform: "existing", isolation: "vm", os: "ubuntu-22.04", domain: stack.domain, postgresVersion: 16,
    instances: [{ name: "production", version: "2.41.3", path: "/" }],
    servers: {
      proxy: { address: "196.12.4.10", privateAddress: "10.10.20.2", hostKey },
      database: { address: "10.10.20.20", user: "ubuntu" },
      monitor: { address: "10.10.20.30" },
      instances: { production: { address: "10.10.20.11", port: 2222 } },
    },
    tls: { mode: "self-signed" },
    admin: { sshKeys: [SSH_KEY], allowedCidrs: ["196.12.4.0/24"], privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nS3NT1NEL\n-----END OPENSSH PRIVATE KEY-----\n" },
    alerts: { recipients: ["ops@example.org"], smtp: { host: "smtp.example.org" } },
  }, "ke-prod").plan;
  const rec = optionsRecorder();
  const d = new Dhis2Deployment("exist", { plan: withGeneratedSecrets(raw) }, { transformations: [rec.transformation] });
  await settle();
  // the others wait for the bastion's firewall (a tunnel open while it loads would be cut)
  const deps = (n: string) => ((rec.seen.find((x) => x.name === n)?.opts.dependsOn ?? []) as { __name?: string }[]).map((r) => r.__name);
  t.deepEqual(deps("exist-database-setup"), ["exist-proxy-start"]);
  t.deepEqual(deps("exist-production-setup"), ["exist-proxy-start"]);
  t.deepEqual(deps("exist-proxy-setup"), []);
  const remote = recorded.filter((r) => r.type === "command:remote:Command" && r.name.startsWith("exist-"));
  const conn = (name: string) => plain<{ host: string; user: string; port: number; hostKey?: string; privateKey: string; proxy?: { host: string; hostKey?: string } }>(remote.find((r) => r.name === name)!.inputs.connection);
  t.true(remote.length > 40, `${remote.length} remote commands`);
  for (const r of remote) {
    t.true(isSecret(r.inputs.connection), `${r.name}: the connection (with the key) is secret`);
    t.notRegex(JSON.stringify(r.inputs.create), /S3NT1NEL/);
    t.regex(String(r.inputs.create), /^sudo /);
  }
  t.deepEqual({ ...conn("exist-proxy-setup"), privateKey: "" }, { host: "196.12.4.10", user: "dhis2admin", port: 22, hostKey, privateKey: "", dialErrorLimit: 20, perDialTimeout: 15 });
  t.like(conn("exist-database-setup"), { host: "10.10.20.20", user: "ubuntu", proxy: { host: "196.12.4.10", hostKey } });
  t.like(conn("exist-production-setup"), { host: "10.10.20.11", port: 2222, proxy: { host: "196.12.4.10" } });
  t.regex(conn("exist-monitor-setup").privateKey, /S3NT1NEL/);
  // nothing runs on this machine but the monitoring login's htpasswd line
  const local = recorded.filter((r) => r.type === "command:local:Command" && r.name.startsWith("exist-"));
  t.deepEqual(local.map((r) => r.name), ["exist-monitoring-htpasswd-hash"]);
  t.like(await valueOf(d.machines), { proxy: "dhis2admin@196.12.4.10", database: "ubuntu@10.10.20.20 (through 196.12.4.10)" });
});

test.serial("HostVerification: the node's rendered script on stdin as root; output that is not the script's is a warning, never a pass", async (t) => {
  const plan = load(declaredStack({ isolation: "lxd", cpus: 8, memoryGb: 16 })).plan;
  const verify = renderDeployment(plan, { secrets: placeholderSecrets(plan) }).find((h) => h.host === "database")!.verify;
  const v = new HostVerification("database-verify", { host: new LxdContainerHost("database", "dhis2-database"), verification: verify, strict: false });
  await settle();
  const [cmd, ...more] = resourcesOf("command:local:Command", "database-verify");
  t.is(more.length, 0);
  t.is(cmd!.inputs.create, "lxc exec 'dhis2-database' -- /bin/sh -c '/bin/bash -s'");
  t.is(cmd!.inputs.stdin, verify.script);
  // the mocks answer "ran <name>": nothing measured, so every check reports it
  const verdict = await valueOf(v.verdict);
  t.deepEqual(verdict.failures, []);
  t.true(verdict.warnings.includes("database: the dd disk latency test did not run"), verdict.warnings.join("\n"));
  t.is(verdict.summary, "warn database: CPU ?, memory ?, dd ?");
});
