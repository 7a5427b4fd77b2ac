/**
 * The RENDERED dhis2-backup and dhis2-restore (templates/backup/) run for real: a throwaway
 * PostgreSQL 15 on loopback, restic 0.14 with repositories in temp dirs. Rows and a file are
 * backed up, deleted and restored; the dump has no analytics or resource tables; retention
 * forgets; a backup from another encryption.password is refused; a failing backup writes its
 * failure state and mails. Needs root and `bash tools/install-check-tools.sh` (restic, jq).
 * The scripts' paths are moved into temp dirs by their DHIS2_BACKUP_* variables, which a server
 * never sets. The off-site copy (gofakes3) is tests/backup-offsite.test.ts.
 */
import test from "ava";
import { createHash, randomBytes } from "node:crypto";
import { promises as fsp } from "node:fs";
import * as path from "node:path";

import { backupScripts } from "../lib/roles/backup";
import { file } from "../lib/render/file";
import { joinOutput, makeTempDir, removeTempDir, startThrowawayPostgres, type ThrowawayPostgres } from "./support/realtools";
import { parseList } from "../scripts/lib/restore";
import { backupFixture, type BackupFixture } from "./support/backup";
import { cloudStack, load } from "./support/stacks";

function plan() {
  const raw = cloudStack({ isolation: "vm", cpus: 4, memoryGb: 8, instances: 2 });
  raw.backup = { retention: { daily: 7, weekly: 4, monthly: 12 } };
  return load(raw).plan;
}

const ROWS = 2500;

async function fillDatabase(pg: ThrowawayPostgres, db: string, user: string): Promise<void> {
  const r = await pg.query(`CREATE ROLE "${user}" LOGIN; CREATE DATABASE "${db}" OWNER "${user}";`);
  if (r.code !== 0) throw new Error(joinOutput(r.stdout, r.stderr));
  const t = await pg.query(
    `SET ROLE "${user}";
     CREATE TABLE datavalue (id int PRIMARY KEY, value text NOT NULL);
     INSERT INTO datavalue SELECT g, md5(g::text) FROM generate_series(1, ${ROWS}) g;
     CREATE TABLE analytics_2025 (x int); INSERT INTO analytics_2025 VALUES (1);
     CREATE TABLE _periodstructure (x int); INSERT INTO _periodstructure VALUES (1);`,
    { database: db },
  );
  if (t.code !== 0) throw new Error(joinOutput(t.stdout, t.stderr));
}

/** Row count and a checksum of every row of datavalue. */
async function fingerprint(pg: ThrowawayPostgres, db: string): Promise<string> {
  const r = await pg.query("SELECT count(*) || ' ' || coalesce(md5(string_agg(id || ':' || value, ',' ORDER BY id)), '-') FROM datavalue", { database: db });
  if (r.code !== 0) throw new Error(joinOutput(r.stdout, r.stderr));
  return r.stdout.trim();
}

let pg: ThrowawayPostgres;
let fx: BackupFixture;
const p = plan();
const inst = p.instances[0]!;
const db = inst.database;
const name = inst.config.name;

test.before(async () => {
  pg = await startThrowawayPostgres({ confD: file("/etc/postgresql/15/main/conf.d/dhis2.conf", "# test\n", "0644", "postgres", "postgres") });
  fx = await backupFixture(backupScripts(p, { name: "database", role: "database" }), { PGHOST: pg.socketDir, PGPORT: String(pg.port) });
  for (const i of p.instances) {
    await fillDatabase(pg, i.database, i.databaseUser);
    await fsp.writeFile(path.join(fx.conf, `encryption-${i.config.name}`), `enc-${i.config.name}-password\n`, { mode: 0o600 });
  }
});

test.after.always(async () => {
  await fx?.remove();
  await pg?.stop();
});

test.serial("a database backup, rows deleted, restored: the same rows; no analytics or resource tables in the dump", async (t) => {
  const before = await fingerprint(pg, db);
  t.true(before.startsWith(`${ROWS} `));
  const started = Date.now();
  const b = await fx.backup([]);
  const backupSeconds = (Date.now() - started) / 1000;
  t.is(b.code, 0, joinOutput(b.stdout, b.stderr, await fx.log()));
  const state = await fx.state();
  t.is(state.status, "ok");
  t.true(await fx.exists("last-success"));

  const snaps = await fx.snapshots();
  t.deepEqual(snaps.map((s) => s.paths[0]).sort(), p.instances.map((i) => `/${i.config.name}.dump`).sort());
  const own = snaps.find((s) => s.paths[0] === `/${name}.dump`)!;
  t.true(own.tags.includes(`instance:${name}`));
  t.true(own.tags.some((x) => /^encryption:[0-9a-f]{16}$/.test(x)));

  // the dump's table of contents: datavalue is in it, analytics_* and _* are not
  const toc = await fx.shell(`restic -r "$DHIS2_BACKUP_LOCAL_REPO" dump --path /${name}.dump latest /${name}.dump | pg_restore -l`);
  t.is(toc.code, 0, toc.stderr);
  t.regex(toc.stdout, /TABLE DATA public datavalue/);
  t.notRegex(toc.stdout, /analytics_2025|_periodstructure/);

  const del = await pg.query("DELETE FROM datavalue WHERE id % 3 = 0", { database: db });
  t.is(del.code, 0, del.stderr);
  t.not(await fingerprint(pg, db), before);

  // a dry run says what would be replaced and changes nothing
  const dry = await fx.restore(["--instance", name, "--dry-run"]);
  t.is(dry.code, 0, joinOutput(dry.stdout, dry.stderr));
  t.regex(dry.stdout, new RegExp(`replaces\\s+database ${db}`));
  t.regex(dry.stdout, /dry run: nothing changed/);
  t.not(await fingerprint(pg, db), before);

  // without --yes and without the instance's name typed, nothing happens
  const unconfirmed = await fx.restore(["--instance", name], "no\n");
  t.not(unconfirmed.code, 0);
  t.regex(unconfirmed.stderr, /not confirmed/);

  const rStart = Date.now();
  const r = await fx.restore(["--instance", name], `${name}\n`);
  const restoreSeconds = (Date.now() - rStart) / 1000;
  t.is(r.code, 0, joinOutput(r.stdout, r.stderr));
  t.is(await fingerprint(pg, db), before);
  // the other instance's database was not touched
  t.true((await fingerprint(pg, p.instances[1]!.database)).startsWith(`${ROWS} `));
  // --list: every snapshot with its restore size, and the repository's stored size
  const list = await fx.restore(["--list"]);
  t.is(list.code, 0, list.stderr);
  const lines = list.stdout.trim().split("\n").map((l) => l.split("\t"));
  t.deepEqual(lines.filter((l) => l[0] === "snapshot").map((l) => l[3]).sort(), p.instances.map((i) => `/${i.config.name}.dump`).sort());
  for (const l of lines) t.regex(l.at(-1)!, /^[1-9]\d*$/, l.join(" "));
  t.is(lines.at(-1)![0], "repository");
  // as npm run backups reads it
  const parsed = parseList("database", list.stdout);
  t.is(parsed.backups.length, p.instances.length);
  t.true(parsed.repository!.bytes > 0);
  const size = (await fx.state()).message;
  t.log(`backup of 2 databases: ${backupSeconds.toFixed(1)} s (${size}); restore of one: ${restoreSeconds.toFixed(1)} s (RTO)`);
});

test.serial("a dump made with another encryption.password is refused", async (t) => {
  const key = path.join(fx.conf, `encryption-${name}`);
  await fsp.writeFile(key, "a-new-password\n", { mode: 0o600 });
  await pg.query("DELETE FROM datavalue WHERE id < 10", { database: db });
  const changed = await fingerprint(pg, db);
  const r = await fx.restore(["--instance", name, "--yes"]);
  t.not(r.code, 0);
  t.regex(r.stderr, /another encryption\.password/);
  t.is(await fingerprint(pg, db), changed, "nothing was restored");
  await fsp.writeFile(key, `enc-${name}-password\n`, { mode: 0o600 });
});

test.serial("retention: restic forget keeps one snapshot per day of each database", async (t) => {
  for (let n = 0; n < 2; n++) {
    const b = await fx.backup([]);
    t.is(b.code, 0, joinOutput(b.stdout, b.stderr, await fx.log()));
  }
  const snaps = await fx.snapshots();
  // three backups today; 7 daily / 4 weekly / 12 monthly keep the newest of the day only
  t.is(snaps.filter((s) => s.paths[0] === `/${name}.dump`).length, 1);
  t.regex(await fx.log(), /remove 1 snapshots|removed/i);
});

test.serial("a pre-upgrade dump is taken only when the instance's version changes", async (t) => {
  const first = await fx.backup(["--pre-upgrade", name, "2.41.3"]);
  t.is(first.code, 0, joinOutput(first.stdout, first.stderr, await fx.log()));
  const same = await fx.backup(["--pre-upgrade", name, "2.41.3"]);
  t.is(same.code, 0);
  t.is((await fx.snapshots()).filter((s) => s.tags.includes("pre-upgrade")).length, 0);
  const up = await fx.backup(["--pre-upgrade", name, "2.42.1"]);
  t.is(up.code, 0, joinOutput(up.stdout, up.stderr, await fx.log()));
  const pre = (await fx.snapshots()).filter((s) => s.tags.includes("pre-upgrade"));
  t.is(pre.length, 1);
  t.deepEqual(pre[0]!.paths, [`/${name}.pre-upgrade.dump`]);
  t.true(pre[0]!.tags.includes("from:2.41.3") && pre[0]!.tags.includes("to:2.42.1"));
  // its own log; the nightly run's state is left as it was
  t.regex(await fsp.readFile(path.join(fx.dir, "state", "pre-upgrade.log"), "utf8"), /pre-upgrade dump of production taken \(DHIS2 2\.41\.3 -> 2\.42\.1\)/);
  t.is((await fx.state()).status, "ok");
  const before = await fingerprint(pg, db);
  await pg.query("DELETE FROM datavalue", { database: db });
  const r = await fx.restore(["--instance", name, "--pre-upgrade", "--yes"]);
  t.is(r.code, 0, joinOutput(r.stdout, r.stderr));
  t.is(await fingerprint(pg, db), before);
});

test.serial("a failing backup writes its failure state and mails the alert recipients", async (t) => {
  const before = (await fx.snapshots()).length;
  const b = await fx.backup([], { PGPORT: "1" });
  t.not(b.code, 0);
  t.is((await fx.snapshots()).length, before, "no snapshot of a failed dump is kept");
  const state = await fx.state();
  t.is(state.status, "failed");
  const mail = await fx.mail();
  t.regex(mail, /BACKUP FAILED/);
  t.regex(mail, /ops@example\.org/);
  t.regex(mail, /pg_dump|connection/);
});

test.serial("the file store and dhis.conf: a file deleted and restored has the same checksum", async (t) => {
  const dir = await makeTempDir("filestore", 0o755);
  t.teardown(() => removeTempDir(dir));
  const store = path.join(dir, "files");
  const conf = path.join(dir, "dhis.conf");
  await fsp.mkdir(path.join(store, "document"), { recursive: true });
  const content = randomBytes(300_000);
  const doc = path.join(store, "document", "report.pdf");
  await fsp.writeFile(doc, content);
  await fsp.writeFile(conf, "connection.url = jdbc:postgresql://db/dhis2\nencryption.password = first-password\n", { mode: 0o600 });
  const sum = createHash("sha256").update(content).digest("hex");

  const files = await backupFixture(backupScripts(p, { name, role: "instance" }), {
    DHIS2_BACKUP_FILE_STORE: store, DHIS2_BACKUP_DHIS_CONF: conf, DHIS2_BACKUP_SERVICE_CTL: "true",
  });
  t.teardown(() => files.remove());
  const b = await files.backup([]);
  t.is(b.code, 0, joinOutput(b.stdout, b.stderr, await files.log()));
  await fsp.rm(doc);

  // another encryption.password in dhis.conf now: refused
  await fsp.writeFile(conf, "encryption.password = second-password\n", { mode: 0o600 });
  const refused = await files.restore(["--instance", name, "--yes"]);
  t.not(refused.code, 0);
  t.regex(refused.stderr, /another encryption\.password/);

  await fsp.writeFile(conf, "connection.url = jdbc:postgresql://db/dhis2\nencryption.password = first-password\n", { mode: 0o600 });
  const r = await files.restore(["--instance", name, "--yes"]);
  t.is(r.code, 0, joinOutput(r.stdout, r.stderr));
  t.is(createHash("sha256").update(await fsp.readFile(doc)).digest("hex"), sum);
  // the file store as it was before the restore is kept aside
  t.true((await fsp.readdir(dir)).some((n) => n.startsWith("files.before-restore-")));
});
