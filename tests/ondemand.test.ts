/**
 * On-demand instances (lib/ondemand, templates/ondemand; docs/instances.md): the checks of a
 * create request, the instance's plan derived from the real local stack file, what the country's
 * stack opens for them, the scripts' syntax, and the training scrub run on a real PostgreSQL.
 */
import test from "ava";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadStackFile } from "../lib/load";
import { loadOnDemand, onDemandRawConfig } from "../lib/ondemand/plan";
import { onDemandScripts } from "../lib/ondemand/render";
import { extendExpiry, isExpired, parseTtl, planCreate, type CountryFacts, type OnDemandSpec } from "../lib/ondemand/spec";
import { renderDeployment } from "../lib/render/hosts";
import { placeholderSecrets } from "../lib/render/secrets";
import { renderTemplate } from "../lib/render/engine";
import { sqlLiteral } from "../lib/render/shell";
import { memoryMb } from "../scripts/lib/ondemand";
import { makeTestCertificate, startThrowawayPostgres } from "./support/realtools";

const ROOT = path.resolve(__dirname, "..");
const NOW = new Date("2026-12-03T10:00:00Z");
const COUNTRY: CountryFacts = {
  platform: "local",
  onDemandRange: "10.231.20.48/28",
  instances: [{ name: "production", cpus: 1, memoryMb: 2500, version: "2.42.1" }, { name: "training", cpus: 0.5, memoryMb: 2000, version: "2.42.1" }],
  usedSlots: [0],
  onDemandNames: ["rehearsal"],
};
const request = (over: Partial<Parameters<typeof planCreate>[0]> = {}) =>
  ({ name: "trainwk", from: "local", size: "small", ttl: "3d", seed: ["latest-backup"], scrub: true, ...over });

test("create: a valid request gets the first free slot, an expiry, and the source's encryption is implied by the source instance", (t) => {
  const r = planCreate(request(), COUNTRY, NOW);
  t.deepEqual(r.problems, []);
  t.like(r.spec, { name: "trainwk", from: "local", source: "production", slot: 1, sizeName: "small", size: { cpus: 1, memoryGb: 2 }, created: "2026-12-03T10:00:00Z", expires: "2026-12-06T10:00:00Z", scrub: true, seed: { kind: "latest-backup" } });
  const prod = planCreate(request({ size: "as-prod", seed: ["backup", "1a2b3c4d"] }), COUNTRY, NOW);
  t.like(prod.spec, { size: { cpus: 1, memoryGb: 2.44 }, sizeName: "as-prod", seed: { kind: "backup", id: "1a2b3c4d" } });
});

test("create: every bad input is refused, naming the option and what is allowed", (t) => {
  const keys = (over: Partial<Parameters<typeof planCreate>[0]>, facts: CountryFacts = COUNTRY) => planCreate(request(over), facts, NOW).problems.map((p) => `${p.key}: ${p.message}`);
  t.regex(keys({ name: "production" })[0]!, /^NAME: is taken in stack local \(its instances: production, training, rehearsal\)/);
  t.regex(keys({ name: "rehearsal" })[0]!, /^NAME: is taken/);
  t.regex(keys({ name: "Bad_Name" })[0]!, /^NAME: must be 1-20 lowercase letters/);
  t.regex(keys({ ttl: "0h" })[0]!, /^--ttl: must be a positive duration/);
  t.regex(keys({ ttl: "-1d" })[0]!, /^--ttl: must be a positive duration/);
  t.regex(keys({ ttl: "13w" })[0]!, /^--ttl: must be at most 90 days/);
  t.regex(keys({ seed: ["yesterday"] })[0]!, /^--seed: must be latest-backup, backup ID, dump PATH or empty/);
  t.regex(keys({ size: "huge" })[0]!, /^--size: must be small \(1 CPU, 2 GB\), medium \(2 CPUs, 4 GB\) or as-prod/);
  t.regex(keys({ source: "staging" })[0]!, /^--source: must be an instance of stack local: production, training/);
  t.regex(keys({}, { ...COUNTRY, platform: "hcloud" })[0]!, /^--from: is a stack on platform hcloud: on-demand instances are made on the local platform/);
  t.regex(keys({}, { ...COUNTRY, onDemandRange: undefined })[0]!, /^--from: has no addresses for on-demand instances/);
  t.regex(keys({}, { ...COUNTRY, usedSlots: [...Array(16).keys()] })[0]!, /has 16 on-demand instances already/);
  t.regex(keys({ version: "2.43.0" }, { ...COUNTRY, instances: [{ ...COUNTRY.instances[0]!, war: "/srv/dhis2.war" }] })[0]!, /^--war: is required with --version 2.43.0/);
});

test("ttl, extend and expiry", (t) => {
  t.is(parseTtl("90m"), 90 * 60_000);
  t.is(parseTtl("2w"), 14 * 86_400_000);
  t.is(parseTtl("3 days"), undefined);
  t.is(extendExpiry("12h", NOW).expires, "2026-12-03T22:00:00Z");
  t.is(extendExpiry("0d", NOW).problem?.key, "--ttl");
  t.true(isExpired({ expires: "2026-12-03T10:00:00Z" }, NOW));
  t.false(isExpired({ expires: "2026-12-03T10:00:01Z" }, NOW));
  t.is(memoryMb("3648MB"), 3648);
  t.is(memoryMb("2GB"), 2048);
  t.is(memoryMb(""), 0);
});

const SPEC: OnDemandSpec = {
  from: "local", name: "trainwk", source: "production", size: { cpus: 1, memoryGb: 2 }, sizeName: "small", slot: 3,
  created: "2026-12-03T10:00:00Z", expires: "2026-12-06T10:00:00Z", seed: { kind: "latest-backup" }, scrub: true,
};
const OWN = { onDemand: SPEC, generated: { "trainwk-database-password": "x".repeat(32), "trainwk-encryption-password": "y".repeat(48) } };

test("the instance's plan: the local stack's choices, one instance at its on-demand address, no backups of its own", (t) => {
  const od = loadOnDemand("local-trainwk", OWN, ROOT, "test");
  t.is(od.plan.instances.length, 1);
  t.like(od.instance, { database: "dhis2_trainwk", databaseUser: "dhis2_trainwk" });
  t.is(od.instance.node.address, "10.231.20.51");
  t.is(od.instance.config.baseUrl, "https://dhis2.local/trainwk");
  t.is(od.instance.config.runtime.display, "2.42.1");
  t.is(od.instance.node.budget.memoryMb, 2048);
  t.false(od.plan.config.backup.enabled);
  t.is(od.plan.topology.database.address, od.country.topology.database.address);
  // its firewall lets the country's proxy in to Tomcat, nothing else from the network
  const host = renderDeployment(od.plan, { secrets: placeholderSecrets(od.plan) }).find((h) => h.host === "trainwk")!;
  const nft = host.files.find((f) => f.path === "/etc/nftables.conf")!.content;
  t.regex(nft, /ip saddr \{ 10\.231\.20\.2 \} tcp dport 8080 accept/);
  t.notRegex(nft, /10\.231\.20\.48\/28/);
  // the stack name must be <from>-<name>, and the country must exist
  t.throws(() => loadOnDemand("other", OWN, ROOT, "test"), { message: /dhis2:onDemand\.name: must make the stack's name other as <from>-<name> \(local-trainwk\)/ });
  t.throws(() => loadOnDemand("nosuch-trainwk", { ...OWN, onDemand: { ...SPEC, from: "nosuch" } }, ROOT, "test"), { message: /dhis2:onDemand\.from: stack file .*Pulumi\.nosuch\.yaml does not exist/ });
  t.throws(() => loadOnDemand("local-trainwk", { ...OWN, onDemand: { ...SPEC, expires: "soon" } }, ROOT, "test"), { message: /dhis2:onDemand\.expires: must be a UTC time/ });
});

test("the raw config: the country's encrypted values are left out, the source's WAR is kept unless the version changes", (t) => {
  const country = { platform: "local", admin: { privateKey: { secure: "v1:abc" }, user: "dhis2" }, instances: [{ name: "production", version: "2.42.1", war: "/srv/a.war", path: "/" }], generated: { x: { secure: "v1:x" } } };
  const same = onDemandRawConfig(country, { onDemand: SPEC }, SPEC).raw!;
  t.deepEqual(same.admin, { user: "dhis2" });
  t.is(same.generated, undefined);
  t.like((same.instances as Record<string, unknown>[])[0], { name: "trainwk", path: "/trainwk", war: "/srv/a.war", version: "2.42.1" });
  const newer = onDemandRawConfig(country, {}, { ...SPEC, version: "2.42.3", war: "/srv/b.war" }).raw!;
  t.like((newer.instances as Record<string, unknown>[])[0], { version: "2.42.3", war: "/srv/b.war" });
});

test("the country's stack accepts on-demand instances: pg_hba sameuser from their /28, the database's firewall, the proxy's include", (t) => {
  const { plan } = loadStackFile(ROOT, "local");
  t.is(plan.topology.onDemand, "10.231.20.48/28");
  const hosts = renderDeployment(plan, { secrets: placeholderSecrets(plan) });
  const db = hosts.find((h) => h.host === "database")!;
  t.regex(db.files.find((f) => f.path.endsWith("pg_hba.conf"))!.content, /^hostssl\s+sameuser\s+all\s+10\.231\.20\.48\/28\s+scram-sha-256$/m);
  t.regex(db.files.find((f) => f.path === "/etc/nftables.conf")!.content, /ip saddr \{ 10\.231\.20\.48\/28 \} tcp dport 5432 accept/);
  const proxy = hosts.find((h) => h.host === "proxy")!;
  t.regex(proxy.files.find((f) => f.path === "/etc/nginx/dhis2/dhis2.local.conf")!.content, /include \/etc\/nginx\/dhis2-ondemand\/\*\.conf;/);
  // the other instances' own database lines are unchanged
  t.regex(db.files.find((f) => f.path.endsWith("pg_hba.conf"))!.content, /hostssl\s+dhis2_production\s+dhis2_production\s+10\.231\.20\.11\/32/);
});

test("the instance's scripts are valid bash and touch only its own database and location", (t) => {
  const od = loadOnDemand("local-trainwk", OWN, ROOT, "test");
  for (const seed of [{ kind: "latest-backup" }, { kind: "backup", id: "1a2b3c4d" }, { kind: "dump", path: "/srv/x.dump" }, { kind: "empty" }] as const) {
    const s = onDemandScripts({ ...od, spec: { ...od.spec, seed } }, { database: "PW", training: "TRAIN" });
    for (const [name, script] of Object.entries(s).filter(([k]) => k !== "url")) {
      const r = spawnSync("bash", ["-n"], { input: script, encoding: "utf8" });
      t.is(r.status, 0, `${seed.kind} ${name}: ${r.stderr}`);
    }
    t.notRegex(s.database, /dhis2_production|dhis2_training/);
    t.regex(s.databaseDrop, /DROP DATABASE IF EXISTS dhis2_trainwk WITH \(FORCE\);\nDROP ROLE IF EXISTS dhis2_trainwk;/);
    t.is((s.databaseDrop.match(/DROP /g) ?? []).length, 2);
  }
  const s = onDemandScripts(od, { database: "PW", training: "TRAIN" });
  t.regex(s.proxyAdd, /location \/trainwk\/ \{\n\s+proxy_pass http:\/\/10\.231\.20\.51:8080;/);
  t.regex(s.proxyAdd, /nginx -t -q/);
  t.is(s.url, "https://dhis2.local/trainwk/");
});

test("scrub on a real PostgreSQL: one training password, no contacts, no outgoing mail, SMS or sync; other data kept", async (t) => {
  const pg = await startThrowawayPostgres({ confD: { path: "/etc/postgresql/15/main/conf.d/dhis2.conf", content: "max_connections = 20\n", mode: "0644", owner: "postgres", group: "postgres" } });
  t.teardown(() => pg.stop());
  const made = await pg.query(`CREATE DATABASE copy;
\\connect copy
CREATE TABLE userinfo (userinfoid bigint PRIMARY KEY, username text NOT NULL, password varchar(60), email text, verifiedemail text UNIQUE, phonenumber text, telegram text, secret text, twofactortype varchar(50) NOT NULL DEFAULT 'TOTP_ENABLED', restoretoken text);
INSERT INTO userinfo SELECT g, 'u' || g, 'old', 'u' || g || '@moh.org', 'u' || g || '@moh.org', '+254' || g, '@u' || g, 'S', 'TOTP_ENABLED', 'tok' FROM generate_series(1, 25) g;
CREATE TABLE systemsetting (systemsettingid bigint PRIMARY KEY, name text UNIQUE, value text);
INSERT INTO systemsetting VALUES (1, 'keyEmailHostName', 'smtp.moh.org'), (2, 'keyEmailPassword', 'enc'), (3, 'keySmsSetting', '{"gateways":[{"password":"p"}]}'), (4, 'keyRemoteInstanceUrl', 'https://central'), (5, 'applicationTitle', 'HMIS');
CREATE TABLE jobconfiguration (jobconfigurationid bigint PRIMARY KEY, jobtype text, enabled boolean);
INSERT INTO jobconfiguration VALUES (1, 'DATA_SYNC', true), (2, 'META_DATA_SYNC', true), (3, 'SMS_SEND', true), (4, 'ANALYTICS_TABLE', true);
CREATE TABLE api_token (id bigint, key text); INSERT INTO api_token VALUES (1, 'd2pat_x');
CREATE TABLE route (id bigint, url text, disabled boolean); INSERT INTO route VALUES (1, 'https://x', false);
CREATE TABLE keyjsonvalue (namespace text, namespacekey text, jbvalue jsonb); INSERT INTO keyjsonvalue VALUES ('sms-config', 'config', '{}'), ('app', 'k', '{}');`);
  t.is(made.code, 0, made.stderr);
  const sql = renderTemplate("ondemand/scrub.sql.hbs", { database: "dhis2_x", source: "production", from: "local", passwordLiteral: sqlLiteral("Training2026") });
  const r = await pg.query(sql, { database: "copy" });
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout.trim(), "scrubbed: 25 logins reset, 0 e-mails left");
  const q = async (s: string) => (await pg.query(s, { database: "copy" })).stdout.trim().split("\n").pop();
  t.is(await q("CREATE EXTENSION pgcrypto; SELECT count(*) FROM userinfo WHERE password = crypt('Training2026', password) AND password LIKE '$2a$10$%'"), "25");
  t.is(await q("SELECT count(*) FROM userinfo WHERE email IS NOT NULL OR verifiedemail IS NOT NULL OR phonenumber IS NOT NULL OR telegram IS NOT NULL OR secret IS NOT NULL OR restoretoken IS NOT NULL OR twofactortype <> 'NOT_ENABLED'"), "0");
  t.is(await q("SELECT string_agg(name, ',') FROM systemsetting"), "applicationTitle");
  t.is(await q("SELECT string_agg(jobtype || '=' || enabled, ',' ORDER BY jobtype) FROM jobconfiguration"), "ANALYTICS_TABLE=true,DATA_SYNC=false,META_DATA_SYNC=false,SMS_SEND=false");
  t.is(await q("SELECT (SELECT count(*) FROM api_token) || ' ' || (SELECT bool_and(disabled) FROM route) || ' ' || (SELECT string_agg(namespace, ',') FROM keyjsonvalue)"), "0 true app");
  // pgcrypto was made for the scrub and removed again (the test made its own afterwards)
  const empty = await pg.query("CREATE DATABASE fresh", {});
  t.is(empty.code, 0, empty.stderr);
  const none = await pg.query(sql, { database: "fresh" });
  t.is(none.stdout.trim(), "scrubbed: no users table yet (an empty database)");
  t.is((await pg.query("SELECT count(*) FROM pg_extension WHERE extname = 'pgcrypto'", { database: "fresh" })).stdout.trim(), "0");
});

test("the rendered create script of a dump seed restores into the instance's role, leaving extensions to the superuser", (t) => {
  const od = loadOnDemand("local-trainwk", { ...OWN, onDemand: { ...SPEC, seed: { kind: "dump", path: "/srv/x.dump" }, scrub: false } }, ROOT, "test");
  const s = onDemandScripts(od, { database: "PW" }).database;
  t.regex(s, /pg_restore --exit-on-error --no-owner --no-privileges --role=dhis2_trainwk -L/);
  t.regex(s, /grep -v -E ' \(EXTENSION\|COMMENT\) - \|COMMENT - EXTENSION\|TABLE DATA public spatial_ref_sys '/);
  t.notRegex(s, /scrubbed: /);
  t.true(fs.existsSync(path.join(ROOT, "templates", "ondemand", "reap.cron.hbs")));
  t.truthy(os.tmpdir());
});

test("pg_hba on a real PostgreSQL: an on-demand role reaches its own database from the on-demand range, and no other", async (t) => {
  // the rendered pg_hba.conf with loopback as the on-demand range (its real one is the country network's /28)
  const hba = renderTemplate("database/pg_hba.conf.hbs", { stack: "local", version: 15, instances: [{ name: "production", database: "dhis2_production", user: "dhis2_production", cidr: "10.231.20.11/32" }], onDemand: "127.0.0.1/32" });
  const pg = await startThrowawayPostgres({
    confD: { path: "/etc/postgresql/15/main/conf.d/dhis2.conf", content: "password_encryption = scram-sha-256\n", mode: "0644", owner: "postgres", group: "postgres" },
    hba: { path: "/etc/postgresql/15/main/pg_hba.conf", content: hba, mode: "0640", owner: "postgres", group: "postgres" },
    sslCert: await makeTestCertificate(["localhost", "127.0.0.1"]),
  });
  t.teardown(() => pg.stop());
  t.true(pg.hbaLoaded);
  t.deepEqual(await pg.hbaErrors(), []);
  const setup = await pg.query("CREATE ROLE dhis2_trainwk LOGIN PASSWORD 'test-only-secret'; CREATE DATABASE dhis2_trainwk OWNER dhis2_trainwk; CREATE DATABASE dhis2_production;");
  t.is(setup.code, 0, setup.stderr);
  const as = (database: string, sslmode = "require") => pg.query("SELECT current_user", { user: "dhis2_trainwk", database, host: "127.0.0.1", password: "test-only-secret", sslmode });
  const own = await as("dhis2_trainwk");
  t.is(own.code, 0, own.stderr);
  t.is(own.stdout.trim(), "dhis2_trainwk");
  for (const other of ["dhis2_production", "postgres"]) {
    const r = await as(other);
    t.not(r.code, 0);
    t.regex(r.stderr, /rejects connection|no pg_hba\.conf entry/);
  }
  const plain = await as("dhis2_trainwk", "disable");
  t.not(plain.code, 0, "without TLS");
});

test("the create script masks the passwords psql quotes in an error (they would reach Pulumi's error message)", (t) => {
  const od = loadOnDemand("local-trainwk", OWN, ROOT, "test");
  const script = onDemandScripts(od, { database: "PW", training: "TRAIN" }).database;
  const fn = script.split("\n").find((l) => l.startsWith("psql_secret()"))!;
  // a psql stand-in failing as psql does: the statement quoted with its password
  const r = spawnSync("bash", ["-c", `psql_su() { echo "ERROR:  syntax error"; echo "LINE 1: ALTER ROLE dhis2_trainwk PASSWORD 'Sup3rSecretValue' CONN" >&2; echo "  hash text := crypt('TrainPw123', gen_salt('bf'))" >&2; return 3; }\n${fn}\npsql_secret -d postgres; rc=$?; sleep 0.2; exit $rc`], { encoding: "utf8" });
  t.is(r.status, 3);
  t.notRegex(r.stderr, /Sup3rSecretValue|TrainPw123/);
  t.regex(r.stderr, /PASSWORD '\[secret\]'/);
  t.regex(r.stderr, /crypt\( '\[secret\]'/);
});
