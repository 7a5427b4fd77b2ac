/**
 * Phase i: platform `existing`. LXD containers running sshd, on a network of their own that this
 * phase makes, stand in for a data centre's servers (proxy, database, monitor, one instance); the
 * stack `e2e-existing` converges every role on them over SSH through the proxy as bastion, with
 * pinned host keys, then: https reaches the instance, which talks to PostgreSQL over TLS with
 * dhis.conf's login; SHOW = plan; SSH flows; an alert; secrets; `npm run status` over SSH; a
 * second preview changes nothing.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { LXD, lxdImagesScript } from "../../../lib/render/lxd";
import { lxdImageAlias, type OsId } from "../../../lib/os/images";
import { PATHS } from "../../../lib/render/paths";
import { PORTS } from "../../../lib/plan/topology";
import { writeGeneratedSecrets,
  assert, check, compareSettings, connects, DOMAIN, env, generatedSecrets, inContainer, pulumi, record, removeStack, run, secretsInState,
  ROOT, tail, timedUp, WORK,
} from "../harness";
import { loadStackFile } from "../../../lib/load";
import { checkDatabaseRuntime, checkInstanceRuntime, standInRuntime, type StandInRuntime } from "../runtime";
import type { Artifacts } from "../stacks";
import { startSmtpSink } from "../smtp-sink";
import { stackFile, writeStack } from "../stacks";

export const EXISTING = "e2e-existing";
/** The "data centre": its own LXD network, made and removed by this phase. */
const NETWORK = { bridge: "dhis2e2ex0", gateway: "10.231.41.1", cidr: "10.231.41.0/24" } as const;
const SERVERS = { proxy: "10.231.41.2", production: "10.231.41.11", database: "10.231.41.20", monitor: "10.231.41.30" } as const;
/** What the data centre installed: PostgreSQL 13 and DHIS2 2.40 on Tomcat 9 want Debian 11 (bullseye). */
const SERVER_OS: Record<keyof typeof SERVERS, OsId> = { proxy: "debian-12", production: "debian-11", database: "debian-11", monitor: "debian-12" };
const serverName = (role: string) => `dhis2-e2ex-${role}`;
/** A command on one of the "servers", as root (the test's own look, not the toolkit's SSH path). */
const onServer = (role: string, script: string) => inContainer(serverName(role), script);

export async function removeExisting(): Promise<void> {
  await removeStack(EXISTING, "dhis2-e2ex-");
  await run("lxc", ["network", "delete", NETWORK.bridge]);
  fs.rmSync(stackFile(EXISTING), { force: true });
}

/** Start the servers: sshd, the admin user with the test's key, sudo without password. */
async function makeServers(publicKey: string): Promise<Record<string, string>> {
  const hostKeys: Record<string, string> = {};
  // the images of the servers' systems, as the LXD platform builds them (once per machine, cached):
  // on a new machine only Debian 12's exists
  for (const os of [...new Set(Object.values(SERVER_OS))].sort()) {
    const t0 = Date.now();
    const r = await run("bash", ["-s"], { input: lxdImagesScript(), env: { ...process.env, DHIS2_CACHE_DIR: path.join(ROOT, ".cache"), DHIS2_LXD_OS: os }, timeoutMs: 30 * 60_000 });
    if (r.code !== 0) throw new Error(`the LXD image of ${os}: ${r.stderr}`);
    console.log(`  LXD image of ${os} ready in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
  const net = await run("lxc", ["network", "create", NETWORK.bridge, `ipv4.address=${NETWORK.gateway}/24`, "ipv4.nat=true", "ipv6.address=none"]);
  if (net.code !== 0) throw new Error(`lxc network create ${NETWORK.bridge}: ${net.stderr}`);
  await Promise.all(Object.entries(SERVERS).map(async ([role, address]) => {
    const name = serverName(role);
    for (const args of [["init", lxdImageAlias(SERVER_OS[role as keyof typeof SERVERS]), name, "--profile", LXD.profile], ["config", "device", "add", name, "eth0", "nic", "name=eth0", `network=${NETWORK.bridge}`, `ipv4.address=${address}`], ["start", name]]) {
      const r = await run("lxc", args);
      if (r.code !== 0) throw new Error(`lxc ${args.join(" ")}: ${r.stderr}`);
    }
    const script = [
      "set -e",
      "for i in $(seq 60); do ip -4 route show default | grep -q . && break; sleep 1; done",
      "export DEBIAN_FRONTEND=noninteractive",
      "apt-get -qq update && apt-get -qq install -y --no-install-recommends openssh-server sudo >/dev/null",
      "id dhis2admin >/dev/null 2>&1 || adduser --quiet --disabled-password --gecos '' dhis2admin",
      "install -d -m 0700 -o dhis2admin -g dhis2admin /home/dhis2admin/.ssh",
      `printf '%s\\n' '${publicKey}' >/home/dhis2admin/.ssh/authorized_keys`,
      "chown dhis2admin: /home/dhis2admin/.ssh/authorized_keys && chmod 0600 /home/dhis2admin/.ssh/authorized_keys",
      "echo 'dhis2admin ALL=(ALL) NOPASSWD:ALL' >/etc/sudoers.d/dhis2admin && chmod 0440 /etc/sudoers.d/dhis2admin",
      "printf 'PasswordAuthentication no\\nPermitRootLogin no\\n' >/etc/ssh/sshd_config.d/50-e2e.conf",
      "systemctl restart ssh",
      "cut -d' ' -f1,2 /etc/ssh/ssh_host_ed25519_key.pub",
    ].join("\n");
    const r = await run("lxc", ["exec", name, "--", "bash", "-c", script], { timeoutMs: 300_000 });
    if (r.code !== 0) throw new Error(`${name}: ${r.stderr}`);
    hostKeys[role] = r.stdout.trim().split("\n").pop()!;
  }));
  return hostKeys;
}

function writeExistingStack(artifacts: Artifacts, publicKey: string, hostKeys: Record<string, string>): void {
  const server = (role: keyof typeof SERVERS) => ({ address: SERVERS[role], hostKey: hostKeys[role] });
  writeStack(EXISTING, "LXD containers with sshd as existing servers, with the test's STAND-INS.", {
    "dhis2:platform": "existing",
    "dhis2:isolation": "vm",
    "dhis2:domain": DOMAIN,
    "dhis2:testStack": true,
    // PostgreSQL 13 and DHIS2 2.40 on Tomcat 9 (javax): what Debian 11 packages
    "dhis2:os": { default: "debian-12", database: SERVER_OS.database },
    "dhis2:postgresVersion": 13,
    "dhis2:network": { cidr: NETWORK.cidr },
    "dhis2:sizes": {
      database: { cpus: 2, memoryGb: 4 }, instance: { cpus: 2, memoryGb: 3 }, proxy: { cpus: 1, memoryGb: 1 }, monitor: { cpus: 1, memoryGb: 1 },
    },
    "dhis2:instances": [{ name: "production", version: "2.40.4", os: SERVER_OS.production, path: "/", war: artifacts.warJavax, trackerSearch: { attributes: ["w75KJ2mc4zz"] } }],
    "dhis2:servers": { proxy: server("proxy"), database: server("database"), monitor: server("monitor"), instances: { production: server("production") } },
    "dhis2:tls": { mode: "self-signed" },
    "dhis2:admin": { user: "dhis2admin", sshKeys: [publicKey], allowedCidrs: [`${NETWORK.gateway}/32`] },
    "dhis2:monitoring": { glowrootArchive: artifacts.glowroot },
    "dhis2:alerts": { recipients: ["alerts@dhis2.local"], from: "dhis2-alerts@dhis2.local", smtp: { host: NETWORK.gateway, port: 2525, security: "none" } },
  });
}

export async function existingPhase(artifacts: Artifacts): Promise<void> {
  const keyFile = path.join(WORK, "id_ed25519");
  fs.rmSync(keyFile, { force: true });
  fs.rmSync(`${keyFile}.pub`, { force: true });
  const kg = await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "dhis2-e2e", "-f", keyFile]);
  assert(kg.code === 0, `ssh-keygen: ${kg.stderr}`);
  const publicKey = fs.readFileSync(`${keyFile}.pub`, "utf8").trim();
  const hostKeys = await makeServers(publicKey);
  writeExistingStack(artifacts, publicKey, hostKeys);
  const init = await pulumi(EXISTING, ["stack", "init", "--secrets-provider", "passphrase"], 60_000);
  assert(init.code === 0, `stack init: ${init.stderr}`);
  await writeGeneratedSecrets(EXISTING);
  // the private key goes in as a secret, on stdin (never in a process argument)
  const set = await pulumi(EXISTING, ["config", "set", "--path", "--secret", "dhis2:admin.privateKey"], 60_000, fs.readFileSync(keyFile, "utf8"));
  assert(set.code === 0, `config set: ${set.stderr}`);
  assert(!fs.readFileSync(stackFile(EXISTING), "utf8").includes("PRIVATE KEY"), "the private key is in the stack file in plain text");
  const sink = await startSmtpSink(NETWORK.gateway, 2525);
  try {
    const up = await timedUp(EXISTING, "pulumi up on existing servers over SSH (4 servers)");
    if (!record("i", "pulumi up converges existing servers over SSH, through the proxy as bastion, host keys pinned", up.code === 0,
      up.code === 0 ? `${(up.ms / 1000).toFixed(0)} s` : tail(up.stdout + up.stderr, 40))) return;
    let runtime: StandInRuntime | undefined;
    const via = (p: string) => ["-k", "--max-time", "20", "--resolve", `${DOMAIN}:443:${SERVERS.proxy}`, `https://${DOMAIN}${p}`];
    await check("i", "https on the proxy server reaches the instance; it is connected to PostgreSQL with dhis.conf's login over TLS", async () => {
      let info = "";
      for (let i = 0; i < 60 && !info.includes("databaseInfo"); i++) {
        info = (await run("curl", ["-sS", ...via("/api/system/info")], { timeoutMs: 30_000 })).stdout;
        if (!info.includes("databaseInfo")) await new Promise((r) => setTimeout(r, 3000));
      }
      const db = (JSON.parse(info) as { databaseInfo: { user: string; name: string; ssl: boolean; serverAddress: string } }).databaseInfo;
      const conf = await onServer("production", `grep '^connection.username' ${PATHS.dhis2Home}/dhis.conf`);
      assert(conf.stdout.trim() === `connection.username = ${db.user}`, `dhis.conf: ${conf.stdout.trim()}, connected as ${db.user}`);
      assert(db.name === "dhis2_production" && db.ssl && db.serverAddress === SERVERS.database, JSON.stringify(db));
      runtime = standInRuntime(info);
      return `user ${db.user}, database ${db.name}, TLS, server ${db.serverAddress}`;
    });
    await check("i", "what ran, read from the servers: PostgreSQL 13 on Debian 11; DHIS2 2.40 on Debian 11's Tomcat 9 (javax) with JDK 17", async () => {
      assert(runtime, "no /api/system/info from the instance");
      const plan = loadStackFile(ROOT, EXISTING).plan;
      const db = await checkDatabaseRuntime(EXISTING, plan, serverName("database"));
      const inst = await checkInstanceRuntime(EXISTING, plan, "production", serverName("production"), runtime);
      return `database: ${db}; production: ${inst}`;
    });
    await check("i", "PostgreSQL on the database server: SHOW equals the plan; postgis, pg_trgm, btree_gin and the search index exist", async () => {
      const detail = await compareSettings(EXISTING, serverName("database"));
      const r = await onServer("database",
        `runuser -u postgres -- psql -X -qAt -d dhis2_production -c "SELECT (SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension WHERE extname IN ('postgis','pg_trgm','btree_gin')) || ' ' || (SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'in_toolkit_teav_trgm_%')"`);
      assert(r.stdout.trim() === "btree_gin,pg_trgm,postgis 1", r.stdout + r.stderr);
      return detail;
    });
    await check("i", "SSH only to the proxy from the admin network, to the others only through the proxy; the database only from the instance", async () => {
      const flows: [string, string, number, boolean][] = [
        ["host", SERVERS.proxy, 22, true],
        ["host", SERVERS.database, 22, false],
        ["host", SERVERS.production, 22, false],
        ["proxy", SERVERS.database, 22, true],
        ["production", SERVERS.database, 5432, true],
        ["host", SERVERS.database, 5432, false],
        ["proxy", SERVERS.database, 5432, false],
        ["proxy", SERVERS.production, PORTS.tomcat, true],
        ["host", SERVERS.production, PORTS.tomcat, false],
      ];
      const wrong: string[] = [];
      for (const [from, to, port, allowed] of flows) {
        const ok = await connects(from === "host" ? "host" : serverName(from), to, port);
        if (ok !== allowed) wrong.push(`${from} → ${to}:${port} ${ok ? "connects" : "blocked"}, expected ${allowed ? "allowed" : "forbidden"}`);
      }
      assert(wrong.length === 0, wrong.join("; "));
      return `${flows.length} flows as the plan says`;
    });
    await check("i", "an alert from the monitor server reaches the SMTP sink", async () => {
      const before = sink.messages.length;
      const r = await onServer("monitor", PATHS.alertTest);
      assert(r.code === 0, r.stderr);
      const got = await sink.waitFor((m) => m.data.includes(`[DHIS2 ${EXISTING}] TEST`), 90_000, before);
      assert(got, "nothing arrived in 90 s");
      return `via ${got.peer}`;
    });
    await check("i", "neither the SSH private key nor a generated secret is in plain text in the state", async () => {
      const secrets = await generatedSecrets(EXISTING, ["production"], serverName);
      const key = fs.readFileSync(keyFile, "utf8").split("\n").filter((l) => l && !l.startsWith("-----"));
      key.forEach((line, i) => { secrets[`SSH private key, line ${i + 1}`] = line; });
      const found = await secretsInState(EXISTING, secrets);
      assert(found.hits.length === 0, `in plain text: ${found.hits.join(", ")}`);
      return `${found.secrets} secrets, 0 found in ${found.bytes} bytes of state`;
    });
    await check("i", "npm run status over SSH (the stack's own key, through the bastion, pinned host keys): every server green", async () => {
      const r = await run("npx", ["tsx", "scripts/status.ts", "--stack", EXISTING], { env: env.pulumi, timeoutMs: 300_000 });
      assert(r.code === 0, `exit ${r.code}:\n${tail(r.stdout + r.stderr)}`);
      const checks = r.stdout.split("\n").filter((l) => /^\s+\S+\s+ok\s/.test(l));
      assert(new Set(checks.map((l) => l.trim().split(/\s+/)[0])).size === 4, `not every server answered:\n${r.stdout}`);
      return `${checks.length} checks on 4 servers, all ok`;
    });
    await check("i", "a second pulumi preview over SSH changes nothing", async () => {
      const r = await pulumi(EXISTING, ["preview", "--expect-no-changes"], 10 * 60_000);
      assert(r.code === 0, tail(r.stdout + r.stderr));
    });
  } finally {
    await sink.close();
  }
}
