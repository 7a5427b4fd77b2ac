/**
 * The off-site copy for real: the RENDERED dhis2-backup copies each snapshot to an S3-compatible
 * object store (gofakes3 on loopback, built by tools/gofakes3.sh) with the restic.env the role
 * renders; after the local repository is deleted, dhis2-restore --repo offsite brings the rows
 * back; with the object store stopped, the backup fails and mails. Needs root, restic, jq,
 * PostgreSQL 15 and gofakes3 (`bash tools/install-check-tools.sh`).
 */
import test from "ava";
import { promises as fsp } from "node:fs";
import * as path from "node:path";

import { backupScripts } from "../lib/roles/backup";
import { file } from "../lib/render/file";
import { renderDeployment } from "../lib/render/hosts";
import { placeholderSecrets } from "../lib/render/secrets";
import { backupFixture, startFakeS3 } from "./support/backup";
import { joinOutput, startThrowawayPostgres } from "./support/realtools";
import { cloudStack, load } from "./support/stacks";

test("off-site: backed up to the object store, restored from it after the local copy is lost; a stopped store is a failure mail", async (t) => {
  const s3 = await startFakeS3();
  t.teardown(() => s3.stop());
  const raw = cloudStack({ isolation: "vm", cpus: 4, memoryGb: 8, instances: 1 });
  raw.backup = { offsite: { repository: `s3:${s3.endpoint}/dhis2-backups/test-stack`, accessKeyId: "test-key-id", secretAccessKey: "test-secret-key" } };
  const plan = load(raw).plan;
  const inst = plan.instances[0]!;
  const name = inst.config.name;
  const placeholders = placeholderSecrets(plan);
  const dbHost = renderDeployment(plan, { secrets: placeholders }).find((h) => h.host === "database")!;
  const env = dbHost.files.find((f) => f.path === "/etc/dhis2-backup/restic.env")!;
  t.true(env.secret === true && env.mode === "0600");

  const pg = await startThrowawayPostgres({ confD: file("/etc/postgresql/15/main/conf.d/dhis2.conf", "# test\n", "0644", "postgres", "postgres") });
  t.teardown(() => pg.stop());
  const q = async (sql: string, database = "postgres") => {
    const r = await pg.query(sql, { database });
    if (r.code !== 0) throw new Error(joinOutput(r.stdout, r.stderr));
    return r.stdout.trim();
  };
  await q(`CREATE ROLE "${inst.databaseUser}" LOGIN; CREATE DATABASE "${inst.database}" OWNER "${inst.databaseUser}";`);
  await q("CREATE TABLE datavalue (id int PRIMARY KEY, value text); INSERT INTO datavalue SELECT g, md5(g::text) FROM generate_series(1, 4000) g;", inst.database);
  const rows = () => q("SELECT count(*) || ' ' || md5(coalesce(string_agg(value, ',' ORDER BY id), '')) FROM datavalue", inst.database);
  const before = await rows();

  const fx = await backupFixture(backupScripts(plan, { name: "database", role: "database" }), { PGHOST: pg.socketDir, PGPORT: String(pg.port) });
  t.teardown(() => fx.remove());
  await fsp.writeFile(path.join(fx.conf, "restic.env"), env.content.split(placeholders.offsiteSecretAccessKey!).join("test-secret-key"), { mode: 0o600 });
  await fsp.writeFile(path.join(fx.conf, `encryption-${name}`), "the-encryption-password\n", { mode: 0o600 });

  const started = Date.now();
  const b = await fx.backup([]);
  t.is(b.code, 0, joinOutput(b.stdout, b.stderr, await fx.log()));
  const backupSeconds = (Date.now() - started) / 1000;
  const offsiteRepo = `s3:${s3.endpoint}/dhis2-backups/test-stack`;
  const s3env = { AWS_ACCESS_KEY_ID: "test-key-id", AWS_SECRET_ACCESS_KEY: "test-secret-key" };
  const offsite = await fx.shell(`restic -r "${offsiteRepo}" snapshots --json`, s3env);
  t.is(offsite.code, 0, offsite.stderr);
  const snaps = JSON.parse(offsite.stdout) as { paths: string[] }[];
  t.deepEqual(snaps.map((s) => s.paths[0]), [`/${name}.dump`]);
  const listed = await fx.restore(["--list", "--repo", "offsite"]);
  t.is(listed.code, 0, listed.stderr);
  t.regex(listed.stdout, new RegExp(`^snapshot\\t[0-9a-f]{8}\\t\\S+\\t/${name}\\.dump\\t[1-9]`, "m"));
  t.regex(listed.stdout, /^repository\toffsite\ts3:http:\/\/127\.0\.0\.1:\d+\/dhis2-backups\/test-stack\t[1-9]/m);

  // the local copy is lost with its server; the rows are deleted
  await fsp.rm(path.join(fx.dir, "repo"), { recursive: true });
  await q("DELETE FROM datavalue", inst.database);
  const local = await fx.restore(["--instance", name, "--yes"]);
  t.not(local.code, 0, "nothing to restore from the lost local repository");
  const rStart = Date.now();
  const r = await fx.restore(["--instance", name, "--repo", "offsite", "--yes"]);
  t.is(r.code, 0, joinOutput(r.stdout, r.stderr));
  t.is(await rows(), before);
  t.log(`backup with off-site copy: ${backupSeconds.toFixed(1)} s; restore from the object store: ${((Date.now() - rStart) / 1000).toFixed(1)} s (RTO)`);

  // the object store stopped: the backup fails and says so by mail
  await s3.stop();
  const failed = await fx.backup([]);
  t.not(failed.code, 0);
  t.is((await fx.state()).status, "failed");
  t.regex(await fx.mail(), /BACKUP FAILED/);
});
