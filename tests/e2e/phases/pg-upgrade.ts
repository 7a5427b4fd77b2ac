/**
 * Phase u: a change of dhis2:postgresVersion upgrades the database server's cluster in place, and
 * a downgrade is refused. A container of the LXD image of Debian 12 stands in for a database
 * server that ran PostgreSQL 13 (installed from Debian 11's archive: apt.postgresql.org, where a
 * server of Debian 12 gets 13, cannot be reached here), holding rows, an index and a login.
 * The database's REAL rendered set-up script of a stack asking for PostgreSQL 15 (what Debian 12
 * packages) runs on it as on any server: packages, then pg_upgradecluster. Then the rows, the index
 * and the login are in 15; the old cluster is kept, stopped; a second run changes nothing; the
 * set-up of a stack asking for 13 again is refused, naming the key, before any package.
 */
import { lxdImageAlias } from "../../../lib/os/images";
import { LXD, lxdImagesScript } from "../../../lib/render/lxd";
import { renderDeployment, scriptOf } from "../../../lib/render/hosts";
import { placeholderSecrets } from "../../../lib/render/secrets";
import { declaredStack, load } from "../../support/stacks";
import { assert, check, inContainer, ROOT, run, tail } from "../harness";
import * as path from "node:path";

const NETWORK = { bridge: "dhis2e2eu0", gateway: "10.231.42.1" } as const;
const SERVER = "dhis2-e2eu-database";
const ROWS = 20000;

/** The database server's set-up script of a stack on existing Debian 12 servers asking for this PostgreSQL major. */
function databaseSetup(postgresVersion: number): string {
  const plan = load({ ...declaredStack({ isolation: "vm", cpus: 2, memoryGb: 4 }), os: "debian-12", postgresVersion, backup: { enabled: false } }, "e2e-upgrade").plan;
  const host = renderDeployment(plan, { secrets: placeholderSecrets(plan) }).find((h) => h.role === "database")!;
  return scriptOf(host, "setup");
}

export async function removeUpgradeServer(): Promise<void> {
  await run("lxc", ["delete", "--force", SERVER]);
  await run("lxc", ["network", "delete", NETWORK.bridge]);
}

async function lxc(args: string[]): Promise<void> {
  const r = await run("lxc", args);
  if (r.code !== 0) throw new Error(`lxc ${args.join(" ")}: ${r.stderr}`);
}

/** The "earlier deployment": PostgreSQL 13 with a database, a login with a password, rows and a trigram index. */
const PG13 = `set -e
for i in $(seq 60); do ip -4 route show default | grep -q . && break; sleep 1; done
export DEBIAN_FRONTEND=noninteractive
echo 'deb http://deb.debian.org/debian bullseye main' >/etc/apt/sources.list.d/bullseye.list
printf 'APT::Default-Release "bookworm";\\n' >/etc/apt/apt.conf.d/90default-release
apt-get -qq update && apt-get -qq install -y --no-install-recommends postgresql-13 >/dev/null
pg_lsclusters -h
runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 <<'SQL'
CREATE ROLE dhis2_production LOGIN PASSWORD 'e2e-upgrade-login';
CREATE DATABASE dhis2_production OWNER dhis2_production;
\\c dhis2_production
CREATE EXTENSION pg_trgm;
CREATE TABLE e2e_rows AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, ${ROWS}) g;
CREATE INDEX e2e_rows_trgm ON e2e_rows USING gin (v gin_trgm_ops);
SQL`;

const fingerprint = (port = 5432) => inContainer(SERVER, `runuser -u postgres -- psql -X -qAt -p ${port} -d dhis2_production -c "SELECT current_setting('server_version_num')::int / 10000 || ' ' || count(*) || ' ' || md5(string_agg(id::text || v, ',' ORDER BY id)) FROM e2e_rows"`);

export async function upgradePhase(): Promise<void> {
  await check("u", `dhis2:postgresVersion 13 -> 15 upgrades a server's cluster in place (rendered set-up, pg_upgradecluster): ${ROWS} rows, the trigram index and the login kept; the old cluster kept, stopped; a second run changes nothing`, async () => {
    await removeUpgradeServer();
    const img = await run("bash", ["-s"], { input: lxdImagesScript(), env: { ...process.env, DHIS2_CACHE_DIR: path.join(ROOT, ".cache"), DHIS2_LXD_OS: "debian-12" }, timeoutMs: 30 * 60_000 });
    assert(img.code === 0, `the LXD image of debian-12: ${img.stderr}`);
    await lxc(["network", "create", NETWORK.bridge, `ipv4.address=${NETWORK.gateway}/24`, "ipv4.nat=true", "ipv6.address=none"]);
    await lxc(["init", lxdImageAlias("debian-12"), SERVER, "--profile", LXD.profile]);
    await lxc(["config", "device", "add", SERVER, "eth0", "nic", "name=eth0", `network=${NETWORK.bridge}`]);
    await lxc(["start", SERVER]);
    const made = await inContainer(SERVER, PG13, 15 * 60_000);
    assert(made.code === 0, `PostgreSQL 13 with rows: ${tail(made.stdout + made.stderr)}`);
    const before = (await fingerprint()).stdout.trim();
    assert(before.startsWith(`13 ${ROWS} `), `before: ${before}`);

    const t0 = Date.now();
    const up = await inContainer(SERVER, databaseSetup(15), 30 * 60_000);
    const seconds = (Date.now() - t0) / 1000;
    assert(up.code === 0, `the set-up for PostgreSQL 15 failed (exit ${up.code}): ${tail(up.stdout + up.stderr, 40)}`);
    const after = (await fingerprint()).stdout.trim();
    assert(after === before.replace(/^13 /, "15 "), `after: ${after}, before: ${before}`);
    const state = await inContainer(SERVER, [
      "pg_lsclusters -h | awk '{ print $1, $2, $3, $4 }'",
      "cat /etc/postgresql/13/main/start.conf | grep -v '^#' | grep .",
      `runuser -u postgres -- psql -X -qAt -d dhis2_production -c "SELECT count(*) FROM pg_indexes WHERE indexname = 'e2e_rows_trgm'"`,
      `PGPASSWORD=e2e-upgrade-login psql -X -qAt -h 127.0.0.1 -U dhis2_production -d dhis2_production -c "SELECT 'login ok'"`,
    ].join("; "));
    const lines = state.stdout.trim().split("\n");
    assert(lines.includes("13 main 5433 down") && lines.includes("15 main 5432 online"), `clusters: ${state.stdout}${state.stderr}`);
    assert(lines.includes("manual"), `the old cluster starts at boot: ${state.stdout}`);
    assert(lines.includes("1") && lines.includes("login ok"), `index or login: ${state.stdout}${state.stderr}`);

    const again = await inContainer(SERVER, databaseSetup(15), 15 * 60_000);
    assert(again.code === 0 && !/upgrading PostgreSQL/.test(again.stderr), `second run: ${tail(again.stdout + again.stderr)}`);
    assert((await fingerprint()).stdout.trim() === after, "the second run changed the rows");
    return `upgraded in ${seconds.toFixed(1)} s (packages of 15 and the upgrade); ${after.split(" ")[1]} rows and their md5 equal, index and login kept; ${lines.filter((l) => / main /.test(l)).join(", ")}; old cluster start.conf manual`;
  });
  await check("u", "dhis2:postgresVersion 15 -> 13 (a downgrade) is refused by the set-up before any package or repository, naming the key; PostgreSQL 15 keeps running", async () => {
    const down = await inContainer(SERVER, databaseSetup(13), 10 * 60_000);
    assert(down.code !== 0, `the downgrade ran: ${tail(down.stdout + down.stderr)}`);
    assert(/dhis2:postgresVersion 13: .*PostgreSQL 15's.*Allowed: 15 or higher/.test(down.stderr), `message: ${tail(down.stderr)}`);
    const untouched = await inContainer(SERVER, "ls /etc/apt/sources.list.d/; pg_lsclusters -h | awk '{ print $1, $4 }'");
    assert(!/dhis2-postgresql/.test(untouched.stdout) && /^15 online$/m.test(untouched.stdout), `after the refusal: ${untouched.stdout}`);
    const after = (await fingerprint()).stdout.trim();
    assert(after.startsWith(`15 ${ROWS} `), after);
    return down.stderr.trim().split("\n").filter((l) => l.includes("dhis2:postgresVersion")).join(" ");
  });
  await removeUpgradeServer();
}
