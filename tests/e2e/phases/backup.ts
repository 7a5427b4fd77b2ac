/**
 * Phase k: backups that restore, on the deployed stack. Rows written to production's database and
 * a file to its file store; the nightly job run now (dhis2-backup on the database and on the
 * instance's container); both deleted; `npm run restore` brings them back (count and checksums
 * compared); the time of each step printed (the restore's is the recovery time).
 *
 * Then one `pulumi up` adds the off-site copy (an S3-compatible object store, gofakes3, on the
 * stack's bridge address) and a new DHIS2 version for production: the preview shows the
 * pre-upgrade dump, which is made before the new version starts. The backups go to the object
 * store; with both local repositories deleted, `npm run restore --repo offsite` brings the rows and
 * the file back; with the object store stopped, a backup fails and its alert reaches the SMTP sink.
 */
import * as fs from "node:fs";
import { parseDocument } from "yaml";
import { localRepository } from "../../../lib/roles/backup";
import { PATHS } from "../../../lib/render/paths";
import { startFakeS3, type FakeS3 } from "../../support/backup";
import { assert, check, env, inContainer, pulumi, run, tail, timedUp, waitForPing, type E2eStack } from "../harness";
import type { SmtpSink } from "../smtp-sink";
import { stackFile } from "../stacks";

const ROWS = 1000;

/** The production instance's rows (table e2e_backup) and file, as the checks compare them. */
function production(stack: E2eStack) {
  const db = stack.container("database");
  const prod = stack.container("production");
  const sql = (q: string) => inContainer(db, `runuser -u postgres -- psql -X -qAt -d dhis2_production -c "${q}"`);
  const fingerprint = async () => {
    const rows = await sql("SELECT count(*) || ' ' || md5(string_agg(id::text || v, ',' ORDER BY id)) FROM e2e_backup");
    const file = await inContainer(prod, `sha256sum ${PATHS.dhis2FileStore}/e2e/report.txt | cut -d' ' -f1`);
    return { rows: rows.stdout.trim(), file: file.stdout.trim(), errors: rows.stderr + file.stderr };
  };
  const backupBoth = async () => {
    for (const c of [db, prod]) {
      const b = await inContainer(c, PATHS.backupCommand, 15 * 60_000);
      assert(b.code === 0, `${c}: dhis2-backup exit ${b.code}: ${tail(b.stdout + b.stderr)}`);
    }
  };
  const restore = (extra: string[] = []) => run("npx", ["tsx", "scripts/restore.ts", "--stack", stack.name, "--instance", "production", "--yes", ...extra], { env: env.pulumi, timeoutMs: 30 * 60_000 });
  return { db, prod, sql, fingerprint, backupBoth, restore };
}

export async function backupChecks(stack: E2eStack): Promise<void> {
  const { prod, sql, fingerprint, backupBoth, restore } = production(stack);
  await check("k", `backups restore: ${ROWS} rows and a file of production backed up, deleted, restored by npm run restore (count and checksums equal)`, async () => {
    const made = await sql(`CREATE TABLE e2e_backup AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, ${ROWS}) g`);
    assert(made.code === 0, made.stderr);
    const wrote = await inContainer(prod, `install -d -o dhis -g dhis ${PATHS.dhis2FileStore}/e2e && head -c 200000 /dev/urandom | base64 >${PATHS.dhis2FileStore}/e2e/report.txt`);
    assert(wrote.code === 0, wrote.stderr);
    const before = await fingerprint();
    assert(before.rows.startsWith(`${ROWS} `) && /^[0-9a-f]{64}$/.test(before.file), `before: ${JSON.stringify(before)}`);

    const t0 = Date.now();
    await backupBoth();
    const backupS = (Date.now() - t0) / 1000;

    const gone = await sql("DROP TABLE e2e_backup");
    assert(gone.code === 0, gone.stderr);
    await inContainer(prod, `rm -rf ${PATHS.dhis2FileStore}/e2e`);

    const t1 = Date.now();
    const r = await restore();
    const restoreS = (Date.now() - t1) / 1000;
    assert(r.code === 0, `npm run restore exit ${r.code}: ${tail(r.stdout + r.stderr, 40)}`);
    // DHIS2 was started again: the recovery ends when it answers through the proxy
    const answered = await waitForPing(stack, [""], 600_000);
    const answerS = (Date.now() - t1) / 1000;
    assert(answered.ok, `production does not answer after the restore: ${answered.detail}`);
    const after = await fingerprint();
    assert(after.rows === before.rows && after.file === before.file, `after the restore: ${JSON.stringify(after)}, before: ${JSON.stringify(before)}`);
    return `backup of the database and production ${backupS.toFixed(1)} s; restore (DHIS2 stopped, database and file store restored, started) ${restoreS.toFixed(1)} s, answering again after ${answerS.toFixed(1)} s (RTO); ${before.rows.split(" ")[0]} rows and the file's sha256 equal`;
  });
}

/** The object store's port on the stack's bridge address (the SMTP sink listens there too). */
const OFFSITE_PORT = 9000;

/** The off-site copy, a pre-upgrade dump and a failing backup's alert (see the top of the file). */
export async function offsiteChecks(stack: E2eStack, sink: SmtpSink, gateway: string): Promise<void> {
  const { db, prod, sql, fingerprint, backupBoth, restore } = production(stack);
  let s3: FakeS3 = await startFakeS3({ host: gateway, port: OFFSITE_PORT });
  try {
    const repository = `s3:${s3.endpoint}/dhis2-e2e/backups`;
    const version = "2.42.2";
    const ok = await check("k", `one pulumi up adds the off-site copy and DHIS2 ${version} for production: the preview shows the pre-upgrade dump, made before the new version starts`, async () => {
      const doc = parseDocument(fs.readFileSync(stackFile(stack.name), "utf8"));
      doc.setIn(["config", "dhis2:backup"], doc.createNode({ offsite: { repository, accessKeyId: "e2e-access-key" } }));
      doc.setIn(["config", "dhis2:instances", 0, "version"], version);
      fs.writeFileSync(stackFile(stack.name), doc.toString());
      const set = await pulumi(stack.name, ["config", "set", "--secret", "--path", "dhis2:backup.offsite.secretAccessKey"], 120_000, "e2e-secret-access-key");
      assert(set.code === 0, set.stderr);
      const preview = await pulumi(stack.name, ["preview", "--diff"]);
      assert(preview.code === 0, tail(preview.stdout + preview.stderr));
      const shown = preview.stdout.split("\n").find((l) => l.includes(`--pre-upgrade production ${version}`));
      assert(shown, `the preview does not show the pre-upgrade dump:\n${tail(preview.stdout, 40)}`);
      const up = await timedUp(stack, `pulumi up: the off-site copy and DHIS2 ${version} for production`);
      assert(up.code === 0, tail(up.stdout + up.stderr, 40));
      const snaps = await inContainer(db, `RESTIC_PASSWORD_FILE=${PATHS.backupConf}/password restic -r ${localRepository({ role: "database" })} snapshots --json --tag pre-upgrade`);
      const dump = (JSON.parse(snaps.stdout || "[]") as { time: string; tags?: string[] }[]).find((x) => x.tags?.includes(`to:${version}`));
      assert(dump, `no pre-upgrade snapshot to ${version}: ${snaps.stdout} ${snaps.stderr}`);
      const started = await inContainer(prod, "date -d \"$(systemctl show -p ActiveEnterTimestamp --value dhis2)\" +%s");
      const [dumpAt, startAt] = [Date.parse(dump.time) / 1000, Number(started.stdout.trim())];
      assert(dumpAt < startAt, `the dump (${dump.time}) is not older than DHIS2's start (${started.stdout.trim()})`);
      return `preview: "${shown.trim().slice(0, 120)}"; the dump ${(startAt - dumpAt).toFixed(0)} s before DHIS2 ${version} started (tags ${dump.tags?.join(" ")})`;
    });
    if (!ok) return;
    await check("k", "off-site: the backups of the database and production are in the object store; with both local repositories deleted, npm run restore --repo offsite brings the rows and the file back", async () => {
      const t0 = Date.now();
      await backupBoth();
      const backupS = (Date.now() - t0) / 1000;
      const listed = await inContainer(db, `${PATHS.restoreCommand} --list --repo offsite`);
      assert(listed.code === 0 && /^snapshot\t[0-9a-f]{8}\t\S+\t\/production\.dump\t/m.test(listed.stdout), `off-site list: ${listed.stdout} ${listed.stderr}`);
      const before = await fingerprint();
      assert((await sql("DROP TABLE e2e_backup")).code === 0, "drop");
      await inContainer(prod, `rm -rf ${PATHS.dhis2FileStore}/e2e`);
      await inContainer(db, `rm -rf ${localRepository({ role: "database" })}`);
      await inContainer(prod, `rm -rf ${localRepository({ role: "instance" })}`);
      const t1 = Date.now();
      const r = await restore(["--repo", "offsite"]);
      const restoreS = (Date.now() - t1) / 1000;
      assert(r.code === 0, `npm run restore --repo offsite exit ${r.code}: ${tail(r.stdout + r.stderr, 40)}`);
      const answered = await waitForPing(stack, [""], 600_000);
      assert(answered.ok, `production does not answer after the restore: ${answered.detail}`);
      const after = await fingerprint();
      assert(after.rows === before.rows && after.file === before.file, `after: ${JSON.stringify(after)}, before: ${JSON.stringify(before)}`);
      // the next backups make the local repositories again
      await backupBoth();
      return `backup with the off-site copy ${backupS.toFixed(1)} s; restore from the object store ${restoreS.toFixed(1)} s; ${before.rows.split(" ")[0]} rows and the file's sha256 equal`;
    });
    await check("k", "a backup with the object store stopped fails, and its alert mail reaches the SMTP sink", async () => {
      await s3.stop();
      const from = sink.messages.length;
      const failed = await inContainer(db, PATHS.backupCommand, 10 * 60_000);
      assert(failed.code !== 0, `dhis2-backup succeeded without its object store: ${tail(failed.stdout)}`);
      // postfix tries a relay it found away again within its backoff (templates/common/main.cf.hbs: at most 5 minutes)
      const t0 = Date.now();
      const mail = await sink.waitFor((m) => m.data.includes(`[DHIS2 ${stack.name}] BACKUP FAILED`), 420_000, from);
      assert(mail, "no BACKUP FAILED mail in 7 minutes");
      const mailS = (Date.now() - t0) / 1000;
      // the object store back (empty: gofakes3 keeps nothing), and a good backup, for what follows
      s3 = await startFakeS3({ host: gateway, port: OFFSITE_PORT });
      const again = await inContainer(db, PATHS.backupCommand, 15 * 60_000);
      assert(again.code === 0, `the next backup: ${tail(again.stdout + again.stderr)}`);
      return `dhis2-backup exit ${failed.code}; "${/^Subject: (.*)$/m.exec(mail.data)?.[1] ?? "?"}" to ${mail.rcptTo.join(", ")} after ${mailS.toFixed(0)} s; the next backup, with the store back, succeeded`;
    });
  } finally {
    await s3.stop();
  }
}
