/**
 * Rendering: what the templates produce for a range of stacks, checked without running the
 * programs (tests/checks.test.ts runs nginx, PostgreSQL, Tomcat, ... on the same output).
 */
import { spawnSync } from "node:child_process";
import test from "ava";
import * as fs from "node:fs";
import * as path from "node:path";
import { loadStackFile } from "../lib/load";
import type { Plan } from "../lib/plan";
import { listTemplates, renderedTemplates, renderTemplate } from "../lib/render/engine";
import { loadOnDemand } from "../lib/ondemand/plan";
import { onDemandScripts } from "../lib/ondemand/render";
import { previewArtifact } from "../lib/render/artifacts";
import { deploymentCredentials } from "../lib/render/credentials";
import { nodeRoleSteps, renderDeployment, scriptOf, type HostPlan } from "../lib/render/hosts";
import { tuningReport } from "../lib/render/report";
import { lxdContainers, lxdDataVolumes, lxdNetwork, lxdRoleImages } from "../lib/render/lxd";
import { htpasswdCommand, placeholderSecrets, type DeploymentSecrets } from "../lib/render/secrets";
import { dataVolumeScript, planCloud } from "../lib/platform/cloud";
import { replaceGenerated, sizingDocSection } from "../lib/docs/sizing";
import { cloudStack, declaredStack, load, SSH_KEY } from "./support/stacks";

const PROJECT = path.resolve(__dirname, "..");

/** Secrets with recognisable values, to find where they end up. */
function sentinelSecrets(plan: Plan): DeploymentSecrets {
  return {
    databasePasswords: Object.fromEntries(plan.instances.map((i) => [i.config.name, `DBPASS-${i.config.name}-S3NT1NEL`])),
    encryptionPasswords: Object.fromEntries(plan.instances.map((i) => [i.config.name, `ENCPASS-${i.config.name}-S3NT1NEL`])),
    monitoringHtpasswd: "monitoring:$apr1$S3NT1NEL",
    smtpPassword: "SMTPPASS-S3NT1NEL",
    backupPassword: "BACKUPPASS-S3NT1NEL",
    offsiteSecretAccessKey: "S3KEY-S3NT1NEL",
  };
}

/** A stack that uses every feature: three instances (2.41 on Ubuntu 22.04's Tomcat 9, 2.42, 2.44 embedded), own hostname, provided TLS, relay login. */
function everything(): Record<string, unknown> {
  const raw = cloudStack({ isolation: "vm", cpus: 16, memoryGb: 32, instances: 3 });
  raw.instances = [
    { name: "production", version: "2.41.3", os: "ubuntu-22.04", path: "/", trackerSearch: { attributes: ["w75KJ2mc4zz"] } },
    { name: "staging", version: "2.42.1", path: "/staging" },
    { name: "training", version: "2.44.0", hostname: "training.example.org", size: { cpus: 4, memoryGb: 8 } },
  ];
  raw.alerts = { recipients: ["ops@example.org", "oncall@example.org"], smtp: { host: "smtp.example.org", username: "alerts", password: "x" } };
  raw.backup = { offsite: { repository: "s3:https://fsn1.your-objectstorage.com/moh-backups/dhis2", accessKeyId: "EXAMPLEKEYID", secretAccessKey: "x" } };
  return raw;
}

/** Debian 12 servers asked for what Debian 12 does not package: Tomcat 9 (Apache's archive), JDK 21 (Temurin), PostgreSQL 16 (apt.postgresql.org). */
function fromSources(): Record<string, unknown> {
  return {
    ...cloudStack({ isolation: "vm", cpus: 8, memoryGb: 16 }),
    postgresVersion: 16,
    sources: { tomcat9: { url: "https://mirror.example.org/tomcat/apache-tomcat-9.0.98.tar.gz", sha512: "0123456789abcdef".repeat(8) } },
    instances: [{ name: "production", version: "2.41.3", path: "/", jdk: 21 }],
  };
}

const stacks: Record<string, () => Plan> = {
  local: () => loadStackFile(PROJECT, "local").plan,
  "example-existing": () => loadStackFile(PROJECT, "example-existing").plan,
  everything: () => load(everything()).plan,
  "from-sources": () => load(fromSources()).plan,
  "hcloud-lxd": () => load(cloudStack({ isolation: "lxd", cpus: 32, memoryGb: 64, instances: 2 })).plan,
  "provided-tls": () => load({ ...cloudStack({ isolation: "vm", cpus: 8, memoryGb: 16 }), platform: "aws", tls: { mode: "provided", certificateFile: "/etc/dhis2/cert.pem", keyFile: "/etc/dhis2/key.pem" } }).plan,
};

const rendered = (plan: Plan) => renderDeployment(plan, { secrets: sentinelSecrets(plan) });
const fileOf = (hosts: readonly HostPlan[], host: string, p: string) => hosts.find((h) => h.host === host)?.files.find((f) => f.path === p);

test("every template under templates/ is used by some stack", (t) => {
  for (const make of Object.values(stacks)) {
    const plan = make();
    const hosts = rendered(plan);
    // what the components run besides the files: set-up, role steps, LXD objects
    for (const setup of hosts) nodeRoleSteps(plan, setup.host, { artifact: previewArtifact, databasePasswords: sentinelSecrets(plan).databasePasswords });
    if (plan.config.isolation === "lxd") { lxdNetwork(plan); lxdContainers(plan, lxdRoleImages(plan, hosts)); lxdDataVolumes(plan)[0]!.script; }
    const cloud = planCloud(plan).cloud;
    for (const server of cloud?.servers.filter((x) => x.volume) ?? []) dataVolumeScript(plan, server, cloud!.cloud, "12345");
  }
  htpasswdCommand("monitoring"); // components/secrets.ts
  // on-demand instances (scripts/instance.ts, components/ondemand.ts): a scrubbed training copy and the reaper's cron file
  const od = loadOnDemand("local-trainwk", { onDemand: { from: "local", name: "trainwk", source: "production", size: { cpus: 1, memoryGb: 2 }, sizeName: "small", slot: 0, created: "2026-12-03T10:00:00Z", expires: "2026-12-06T10:00:00Z", seed: { kind: "latest-backup" }, scrub: true } }, PROJECT, "test");
  onDemandScripts(od, { database: "x", training: "y" });
  renderTemplate("ondemand/reap.cron.hbs", { project: PROJECT, passphraseFile: "" });

  t.deepEqual(listTemplates().filter((n) => !renderedTemplates().includes(n)), []);
});

test("secrets appear only in files marked secret, and those files are not world-readable", (t) => {
  for (const [name, make] of Object.entries(stacks)) {
    const hosts = rendered(make());
    for (const h of hosts) {
      for (const f of h.files) {
        const holds = f.content.includes("S3NT1NEL");
        t.is(Boolean(f.secret), holds, `${name} ${h.host} ${f.path}: secret flag ${f.secret} but holds a secret: ${holds}`);
        if (f.secret) t.regex(f.mode, /^0[0-7][0-4]0$/, `${name} ${h.host} ${f.path} is mode ${f.mode}`);
      }
      t.false(h.userData?.includes("S3NT1NEL") ?? false, `${name} ${h.host}: user-data holds a secret`);
    }
  }
});

test("dhis.conf: mode 0600 for the service user, its own database over TLS, absolute base URL", (t) => {
  const hosts = rendered(stacks.everything!());
  const conf = fileOf(hosts, "staging", "/opt/dhis2/dhis.conf")!;
  t.is(conf.mode, "0600");
  t.is(conf.owner, "dhis");
  t.regex(conf.content, /^connection\.url = jdbc:postgresql:\/\/10\.231\.20\.20:5432\/dhis2_staging\?sslmode=require$/m);
  t.regex(conf.content, /^connection\.username = dhis2_staging$/m);
  t.regex(conf.content, /^connection\.password = DBPASS-staging-S3NT1NEL$/m);
  t.regex(conf.content, /^server\.base\.url = https:\/\/dhis2\.example\.org\/staging$/m);
  t.regex(conf.content, /^encryption\.password = ENCPASS-staging-S3NT1NEL$/m);
  const training = fileOf(hosts, "training", "/opt/dhis2/dhis.conf")!;
  t.regex(training.content, /^server\.base\.url = https:\/\/training\.example\.org$/m);
});

test("servlet container follows the DHIS2 version: Tomcat 9, Tomcat 10, embedded server", (t) => {
  const hosts = rendered(stacks.everything!());
  t.regex(fileOf(hosts, "production", "/etc/systemd/system/dhis2.service")!.content, /Tomcat 9 \(JDK 17\)/);
  t.regex(fileOf(hosts, "staging", "/etc/systemd/system/dhis2.service")!.content, /Tomcat 10 \(JDK 17\)/);
  const embedded = fileOf(hosts, "training", "/etc/systemd/system/dhis2.service")!.content;
  t.regex(embedded, /embedded server/);
  t.regex(embedded, /-jar \/opt\/dhis2\/dhis2\.war/);
  t.is(fileOf(hosts, "training", "/opt/dhis2/tomcat/conf/server.xml"), undefined);
  const serverXml = fileOf(hosts, "production", "/opt/dhis2/tomcat/conf/server.xml")!.content;
  t.regex(serverXml, /<Server port="-1"/);
  t.regex(serverXml, /relaxedQueryChars="\[\]"/);
  t.regex(serverXml, /unpackWARs="false" autoDeploy="false"/);
  t.regex(serverXml, /internalProxies="10\\\.231\\\.20\\\.2"/);
  // the access log takes the client's address from the RemoteIpValve (%a), not the raw header
  t.regex(serverXml, /<Valve className="org\.apache\.catalina\.valves\.AccessLogValve"[^>]*requestAttributesEnabled="true"[^>]*pattern="%a /);
  t.notRegex(serverXml, /%\{X-Forwarded-For\}i/);
  for (const name of ["production", "staging", "training"]) {
    const unit = fileOf(hosts, name, "/etc/systemd/system/dhis2.service")!.content;
    t.notRegex(unit, /java\.security\.egd/, "no effect on JDK 11+");
    for (const line of ["ProtectSystem=strict", "ProtectKernelTunables=true", "ProtectControlGroups=true", "PrivateDevices=true", "ProtectHome=true"]) {
      t.regex(unit, new RegExp(`^${line}$`, "m"), `${name}: ${line}`);
    }
    // strict makes everything read-only: what DHIS2, Tomcat and glowroot write must be listed
    const writable = /^ReadWritePaths=(.*)$/m.exec(unit)![1]!.split(" ");
    t.deepEqual(writable, name === "training" ? ["/opt/dhis2", "/opt/glowroot"] : ["/opt/dhis2", "/opt/dhis2/tomcat", "/opt/glowroot"], name);
  }
});

test("dhis.conf: monitoring.api (DHIS2's Prometheus /api/metrics) is off, and its comment says what it is", (t) => {
  const conf = fileOf(rendered(stacks.everything!()), "production", "/opt/dhis2/dhis.conf")!.content;
  t.regex(conf, /^monitoring\.api\.enabled = off$/m);
  t.regex(conf, /Prometheus metrics at \/api\/metrics/);
  t.notRegex(conf, /reports to glowroot and munin/);
});

test("nginx: no OCSP stapling and no resolver (Let's Encrypt ended OCSP; 127.0.0.53 is often not running)", (t) => {
  for (const make of [stacks.everything!, stacks.local!]) {
    for (const f of rendered(make()).filter((h) => h.role === "proxy").flatMap((h) => h.files)) {
      t.notRegex(f.content, /^\s*(ssl_stapling|resolver)\b/m, f.path);
    }
  }
});

test("nginx: a location per instance, a vhost per own host name, analytics rate limit, monitoring behind a login", (t) => {
  const hosts = rendered(stacks.everything!());
  const main = fileOf(hosts, "proxy", "/etc/nginx/dhis2/dhis2.example.org.conf")!.content;
  t.regex(main, /location \/ \{\n\s+proxy_pass http:\/\/dhis2_production;/);
  t.regex(main, /location \/staging\/ \{\n\s+proxy_pass http:\/\/dhis2_staging;/);
  t.regex(main, /location ~ \^\/staging\/api\/\(\\d\+\/\)\?analytics \{\n\s+limit_req zone=dhis2_analytics/);
  t.regex(main, /location \/munin\/ \{\n\s+auth_basic "DHIS2 monitoring";/);
  t.regex(main, /location \/glowroot\/training\/ \{\n\s+auth_basic/);
  t.regex(main, /Strict-Transport-Security/);
  t.notRegex(main, /training\.example\.org/);
  const training = fileOf(hosts, "proxy", "/etc/nginx/dhis2/training.example.org.conf")!.content;
  t.regex(training, /server_name training\.example\.org;/);
  t.regex(training, /location \/ \{\n\s+proxy_pass http:\/\/dhis2_training;/);
  t.notRegex(training, /munin/);
  const proxy = fileOf(hosts, "proxy", "/etc/nginx/dhis2/00-proxy.conf")!.content;
  t.regex(proxy, /upstream dhis2_staging \{\n\s+server 10\.231\.20\.12:8080;\n\s+keepalive 32;/);
  t.regex(proxy, /listen 80 default_server;[\s\S]*return 444;/);
  t.regex(proxy, /ssl_reject_handshake on;/);
  t.regex(proxy, /listen 127\.0\.0\.1:8090;[\s\S]*stub_status;/);
  const global = fileOf(hosts, "proxy", "/etc/nginx/nginx.conf")!.content;
  t.regex(global, /ssl_protocols TLSv1\.2 TLSv1\.3;/);
  t.notRegex(global, /TLSv1(\.1)?[ ;]/);
});

test("pg_hba: one database and role per instance, only from its own host, scram over TLS, the rest rejected", (t) => {
  const plan = stacks.everything!();
  const hba = fileOf(rendered(plan), "database", "/etc/postgresql/15/main/pg_hba.conf")!.content;
  const rules = hba.split("\n").filter((l) => l && !l.startsWith("#"));
  t.deepEqual(rules.map((l) => l.split(/\s+/)), [
    ["local", "all", "postgres", "peer"],
    ["hostssl", "dhis2_production", "dhis2_production", "10.231.20.11/32", "scram-sha-256"],
    ["hostssl", "dhis2_staging", "dhis2_staging", "10.231.20.12/32", "scram-sha-256"],
    ["hostssl", "dhis2_training", "dhis2_training", "10.231.20.13/32", "scram-sha-256"],
    ["host", "all", "all", "0.0.0.0/0", "reject"],
    ["host", "all", "all", "::/0", "reject"],
  ]);
});

test("host firewalls: least privilege; only the proxy's 80/443 open to all, SSH from admin CIDRs to the proxy only", (t) => {
  for (const [name, make] of Object.entries(stacks)) {
    const plan = make();
    for (const h of rendered(plan)) {
      const nft = h.files.find((f) => f.path === "/etc/nftables.conf");
      t.truthy(nft, `${name} ${h.host} has no firewall`);
      t.regex(nft!.content, /policy drop;/);
      for (const line of nft!.content.split("\n").filter((l) => /dport \d+ accept/.test(l))) {
        const port = Number(/dport (\d+)/.exec(line)![1]);
        const open = !/saddr|iifname/.test(line);
        if (open) t.true((h.role === "proxy" || h.role === "lxd-host") && (port === 80 || port === 443), `${name} ${h.host}: ${line.trim()}`);
        if (port === 22) {
          t.true(h.role === "proxy" || h.role === "lxd-host" ? line.includes("196.12.4.0/24") : line.includes(plan.topology.proxy.address), `${name} ${h.host}: ${line.trim()}`);
        }
      }
    }
  }
  const db = fileOf(rendered(stacks.everything!()), "database", "/etc/nftables.conf")!.content;
  t.regex(db, /ip saddr \{ 10\.231\.20\.11 \} tcp dport 5432 accept/);
  t.regex(db, /ip saddr \{ 10\.231\.20\.30 \} tcp dport 4949 accept/);
  t.notRegex(db, /10\.231\.20\.2 \} tcp dport 5432/);
});

test("munin: the master polls every node with alert contacts; every node answers only the monitor", (t) => {
  const hosts = rendered(stacks.everything!());
  const master = fileOf(hosts, "monitor", "/etc/munin/munin.conf")!.content;
  t.regex(master, /contact\.admin1\.command mail -s .* ops@example\.org/);
  t.regex(master, /contact\.admin2\.command mail -s .* oncall@example\.org/);
  for (const h of hosts) {
    t.regex(master, new RegExp(`\\[dhis2\\.example\\.org;${h.hostname}\\]\\n\\s+address ${h.address.replace(/\./g, "\\.")}`));
    const node = h.files.find((f) => f.path === "/etc/munin/munin-node.conf")!.content;
    t.regex(node, /^cidr_allow 10\.231\.20\.30\/32$/m);
    t.regex(node, new RegExp(`^host ${h.address.replace(/\./g, "\\.")}$`, "m"));
  }
});

test("munin alerts: mailed on change of state only, and a daily reminder of what still lasts", (t) => {
  const hosts = rendered(stacks.everything!());
  const master = fileOf(hosts, "monitor", "/etc/munin/munin.conf")!.content;
  // always_send would mail on every 5-minute run while a problem lasts
  t.notRegex(master, /^contact\.\S+\.always_send/m);
  const cron = fileOf(hosts, "monitor", "/etc/cron.d/dhis2-munin-reminder")!;
  t.is(cron.mode, "0644");
  const jobs = cron.content.split("\n").filter((l) => /^\d/.test(l));
  t.is(jobs.length, 1, cron.content);
  const [minute, hour, dom, month, dow, user, ...command] = jobs[0]!.split(/\s+/);
  t.deepEqual([dom, month, dow, user], ["*", "*", "*", "munin"]);
  t.true(Number(hour) >= 0 && Number(hour) < 24 && Number(minute) % 5 !== 0, "once a day, off munin-cron's 5-minute marks");
  t.regex(command.join(" "), /\/usr\/share\/munin\/munin-limits --always-send warning,critical;/);
});

test("mail: send-only on loopback through the relay, root's mail goes to the recipients, relay login in a 0600 file", (t) => {
  const hosts = rendered(stacks.everything!());
  const main = fileOf(hosts, "monitor", "/etc/postfix/main.cf")!.content;
  t.regex(main, /^inet_interfaces = loopback-only$/m);
  t.regex(main, /^mydestination =$/m);
  t.regex(main, /^relayhost = \[smtp\.example\.org\]:587$/m);
  t.regex(main, /^smtp_tls_security_level = encrypt$/m);
  t.regex(main, /^smtp_sasl_password_maps = texthash:\/etc\/postfix\/sasl_passwd$/m);
  t.notRegex(fileOf(hosts, "monitor", "/etc/postfix/master.cf")!.content, /^smtp\s+inet/m);
  t.regex(fileOf(hosts, "monitor", "/etc/postfix/virtual_alias")!.content, /^root ops@example\.org, oncall@example\.org$/m);
  const sasl = fileOf(hosts, "monitor", "/etc/postfix/sasl_passwd")!;
  t.is(sasl.mode, "0600");
  t.is(sasl.content.trim(), "[smtp.example.org]:587 alerts:SMTPPASS-S3NT1NEL");
});

test("cloud-init: only servers the toolkit creates, admin keys, no passwords, no root login", (t) => {
  const vm = rendered(stacks.everything!());
  t.is(vm.filter((h) => h.userData).length, vm.length);
  const ud = vm.find((h) => h.host === "database")!.userData!;
  t.true(ud.startsWith("#cloud-config\n"));
  t.true(ud.includes(SSH_KEY));
  t.regex(ud, /^ssh_pwauth: false$/m);
  t.regex(ud, /PermitRootLogin no/);
  t.regex(ud, /reached only through the proxy \(bastion\) at 10\.231\.20\.2/);
  const lxd = rendered(stacks["hcloud-lxd"]!());
  t.deepEqual(lxd.filter((h) => h.userData).map((h) => h.host), ["host"]);
  t.is(rendered(stacks["example-existing"]!()).filter((h) => h.userData).length, 0);
});

test("a memory upgrade of the database changes only PostgreSQL's conf.d file", (t) => {
  // declared sizes (existing servers): on a cloud 16 CPU / 32 GB and / 64 GB buy the same ccx43
  const before = declaredStack({ isolation: "vm", cpus: 16, memoryGb: 32 });
  const after = structuredClone(before);
  (after.sizes as { database: { memoryGb: number } }).database.memoryGb = 64;
  const a = rendered(load(before).plan);
  const b = rendered(load(after).plan);
  const changed: string[] = [];
  for (const h of b) for (const f of h.files) if (fileOf(a, h.host, f.path)?.content !== f.content) changed.push(`${h.host}:${f.path}`);
  t.deepEqual(changed, ["database:/etc/postgresql/15/main/conf.d/dhis2.conf"]);
});

test("rendering is deterministic and the render report names every setting", (t) => {
  const plan = stacks.everything!();
  t.deepEqual(rendered(plan), rendered(plan));
  const report = tuningReport(plan);
  for (const s of plan.postgres.settings) t.true(report.includes(`| ${s.name}`), s.name);
  t.deepEqual(placeholderSecrets(plan).databasePasswords.production?.startsWith("<secret:"), true);
});

test("docs/sizing.md shows what the code computes for the reference server (run npm run docs:sizing after a change)", (t) => {
  const doc = fs.readFileSync(path.join(PROJECT, "docs", "sizing.md"), "utf8");
  t.is(replaceGenerated(doc, sizingDocSection()), doc);
});

test("the database host gets one tracker search index script per instance, with that instance's UIDs and no credentials", (t) => {
  const plan = stacks["example-existing"]!();
  const db = rendered(plan).find((h) => h.role === "database")!;
  t.deepEqual(db.postProvision?.map((p) => p.name), ["tracker-search-indexes-production.sh"]);
  const script = db.postProvision![0]!.content;
  t.regex(script, /^database=dhis2_production$/m);
  for (const uid of ["w75KJ2mc4zz", "zDhUuAYrxNC", "P2cwLGskgxn"]) t.true(script.includes(`INSERT INTO toolkit_wanted_attribute VALUES ('${uid}');`), uid);
  t.true(script.includes("INSERT INTO toolkit_wanted_event VALUES ('ZkbAXlQUYJG', 'LavUrktwH5D', 'contains');"));
  t.notRegex(script, /S3NT1NEL/);
  t.is(rendered(plan).filter((h) => h.postProvision?.length).length, 1);
});

test("the credentials output: the monitoring login with the URLs it opens, and each instance's database login", (t) => {
  const plan = stacks.local!();
  const c = deploymentCredentials(plan, "m-secret", { production: "p-secret", training: "t-secret" });
  t.deepEqual(c.monitoring, {
    user: "monitoring", password: "m-secret",
    urls: [`https://${plan.config.domain}/munin/`, `https://${plan.config.domain}/glowroot/production/`, `https://${plan.config.domain}/glowroot/training/`],
  });
  t.deepEqual(Object.keys(c.databases).sort(), ["production", "training"]);
  const prod = plan.instances.find((i) => i.config.name === "production")!;
  t.deepEqual(c.databases.production, { database: prod.database, user: prod.databaseUser, password: "p-secret" });
  const noGlowroot = load({ ...cloudStack({ isolation: "vm", cpus: 8, memoryGb: 16 }), monitoring: { glowroot: false } }).plan;
  t.deepEqual(deploymentCredentials(noGlowroot, "m", {}).monitoring.urls, [`https://${noGlowroot.config.domain}/munin/`]);
});

test("the htpasswd line of the monitoring login: openssl's SHA-512 crypt of the password on stdin, which nginx accepts", (t) => {
  const cmd = htpasswdCommand("monitoring");
  t.false(cmd.includes("S3cretPassw0rdXyz"));
  const r = spawnSync("/bin/sh", ["-c", cmd], { input: "S3cretPassw0rdXyz", encoding: "utf8" });
  t.is(r.status, 0, r.stderr);
  const line = r.stdout.trim();
  t.regex(line, /^monitoring:\$6\$[^$]+\$[A-Za-z0-9./]{86}$/);
  // the same password checks against the line (openssl with the line's salt gives the same hash)
  const salt = line.split("$")[2]!;
  const again = spawnSync("openssl", ["passwd", "-6", "-salt", salt, "-stdin"], { input: "S3cretPassw0rdXyz", encoding: "utf8" });
  t.is(`monitoring:${again.stdout.trim()}`, line);
  t.throws(() => htpasswdCommand("Bad User"), { message: /bad user name/ });
});

test("what the system does not package comes from the stack's sources: apt repositories signed by pinned keys, Tomcat from Apache's archive", (t) => {
  const hosts = rendered(stacks["from-sources"]!());
  const db = hosts.find((h) => h.role === "database")!;
  const setupDb = scriptOf(db, "setup");
  t.regex(setupDb, /deb \[signed-by=\/etc\/apt\/keyrings\/dhis2-postgresql\.gpg\] https:\/\/apt\.postgresql\.org\/pub\/repos\/apt bookworm-pgdg main/);
  t.true(setupDb.includes('!= "B97B0AFCAA1A47F044F244A07FCC7D46ACCC4CF8"'), "the key's fingerprint is checked");
  t.true(db.packages.includes("postgresql-16") && !db.packages.includes("postgresql-contrib"), db.packages.join(" "));
  const prod = hosts.find((h) => h.host === "production")!;
  t.deepEqual(prod.packages.filter((p) => /jre|tomcat/.test(p)), ["temurin-21-jre"]);
  t.deepEqual(prod.repositories.map((r) => `${r.name} ${r.suite}`), ["jdk bookworm"]);
  t.deepEqual(prod.masked, []);
  const tomcat = scriptOf(prod, "tomcat");
  t.true(tomcat.includes("sha512sum -c") && tomcat.includes("0123456789abcdef".repeat(8)), "the archive's sha512 is checked");
  t.true(tomcat.includes("https://mirror.example.org/tomcat/apache-tomcat-9.0.98.tar.gz"));
  t.true(tomcat.includes("dhis2:sources.tomcat9.url"), "a failed download names the key");
  const order = prod.steps.map((st) => ("name" in st ? st.name : st.kind));
  t.true(order.indexOf("setup") < order.indexOf("tomcat") && order.indexOf("tomcat") < order.indexOf("war"), order.join(" "));
  t.regex(scriptOf(prod, "setup"), /readlink -f \/usr\/lib\/jvm\/temurin-21-\*\/bin\/java/);
  t.regex(fileOf(hosts, "production", "/etc/systemd/system/dhis2.service")!.content, /Tomcat 9 \(JDK 21\)/);
  // every host checks it runs the system the stack says
  for (const h of hosts) t.regex(scriptOf(h, "setup"), /if \[ "\$ID" != "debian" \] \|\| \[ "\$VERSION_ID" != "12" \]/, h.host);
});

test("2.44 runs on DHIS2's embedded server with its documented options; forwarded headers trusted from the proxy only", (t) => {
  const plan = stacks.everything!();
  const unit = fileOf(rendered(plan), "training", "/etc/systemd/system/dhis2.service")!.content;
  const proxy = plan.topology.proxy.address.replace(/\./g, "\\\\.");
  t.true(unit.includes("-Dserver.servlet.context.path=/ -Dserver.forward-headers-strategy=native"), unit);
  t.true(unit.includes(`-Dserver.tomcat.remoteip.internal-proxies=${proxy} -jar /opt/dhis2/dhis2.war`), unit);
});
