/**
 * Phase o: an on-demand training instance of the deployed stack (npm run instance; docs/instances.md).
 *
 * Production's database gets DHIS2's user, setting and job tables with real-looking contacts (the
 * stand-in makes none of them: as DHIS2 2.42's userinfo, systemsetting and jobconfiguration), a
 * backup is made, then `create trainwk --seed latest-backup --scrub` must give an instance that
 * answers through the country's proxy, holds production's rows, has no e-mail or phone left, one
 * training password for every login, no mail server, no sync server and no sync job - while
 * production keeps its rows and contacts and its `pulumi preview` shows no change. Then list, pause
 * (no answer, data kept), resume (same rows), and reap as of a time after its expiry (instance,
 * database, role and location gone; production untouched). Bad requests are refused first, with
 * nothing made. The times of create and reap are printed.
 */
import { assert, check, curl, env, inContainer, planOf, pulumi, record, run, tail, timedUp, url, waitForPing, writeGeneratedSecrets, type E2eStack } from "../harness";

const NAME = "trainwk";
const USERS = 40;

/** npm run instance (scripts/instance.sh) in the run's Pulumi environment. */
const instance = (args: readonly string[], timeoutMs = 30 * 60_000) =>
  run("bash", ["scripts/instance.sh", ...args], { env: env.pulumi, timeoutMs });

export async function onDemandChecks(stack: E2eStack): Promise<void> {
  const db = stack.container("database");
  const sql = (database: string, q: string) => inContainer(db, `runuser -u postgres -- psql -X -qAt -d ${database} -c "${q}"`);
  const fingerprint = async (database: string) => (await sql(database, "SELECT count(*) || ' ' || md5(string_agg(id::text || v, ',' ORDER BY id)) FROM e2e_backup")).stdout.trim();
  const contacts = async (database: string) => (await sql(database, "SELECT count(*) FILTER (WHERE email IS NOT NULL) || ' ' || count(*) FILTER (WHERE phonenumber IS NOT NULL) FROM userinfo")).stdout.trim();
  const from = stack.name;
  const ping = (p: string) => curl(stack, ["-k", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10", url(stack, `${p}/api/ping`)]);

  const seeded = await check("o", `production gets ${USERS} users with e-mails and phones, a mail server, a sync server and a sync job; a backup is made`, async () => {
    const made = await inContainer(db, `runuser -u postgres -- psql -X -qAt -v ON_ERROR_STOP=1 -d dhis2_production <<'SQL'
SET ROLE dhis2_production;
CREATE TABLE IF NOT EXISTS e2e_backup AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 1000) g;
CREATE TABLE IF NOT EXISTS userinfo (userinfoid bigint PRIMARY KEY, username text NOT NULL, password varchar(60), email text, phonenumber text, whatsapp text, twofactortype varchar(50) NOT NULL DEFAULT 'TOTP_ENABLED', secret text);
INSERT INTO userinfo SELECT g, 'user' || g, '$2a$10$abcdefghijklmnopqrstuu', 'user' || g || '@moh.example.org', '+2547000' || g, '+2547000' || g, 'TOTP_ENABLED', 'TOTPSECRET' FROM generate_series(1, ${USERS}) g ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS systemsetting (systemsettingid bigint PRIMARY KEY, name text UNIQUE NOT NULL, value text);
INSERT INTO systemsetting VALUES (1, 'keyEmailHostName', 'smtp.moh.example.org'), (2, 'keyRemoteInstanceUrl', 'https://central.moh.example.org'), (3, 'applicationTitle', 'Production') ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS jobconfiguration (jobconfigurationid bigint PRIMARY KEY, name text, jobtype text, enabled boolean);
INSERT INTO jobconfiguration VALUES (1, 'sync', 'DATA_SYNC', true), (2, 'analytics', 'ANALYTICS_TABLE', true) ON CONFLICT DO NOTHING;
SQL`);
    assert(made.code === 0, made.stderr);
    const b = await inContainer(db, "dhis2-backup", 15 * 60_000);
    assert(b.code === 0, `dhis2-backup: ${tail(b.stdout + b.stderr)}`);
    return `production: ${await contacts("dhis2_production")} (e-mails, phones), e2e_backup ${await fingerprint("dhis2_production")}`;
  });
  if (!seeded) return;

  await check("o", "bad requests are refused before anything is made, naming the option and what is allowed", async () => {
    const cases: [string[], RegExp][] = [
      [["create", "x1", "--from", "nosuchstack"], /stack file .*Pulumi\.nosuchstack\.yaml does not exist/],
      [["create", "production", "--from", from], /NAME: is taken in stack/],
      [["create", "x2", "--from", from, "--ttl", "0h"], /--ttl: must be a positive duration/],
      [["create", "x3", "--from", from, "--seed", "backup", "deadbeef"], /--seed: no backup deadbeef/],
      [["create", "x4", "--from", from, "--size", "huge"], /--size: must be small/],
    ];
    const out: string[] = [];
    for (const [args, want] of cases) {
      const r = await instance(args, 5 * 60_000);
      assert(r.code === 2 && want.test(r.stderr), `${args.join(" ")}: exit ${r.code}, wanted ${want}: ${tail(r.stdout + r.stderr, 12)}`);
      out.push(`${args.slice(1).join(" ")} -> ${(r.stderr.split("\n").find((l) => want.test(l)) ?? "").trim().slice(0, 90)}`);
    }
    const made = await run("lxc", ["list", "--format", "csv", "-c", "n", `dhis2-${from}-x`]);
    assert(made.stdout.trim() === "", `containers made: ${made.stdout}`);
    return out.join("; ");
  });

  let trainingPassword = "";
  const created = await check("o", `npm run instance -- create ${NAME} --from ${from} --seed latest-backup --scrub: it answers through the proxy at /${NAME}`, async () => {
    const t0 = Date.now();
    const r = await instance(["create", NAME, "--from", from, "--seed", "latest-backup", "--scrub", "--ttl", "2h", "--size", "small"]);
    const s = (Date.now() - t0) / 1000;
    assert(r.code === 0, `exit ${r.code}: ${tail(r.stdout + r.stderr, 40)}`);
    trainingPassword = /training password .*: (\S+)$/m.exec(r.stdout)?.[1] ?? "";
    assert(trainingPassword.length === 16, `no training password printed: ${r.stdout}`);
    const answered = await waitForPing(stack, [`/${NAME}`], 300_000);
    assert(answered.ok, answered.detail);
    return `created (seeded from the latest backup, scrubbed) in ${s.toFixed(1)} s; https://${stack.name === "e2e" ? "dhis2.local" : ""}/${NAME}/api/ping 200`;
  });
  if (!created) return;

  await check("o", "the instance holds production's rows; no e-mail or phone left; one training password; no mail server, sync server or sync job", async () => {
    const mine = `dhis2_${NAME}`;
    const [prodRows, rows] = [await fingerprint("dhis2_production"), await fingerprint(mine)];
    assert(rows === prodRows && rows.startsWith("1000 "), `rows ${rows}, production ${prodRows}`);
    assert(await contacts(mine) === "0 0", `contacts left: ${await contacts(mine)}`);
    const pw = await sql(mine, `CREATE EXTENSION IF NOT EXISTS pgcrypto; SELECT count(*) FILTER (WHERE password = crypt('${trainingPassword}', password)) || ' of ' || count(*) || ', 2FA ' || count(*) FILTER (WHERE twofactortype <> 'NOT_ENABLED') FROM userinfo; DROP EXTENSION pgcrypto;`);
    assert(pw.stdout.trim() === `${USERS} of ${USERS}, 2FA 0`, `passwords: ${pw.stdout} ${pw.stderr}`);
    const settings = (await sql(mine, "SELECT string_agg(name, ',' ORDER BY name) FROM systemsetting")).stdout.trim();
    assert(settings === "applicationTitle", `settings left: ${settings}`);
    const jobs = (await sql(mine, "SELECT string_agg(jobtype || '=' || enabled, ',' ORDER BY jobtype) FROM jobconfiguration")).stdout.trim();
    assert(jobs === "ANALYTICS_TABLE=true,DATA_SYNC=false", `jobs: ${jobs}`);
    return `rows ${rows}; e-mails/phones 0 0; ${USERS}/${USERS} logins take the training password; settings left: ${settings}; jobs ${jobs}`;
  });

  await check("o", "production is untouched: its rows and contacts, and pulumi preview --expect-no-changes of its stack", async () => {
    assert(await contacts("dhis2_production") === `${USERS} ${USERS}`, `production contacts: ${await contacts("dhis2_production")}`);
    const p = await pulumi(from, ["preview", "--expect-no-changes", "--non-interactive"]);
    assert(p.code === 0, tail(p.stdout + p.stderr, 30));
    const root = await ping("");
    assert(root.stdout === "200", `production: HTTP ${root.stdout}`);
    return `production ${await fingerprint("dhis2_production")}, contacts ${await contacts("dhis2_production")}, preview: no changes, /api/ping 200`;
  });

  await check("o", "list shows it (source, version, URL, created, expires, size, state)", async () => {
    const r = await instance(["list", "--from", from], 120_000);
    const line = r.stdout.split("\n").find((l) => l.startsWith(`${NAME} `)) ?? "";
    assert(r.code === 0 && line.includes("production") && line.includes(`/${NAME}/`) && /running/.test(line) && line.includes("small"), `list: ${r.stdout} ${r.stderr}`);
    return line.replace(/\s+/g, " ");
  });

  await check("o", "pause stops it (no answer, its database kept); resume brings it back with the same rows", async () => {
    const p = await instance(["pause", NAME, "--from", from], 300_000);
    assert(p.code === 0, tail(p.stdout + p.stderr));
    const down = await ping(`/${NAME}`);
    assert(down.stdout !== "200", `still answering after pause: HTTP ${down.stdout}`);
    const kept = await fingerprint(`dhis2_${NAME}`);
    const r = await instance(["resume", NAME, "--from", from], 300_000);
    assert(r.code === 0, tail(r.stdout + r.stderr));
    const up = await waitForPing(stack, [`/${NAME}`], 300_000);
    assert(up.ok, `after resume: ${up.detail}`);
    const again = await fingerprint(`dhis2_${NAME}`);
    assert(again === kept, `rows after resume ${again}, before ${kept}`);
    return `paused: HTTP ${down.stdout} through the proxy, rows kept (${kept}); resumed: 200, rows ${again}`;
  });

  await check("o", "reap with the expiry passed destroys it and its database, and nothing of the production stack", async () => {
    const later = new Date(Date.now() + 3 * 3600_000).toISOString();
    const dry = await instance(["reap", "--from", from, "--as-of", later, "--dry-run"], 120_000);
    assert(dry.code === 0 && dry.stdout.includes(`would destroy\t${from}-${NAME}`), `dry run: ${dry.stdout} ${dry.stderr}`);
    const t0 = Date.now();
    const r = await instance(["reap", "--from", from, "--as-of", later]);
    const s = (Date.now() - t0) / 1000;
    assert(r.code === 0 && r.stdout.includes(`destroyed\t${from}-${NAME}`), `reap: exit ${r.code}: ${tail(r.stdout + r.stderr, 30)}`);
    const left = await run("lxc", ["list", "--format", "csv", "-c", "n", `dhis2-${from}-${NAME}`]);
    assert(left.stdout.trim() === "", `container left: ${left.stdout}`);
    const dbs = (await sql("postgres", `SELECT count(*) FROM pg_database WHERE datname = 'dhis2_${NAME}'`)).stdout.trim() + (await sql("postgres", `SELECT count(*) FROM pg_roles WHERE rolname = 'dhis2_${NAME}'`)).stdout.trim();
    assert(dbs === "00", `database/role left: ${dbs}`);
    const loc = await inContainer(stack.container("proxy"), `ls /etc/nginx/dhis2-ondemand/`);
    assert(!loc.stdout.includes(NAME), `location left: ${loc.stdout}`);
    const gone = await ping(`/${NAME}`);
    const root = await ping("");
    assert(root.stdout === "200", `production: HTTP ${root.stdout}`);
    assert(await fingerprint("dhis2_production") !== "" && await contacts("dhis2_production") === `${USERS} ${USERS}`, "production changed");
    const p = await pulumi(from, ["preview", "--expect-no-changes", "--non-interactive"]);
    assert(p.code === 0, tail(p.stdout + p.stderr, 30));
    return `reaped in ${s.toFixed(1)} s: container, database, role and location gone (/${NAME}/api/ping now HTTP ${gone.stdout}); production 200, rows and contacts kept, preview no changes`;
  });
}

/**
 * An upgrade rehearsal: DHIS2 2.42.2 on a copy of production (2.42.1), its first start (the
 * migrations) timed by create; then destroy removes it. The source runs a local WAR, so a WAR of
 * the new version is required first.
 */
export async function rehearsalChecks(stack: E2eStack): Promise<void> {
  const from = stack.name;
  const war = planOf(stack).instances[0]!.config.war;
  await check("o", "an upgrade rehearsal: create rehearsal --version 2.42.2 (refused without --war, the source's WAR being a local file) runs and times DHIS2's first start on a copy; destroy removes it", async () => {
    const refused = await instance(["create", "rehearsal", "--from", from, "--version", "2.42.2"], 5 * 60_000);
    assert(refused.code === 2 && /--war: is required with --version 2\.42\.2/.test(refused.stderr), `without --war: exit ${refused.code}: ${tail(refused.stderr, 8)}`);
    const t0 = Date.now();
    const r = await instance(["create", "rehearsal", "--from", from, "--version", "2.42.2", "--war", war, "--seed", "latest-backup", "--ttl", "1h"]);
    const s = (Date.now() - t0) / 1000;
    assert(r.code === 0, `exit ${r.code}: ${tail(r.stdout + r.stderr, 40)}`);
    const first = /DHIS2 2\.42\.2 answered ([\d.]+) s after its start on the copy/.exec(r.stderr);
    assert(first, `no first-start time: ${tail(r.stderr, 10)}`);
    const listed = (await instance(["list", "--from", from], 120_000)).stdout.split("\n").find((l) => l.startsWith("rehearsal ")) ?? "";
    assert(/2\.42\.2/.test(listed), `list: ${listed}`);
    const d0 = Date.now();
    const gone = await instance(["destroy", "rehearsal", "--from", from]);
    const ds = (Date.now() - d0) / 1000;
    assert(gone.code === 0, tail(gone.stdout + gone.stderr, 20));
    const left = await run("lxc", ["list", "--format", "csv", "-c", "n", `dhis2-${from}-rehearsal`]);
    assert(left.stdout.trim() === "", `container left: ${left.stdout}`);
    return `created in ${s.toFixed(1)} s, DHIS2 2.42.2's first start on the copy ${first[1]} s; destroyed in ${ds.toFixed(1)} s`;
  });
}

/** DHIS2_E2E_ONLY=ondemand: the stack deployed, then phase o alone (for working on it; CI runs every phase). */
export async function onDemandAlone(stack: E2eStack): Promise<void> {
  const init = await pulumi(stack.name, ["stack", "init", "--secrets-provider", "passphrase"]);
  assert(init.code === 0, `pulumi stack init failed: ${init.stderr}`);
  await writeGeneratedSecrets(stack.name);
  const up = await timedUp(stack, "first pulumi up (everything created)");
  if (!record("a", "pulumi up creates the whole topology", up.code === 0, up.code === 0 ? `${(up.ms / 1000).toFixed(0)} s` : tail(up.stdout + up.stderr, 40))) return;
  const ready = await waitForPing(stack, [""], 600_000);
  assert(ready.ok, ready.detail);
  await onDemandChecks(stack);
  await rehearsalChecks(stack);
}
