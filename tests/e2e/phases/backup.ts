/**
 * Phase k: backups that restore, on the deployed stack. Rows written to production's database and
 * a file to its file store; the nightly job run now (dhis2-backup on the database and on the
 * instance's container); both deleted; `npm run restore` brings them back (count and checksums
 * compared); the time of each step printed (the restore's is the recovery time).
 */
import { PATHS } from "../../../lib/render/paths";
import { assert, check, env, inContainer, run, tail, waitForPing, type E2eStack } from "../harness";

const ROWS = 1000;

export async function backupChecks(stack: E2eStack): Promise<void> {
  const db = stack.container("database");
  const prod = stack.container("production");
  const sql = (q: string) => inContainer(db, `runuser -u postgres -- psql -X -qAt -d dhis2_production -c "${q}"`);
  const fingerprint = async () => {
    const rows = await sql("SELECT count(*) || ' ' || md5(string_agg(id::text || v, ',' ORDER BY id)) FROM e2e_backup");
    const file = await inContainer(prod, `sha256sum ${PATHS.dhis2FileStore}/e2e/report.txt | cut -d' ' -f1`);
    return { rows: rows.stdout.trim(), file: file.stdout.trim(), errors: rows.stderr + file.stderr };
  };
  await check("k", `backups restore: ${ROWS} rows and a file of production backed up, deleted, restored by npm run restore (count and checksums equal)`, async () => {
    const made = await sql(`CREATE TABLE e2e_backup AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, ${ROWS}) g`);
    assert(made.code === 0, made.stderr);
    const wrote = await inContainer(prod, `install -d -o dhis -g dhis ${PATHS.dhis2FileStore}/e2e && head -c 200000 /dev/urandom | base64 >${PATHS.dhis2FileStore}/e2e/report.txt`);
    assert(wrote.code === 0, wrote.stderr);
    const before = await fingerprint();
    assert(before.rows.startsWith(`${ROWS} `) && /^[0-9a-f]{64}$/.test(before.file), `before: ${JSON.stringify(before)}`);

    const t0 = Date.now();
    for (const c of [db, prod]) {
      const b = await inContainer(c, PATHS.backupCommand, 15 * 60_000);
      assert(b.code === 0, `${c}: dhis2-backup exit ${b.code}: ${tail(b.stdout + b.stderr)}`);
    }
    const backupS = (Date.now() - t0) / 1000;

    const gone = await sql("DROP TABLE e2e_backup");
    assert(gone.code === 0, gone.stderr);
    await inContainer(prod, `rm -rf ${PATHS.dhis2FileStore}/e2e`);

    const t1 = Date.now();
    const r = await run("npx", ["tsx", "scripts/restore.ts", "--stack", stack.name, "--instance", "production", "--yes"], { env: env.pulumi, timeoutMs: 30 * 60_000 });
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
