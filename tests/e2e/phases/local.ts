/**
 * Phase a-h: the local platform's stack `e2e` (every role in an LXD container on this machine, on
 * its own network and ports), deployed by the real engine and checked with real traffic:
 *   a. https through the proxy reaches both instances; the official plugins ran it; TLS; redirects
 *   b. the instances talk to PostgreSQL with dhis.conf's login over TLS; SHOW = the plan;
 *      postgis, pg_trgm, btree_gin and the tracker search indexes exist
 *   c. a flow matrix: allowed flows connect, forbidden ones do not (to listening services)
 *   d. munin and glowroot answer through the proxy only, with the generated login
 *   e. a test alert reaches the SMTP sink; no container accepts mail from outside
 *   f. a second `pulumi up` changes nothing; no generated secret in plain text in the state
 *   t, l, x. testssl.sh, lynis and the secrets audit (phases/security.ts)
 *   k. backups: rows and a file backed up, deleted, restored by npm run restore (phases/backup.ts)
 *   o. an on-demand training instance: create, list, pause, resume, reap (phases/ondemand.ts)
 *   s. `npm run status`: all green; a stopped PostgreSQL turns it red with the node and service
 *      named, the host's timer mails an alert, the next `pulumi up` starts it again
 *      the host verification of every container is in the stack output hostChecks (dd figure)
 *   g. the hardware-upgrade review: npm run review with more memory for the database (settings
 *      table, 0 replacements, exit 0), then the upgrade itself: no replacement, rows kept
 *   h. `pulumi destroy --exclude-protected` keeps only the protected data
 */
import { onDemandChecks, rehearsalChecks } from "./ondemand";
import * as fs from "node:fs";
import * as path from "node:path";
import { PORTS } from "../../../lib/plan/topology";
import { lxdDataVolumes } from "../../../lib/render/lxd";
import { PATHS } from "../../../lib/render/paths";
import { writeGeneratedSecrets,
  assert, check, compareSettings, connects, curl, DOMAIN, env, generatedSecrets, inContainer, outputs, planOf, pulumi, record,
  ROOT, run, WORK, secretsInState, showSettings, tail, timedUp, url, volumesWithPrefix, waitForPing, type E2eStack,
} from "../harness";
import { checkDatabaseRuntime, checkInstanceRuntime, standInRuntime } from "../runtime";
import { startSmtpSink, type SmtpSink } from "../smtp-sink";
import { backupChecks, offsiteChecks } from "./backup";
import { securityChecks } from "./security";
import { setDatabaseMemory, stackFile } from "../stacks";

/** The database memory of the hardware-upgrade check (the stack's share is 3.56 GB). */
const UPGRADED_DB_MEMORY_GB = 4;

export async function localPhase(stack: E2eStack, smtp: { host: string; port: number }, keep: boolean): Promise<void> {
  const init = await pulumi(stack.name, ["stack", "init", "--secrets-provider", "passphrase"]);
  assert(init.code === 0, `pulumi stack init failed: ${init.stderr}`);
  await writeGeneratedSecrets(stack.name);

  // a. first deployment -----------------------------------------------------------------------
  const up = await timedUp(stack, "first pulumi up (everything created)");
  if (!record("a", "pulumi up creates the whole topology", up.code === 0, up.code === 0 ? `${(up.ms / 1000).toFixed(0)} s` : tail(up.stdout + up.stderr, 40))) return;
  // the relay of the stack's alerts: an SMTP sink on its bridge's address (which exists now);
  // postfix keeps what it could not hand over before and tries again
  const sink = await startSmtpSink(smtp.host, smtp.port);
  try {
    await deployedChecks(stack, sink, keep, smtp.host);
  } finally {
    await sink.close();
  }
}

async function deployedChecks(stack: E2eStack, sink: SmtpSink, keep: boolean, gateway: string): Promise<void> {
  const plan = planOf(stack);
  const c = (node: string) => stack.container(node);
  const addresses = Object.fromEntries([plan.topology.proxy, plan.topology.database, plan.topology.monitor, ...plan.topology.instances].map((n) => [n.name, n.address]));

  await check("a", "https through the proxy reaches both instances (/api/ping 200)", async () => {
    const started = Date.now();
    const r = await waitForPing(stack, ["", "/training"], 300_000);
    assert(r.ok, r.detail);
    return `both answer (${((Date.now() - started) / 1000).toFixed(0)} s after pulumi up returned)`;
  });
  await check("a", "the official Node.js language host 3.248.0 and command provider 1.2.1 ran it (pulumi about)", async () => {
    const r = await pulumi(stack.name, ["about", "--json"], 120_000);
    assert(r.code === 0, tail(r.stdout + r.stderr));
    const about = JSON.parse(r.stdout) as { plugins?: { name: string; kind?: string; version: string }[] };
    const plugins = about.plugins ?? [];
    const version = (name: string, kind: string) => plugins.find((p) => p.name === name && p.kind === kind)?.version?.replace(/^v/, "");
    const shown = plugins.map((p) => `${p.kind} ${p.name} ${p.version}`).join(", ");
    const cli = (await run("pulumi", ["version"], { env: env.pulumi })).stdout.trim();
    console.log(`pulumi ${cli}; pulumi about: ${shown}`);
    assert(cli === "v3.248.0", `CLI ${cli}`);
    assert(version("nodejs", "language") === "3.248.0", `language host: ${version("nodejs", "language")} (${shown})`);
    assert(version("command", "resource") === "1.2.1", `command provider: ${version("command", "resource")} (${shown})`);
    return `CLI ${cli}, ${shown}`;
  });
  await check("a", "TLS 1.2+ with HSTS; TLS 1.1 refused", async () => {
    const r = await curl(stack, ["-k", "-sI", url(stack, "/api/ping")]);
    assert(/strict-transport-security: max-age=63072000/i.test(r.stdout), `no HSTS header:\n${r.stdout}`);
    const old = await curl(stack, ["-k", "--tlsv1.1", "--tls-max", "1.1", "-o", "/dev/null", url(stack, "/")]);
    assert(old.code !== 0, "a TLS 1.1 handshake succeeded");
  });
  await check("a", "http redirects to https", async () => {
    const r = await curl(stack, ["-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", url(stack, "/dhis-web-dashboard/", "http")]);
    assert(r.stdout === `301 https://${DOMAIN}/dhis-web-dashboard/`, `got ${r.stdout}`);
  });
  await check("a", "an unknown host name is refused (TLS handshake rejected, http connection closed)", async () => {
    const https = await curl(stack, ["-k", "-o", "/dev/null", url(stack, "/", "https", "other.example.org")], "other.example.org");
    assert(https.code === 35, `https: curl exit ${https.code} (35 = handshake refused)`);
    const http = await curl(stack, ["-o", "/dev/null", url(stack, "/", "http", "other.example.org")], "other.example.org");
    assert(http.code === 52, `http: curl exit ${http.code} (52 = closed without a reply)`);
    return "https: handshake refused; http: closed without reply";
  });

  // b. database --------------------------------------------------------------------------------
  for (const inst of plan.instances) {
    const name = inst.config.name;
    await check("b", `${name} is connected to PostgreSQL with dhis.conf's login, over TLS`, async () => {
      const conf = await inContainer(c(name), `grep -E '^connection\\.(username|url)' ${PATHS.dhis2Home}/dhis.conf`);
      const user = /connection\.username = (\S+)/.exec(conf.stdout)?.[1];
      const r = await curl(stack, ["-k", url(stack, `${inst.config.path === "/" ? "" : inst.config.path}/api/system/info`)]);
      const info = JSON.parse(r.stdout) as { standIn?: string; databaseInfo?: { user: string; name: string; ssl: boolean; serverAddress: string } };
      assert(info.standIn, "not the stand-in's answer");
      const db = info.databaseInfo;
      assert(db, `no database info: ${r.stdout}`);
      assert(user && db.user === user, `connected as ${db.user}, dhis.conf says ${user}`);
      assert(db.name === inst.database, `database ${db.name}, expected ${inst.database}`);
      assert(db.ssl === true, "the connection is not encrypted");
      assert(db.serverAddress === addresses.database, `server ${db.serverAddress}`);
      const mode = await inContainer(c(name), `stat -c '%a %U' ${PATHS.dhis2Home}/dhis.conf`);
      assert(mode.stdout.trim() === "600 dhis", `dhis.conf is ${mode.stdout.trim()}`);
      return `user ${db.user}, database ${db.name}, TLS, dhis.conf 0600 dhis`;
    });
  }
  await check("b", "what ran, read from the containers: PostgreSQL 17 on Debian 13; 2.42 on Tomcat 10.1; 2.44 on its embedded server, trusting the proxy's forwarded headers", async () => {
    const parts = [`database: ${await checkDatabaseRuntime(stack.name, plan, c("database"))}`];
    for (const inst of plan.instances) {
      const r = await curl(stack, ["-k", url(stack, `${inst.config.path === "/" ? "" : inst.config.path}/api/system/info`)]);
      const rt = standInRuntime(r.stdout);
      parts.push(`${inst.config.name}: ${await checkInstanceRuntime(stack.name, plan, inst.config.name, c(inst.config.name), rt)}`);
      // behind the proxy the webapp sees the client's https request, not the proxy's http one
      assert(rt.scheme === "https" && rt.secure, `${inst.config.name} sees scheme ${rt.scheme}`);
      assert(rt.remoteAddr !== addresses.proxy, `${inst.config.name} sees the proxy (${rt.remoteAddr}) as the client`);
      assert(rt.contextPath === (inst.config.path === "/" ? "" : inst.config.path), `${inst.config.name} at ${rt.contextPath}`);
    }
    return parts.join("; ");
  });
  await check("b", "PostgreSQL's SHOW values equal the plan", () => compareSettings(stack.name, c("database")));
  await check("b", "postgis, pg_trgm and btree_gin exist in every instance database; the tracker search indexes exist", async () => {
    for (const inst of plan.instances) {
      const r = await inContainer(c("database"), `runuser -u postgres -- psql -X -qAt -d ${inst.database} -c "SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension WHERE extname IN ('postgis','pg_trgm','btree_gin')"`);
      assert(r.stdout.trim() === "btree_gin,pg_trgm,postgis", `${inst.database}: ${r.stdout.trim()} ${r.stderr}`);
    }
    const idx = await inContainer(c("database"), `runuser -u postgres -- psql -X -qAt -d dhis2_production -c "SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'in_toolkit_teav_trgm_%' AND indexdef LIKE '%gin_trgm_ops%'"`);
    assert(idx.stdout.trim() === String(plan.instances[0]!.config.trackerSearch.attributes.length), `trigram indexes: ${idx.stdout.trim()}`);
    return `extensions in ${plan.instances.length} databases; ${idx.stdout.trim()} trigram GIN indexes in dhis2_production`;
  });

  // c. flows -----------------------------------------------------------------------------------
  await flowMatrix(stack, addresses);

  // d. monitoring behind the login -------------------------------------------------------------
  const creds = (await outputs(stack.name)).credentials as { monitoring: { user: string; password: string } };
  for (const [what, page, expect] of [
    ["munin", "/munin/", /munin/i],
    ...plan.instances.map((i) => [`glowroot of ${i.config.name}`, `/glowroot/${i.config.name}/`, /GLOWROOT STAND-IN/] as const),
  ] as const) {
    await check("d", `${what}: 401 without the login, 401 with a wrong one, 200 with the generated one`, async () => {
      const none = await curl(stack, ["-k", "-o", "/dev/null", "-w", "%{http_code}", url(stack, page)]);
      const wrong = await curl(stack, ["-k", "-o", "/dev/null", "-w", "%{http_code}", "-u", `${creds.monitoring.user}:wrong`, url(stack, page)]);
      // the password on curl's stdin (a config file), not in its arguments
      const good = await run("curl", ["-sSk", "--max-time", "20", "--resolve", `${DOMAIN}:${stack.httpsPort}:${stack.address}`, "-K", "-", "-w", "\n%{http_code}", url(stack, page)],
        { input: `user = "${creds.monitoring.user}:${creds.monitoring.password}"\n`, timeoutMs: 30_000 });
      const code = good.stdout.trim().split("\n").pop();
      assert(none.stdout === "401" && wrong.stdout === "401", `without: ${none.stdout}, wrong: ${wrong.stdout}`);
      assert(code === "200" && expect.test(good.stdout), `with the login: HTTP ${code}`);
    });
  }

  // e. alerts by mail --------------------------------------------------------------------------
  await check("e", "a test alert from the monitor reaches the SMTP sink through the send-only postfix", async () => {
    const before = sink.messages.length;
    const r = await inContainer(c("monitor"), PATHS.alertTest);
    assert(r.code === 0, `dhis2-alert-test failed: ${r.stderr}`);
    const got = await sink.waitFor((m) => m.data.includes(`[DHIS2 ${stack.name}] TEST`), 90_000, before);
    assert(got, `nothing arrived in 90 s; queue: ${(await inContainer(c("monitor"), "postqueue -p")).stdout}`);
    assert(got.rcptTo.includes("alerts@dhis2.local"), `to ${got.rcptTo.join(", ")}`);
    assert(got.mailFrom === "dhis2-alerts@dhis2.local", `from ${got.mailFrom}`);
    return `from ${got.mailFrom} to ${got.rcptTo.join(", ")} via ${got.peer}`;
  });
  await check("e", "no container accepts mail from outside (port 25 from the LXD host)", async () => {
    for (const [node, address] of Object.entries(addresses)) {
      assert(!(await connects("host", address, 25)), `${node} accepts connections on port 25`);
    }
    return `${Object.keys(addresses).length} containers refuse`;
  });

  // f. nothing to change -----------------------------------------------------------------------
  const pack = path.join(ROOT, "policy");
  await check("f", "pulumi preview --expect-no-changes --policy-pack policy passes: no change, every policy of the toolkit's pack satisfied", async () => {
    const r = await pulumi(stack.name, ["preview", "--expect-no-changes", "--policy-pack", pack]);
    assert(r.code === 0, tail(r.stdout + r.stderr));
    const line = r.stdout.split("\n").find((l) => /dhis2-toolkit@v/.test(l));
    assert(line && !/❌/.test(line), `no passing policy pack in the output:\n${tail(r.stdout)}`);
    return line.trim();
  });
  await check("f", "the policy pack fails the same stack not marked as a test stack (dhis2-no-self-signed-outside-tests, mandatory)", async () => {
    const dir = fs.mkdtempSync(path.join(WORK, "policy-"));
    const copy = path.join(dir, `Pulumi.${stack.name}.yaml`);
    // (pulumi config set writes the stack file again, with top-level values as strings: "true")
    fs.writeFileSync(copy, fs.readFileSync(stackFile(stack.name), "utf8").replace(/^  dhis2:testStack: "?true"?$/m, "  dhis2:testStack: false"), { mode: 0o600 });
    assert(/^  dhis2:testStack: false$/m.test(fs.readFileSync(copy, "utf8")), "the copy still says dhis2:testStack: true");
    const r = await pulumi(stack.name, ["preview", "--policy-pack", pack, "--config-file", copy]);
    fs.rmSync(dir, { recursive: true, force: true });
    assert(r.code !== 0, `the preview passed: ${tail(r.stdout)}`);
    const violation = r.stdout.split("\n").find((l) => /\[mandatory\]\s+dhis2-no-self-signed-outside-tests/.test(l));
    assert(violation, `no violation of dhis2-no-self-signed-outside-tests:\n${tail(r.stdout + r.stderr, 30)}`);
    return violation.trim();
  });
  await check("f", "a second pulumi up changes nothing", async () => {
    const r = await timedUp(stack, "second pulumi up (no changes)", ["--expect-no-changes"]);
    assert(r.code === 0, tail(r.stdout + r.stderr));
  });
  await check("f", "no generated secret is in plain text in the state (pulumi stack export)", async () => {
    const found = await secretsInState(stack.name, await generatedSecrets(stack.name, plan.instances.map((i) => i.config.name), c));
    assert(found.hits.length === 0, `in plain text: ${found.hits.join(", ")}`);
    return `${found.secrets} secrets, 0 found in ${found.bytes} bytes of state`;
  });

  await check("f", "the host verification of every container is in the stack output hostChecks, with its dd figure", async () => {
    const checks = (await outputs(stack.name)).hostChecks as Record<string, { facts: { cpus?: number; memoryMb?: number; ddSeconds?: number }; failures: string[]; summary: string }>;
    const nodes = [plan.topology.proxy, plan.topology.database, plan.topology.monitor, ...plan.topology.instances].map((n) => n.name);
    for (const n of nodes) {
      const v = checks?.[n];
      assert(v !== undefined, `no hostChecks entry for ${n}: ${Object.keys(checks ?? {}).join(", ")}`);
      assert(typeof v.facts.ddSeconds === "number" && v.facts.ddSeconds > 0, `${n}: no dd figure: ${v.summary}`);
      assert(v.facts.cpus! >= 1 && v.facts.memoryMb! > 0, `${n}: ${v.summary}`);
      assert(v.failures.length === 0, `${n} failed (the stack is not strict): ${v.failures.join("; ")}`);
    }
    return nodes.map((n) => checks[n]!.summary).join("; ");
  });
  // t, l, x. judged by outside tools: testssl.sh, lynis, the secrets audit (phases/security.ts)
  await securityChecks(stack);
  // k. backups that restore (phases/backup.ts)
  await backupChecks(stack);
  // o. an on-demand training instance from the latest backup (phases/ondemand.ts)
  await onDemandChecks(stack);
  await rehearsalChecks(stack);
  await offsiteChecks(stack, sink, gateway);

  // s. health: npm run status, an alert when a service stops, pulumi up starts it again ---------
  await statusChecks(stack, sink);

  // g. hardware upgrade ------------------------------------------------------------------------
  await hardwareUpgrade(stack);

  // h. destroy ---------------------------------------------------------------------------------
  if (keep) {
    console.log("h: DHIS2_E2E_KEEP=1: the stack stays deployed (no destroy)");
    return;
  }
  await check("h", "pulumi destroy --exclude-protected removes every container and the network, and keeps the protected data", async () => {
    const r = await pulumi(stack.name, ["destroy", "--yes", "--skip-preview", "--exclude-protected"]);
    assert(r.code === 0, tail(r.stdout + r.stderr));
    const ls = await run("lxc", ["list", "--format", "csv", "-c", "n"]);
    const left = ls.stdout.split("\n").filter((n) => n.startsWith(`dhis2-${stack.name}-`));
    assert(left.length === 0, `containers left: ${left.join(", ")}`);
    const volumes = await volumesWithPrefix(`dhis2-${stack.name}-`);
    const wanted = lxdDataVolumes(plan).map((v) => v.volume);
    assert(wanted.every((v) => volumes.includes(v)), `data volumes kept: ${volumes.join(", ")}; expected ${wanted.join(", ")}`);
    const network = await run("lxc", ["network", "show", plan.config.lxd.bridge]);
    assert(network.code !== 0, `the network ${plan.config.lxd.bridge} is still there`);
    const state = JSON.parse((await pulumi(stack.name, ["stack", "export"])).stdout) as { deployment: { resources?: { urn: string; protect?: boolean; type: string }[] } };
    const kept = (state.deployment.resources ?? []).filter((x) => x.type === "command:local:Command");
    assert(kept.every((x) => x.protect), `unprotected resources left: ${kept.filter((x) => !x.protect).map((x) => x.urn).join(", ")}`);
    return `kept: volumes ${wanted.join(", ")} and ${kept.length} protected resources (the data volumes, the encryption and backup passwords)`;
  });
}

interface Flow { from: string; to: string; port: number; allowed: boolean; why: string }

async function flowMatrix(stack: E2eStack, addresses: Record<string, string>): Promise<void> {
  const flows: Flow[] = [
    { from: "proxy", to: "production", port: PORTS.tomcat, allowed: true, why: "DHIS2 behind the proxy" },
    { from: "proxy", to: "training", port: PORTS.tomcat, allowed: true, why: "DHIS2 behind the proxy" },
    { from: "proxy", to: "production", port: PORTS.glowroot, allowed: true, why: "glowroot behind the proxy" },
    { from: "proxy", to: "monitor", port: PORTS.muninWeb, allowed: true, why: "munin pages behind the proxy" },
    { from: "production", to: "database", port: PORTS.postgres, allowed: true, why: "instance's database" },
    { from: "training", to: "database", port: PORTS.postgres, allowed: true, why: "instance's database" },
    ...["proxy", "production", "training", "database", "monitor"].map((n) => ({ from: "monitor", to: n, port: PORTS.muninNode, allowed: true, why: "munin master polls munin-node" })),
    { from: "proxy", to: "database", port: PORTS.postgres, allowed: false, why: "the proxy never talks to the database" },
    { from: "monitor", to: "database", port: PORTS.postgres, allowed: false, why: "monitoring reads PostgreSQL through munin-node" },
    { from: "production", to: "training", port: PORTS.tomcat, allowed: false, why: "instances are isolated from each other" },
    { from: "training", to: "production", port: PORTS.tomcat, allowed: false, why: "instances are isolated from each other" },
    { from: "training", to: "production", port: PORTS.glowroot, allowed: false, why: "glowroot only for the proxy" },
    { from: "host", to: "database", port: PORTS.postgres, allowed: false, why: "the LXD host is not a client of the database" },
    { from: "host", to: "production", port: PORTS.tomcat, allowed: false, why: "DHIS2 only through the proxy" },
    { from: "host", to: "monitor", port: PORTS.muninWeb, allowed: false, why: "munin pages only through the proxy's login" },
    { from: "proxy", to: "monitor", port: PORTS.muninNode, allowed: false, why: "the proxy reaches the monitor on its web port only" },
    { from: "production", to: "proxy", port: PORTS.muninNode, allowed: false, why: "munin-node answers the monitor only" },
    { from: "production", to: "database", port: PORTS.muninNode, allowed: false, why: "munin-node answers the monitor only" },
  ];
  const rows: string[] = [];
  let failed = 0;
  for (const f of flows) {
    const listens = (await inContainer(stack.container(f.to), `ss -Htln 'sport = :${f.port}'`)).stdout.trim().length > 0;
    const ok = await connects(f.from === "host" ? "host" : stack.container(f.from), addresses[f.to]!, f.port);
    const pass = listens && ok === f.allowed;
    if (!pass) failed++;
    rows.push(`${pass ? "ok  " : "FAIL"} | ${f.from.padEnd(10)} | ${`${f.to}:${f.port}`.padEnd(16)} | ${(f.allowed ? "allowed" : "forbidden").padEnd(9)} | ${(ok ? "connects" : "blocked").padEnd(8)} | ${listens ? "yes" : "NO "} | ${f.why}`);
  }
  console.log(`\nFlow matrix (${flows.length} flows; "listening": the service is up, so a blocked flow is the firewall's doing)`);
  console.log("     | from       | to               | expected  | result   | listening | why");
  for (const r of rows) console.log(r);
  console.log("");
  record("c", `flow matrix: ${flows.length - failed} of ${flows.length} flows as the plan says`, failed === 0, failed ? `${failed} flow(s) differ (see the matrix)` : "");
}

/** npm run status of the stack: its exit code and the lines it printed. */
async function status(stack: E2eStack): Promise<{ code: number; lines: string[] }> {
  const r = await run("npx", ["tsx", "scripts/status.ts", "--stack", stack.name], { env: env.pulumi, timeoutMs: 300_000 });
  return { code: r.code, lines: (r.stdout + r.stderr).split("\n") };
}

async function statusChecks(stack: E2eStack, sink: SmtpSink): Promise<void> {
  const pg = `postgresql@${planOf(stack).postgres.version}-main`;
  await check("s", "npm run status: every service, ping, certificate and disk of every container is ok (exit 0)", async () => {
    const s = await status(stack);
    console.log(s.lines.filter((l) => l.trim()).map((l) => `  ${l}`).join("\n"));
    assert(s.code === 0, `exit ${s.code}`);
    const checks = s.lines.filter((l) => /^\s+\S+\s+(ok|WARN|FAIL)\s/.test(l));
    assert(checks.length >= 30, `${checks.length} checks`);
    return `${checks.length} checks, all ok`;
  });
  // the alert may come from the host's own timer as well: every message from here on counts
  const alertsFrom = sink.messages.length;
  await check("s", `a stopped PostgreSQL: npm run status exits 1 naming the database and ${pg}`, async () => {
    const stop = await inContainer(stack.container("database"), `systemctl stop ${pg}`);
    assert(stop.code === 0, stop.stderr);
    const s = await status(stack);
    assert(s.code === 1, `exit ${s.code}`);
    const red = s.lines.filter((l) => /\sFAIL\s/.test(l));
    assert(red.some((l) => /^\s+database\s+FAIL\s+service:postgresql@/.test(l)), `no database FAIL line: ${red.join(" | ")}`);
    return red.map((l) => l.trim().replace(/\s+/g, " ")).join("; ");
  });
  await check("s", "the database's health check mails an alert naming the stopped service (what its timer runs every 5 minutes)", async () => {
    const r = await inContainer(stack.container("database"), "systemctl start dhis2-status.service");
    assert(r.code === 0, r.stderr);
    const got = await sink.waitFor((m) => m.data.includes(`[DHIS2 ${stack.name}]`) && m.data.includes(`service:${pg}`), 90_000, alertsFrom);
    assert(got, "no alert arrived in 90 s");
    return `"${/^Subject: (.*)$/m.exec(got.data)?.[1] ?? "?"}" to ${got.rcptTo.join(", ")}`;
  });
  await check("s", "the next pulumi up starts PostgreSQL again (and changes no resource)", async () => {
    const r = await timedUp(stack, "pulumi up with PostgreSQL stopped (starts it again)", ["--expect-no-changes"]);
    assert(r.code === 0, tail(r.stdout + r.stderr));
    assert(/database: .*started by dhis2-status --repair/.test(r.stdout + r.stderr), `pulumi up did not say it started it:\n${tail(r.stdout + r.stderr)}`);
    const active = await inContainer(stack.container("database"), `systemctl is-active ${pg}`);
    assert(active.stdout.trim() === "active", `${pg}: ${active.stdout.trim()}`);
    const s = await status(stack);
    assert(s.code === 0, `npm run status exits ${s.code} afterwards`);
    return `${pg} active again; npm run status green`;
  });
}

async function hardwareUpgrade(stack: E2eStack): Promise<void> {
  const rows = 5000;
  const c = (node: string) => stack.container(node);
  await check("g", `rows written before the upgrade (${rows})`, async () => {
    const r = await inContainer(c("database"), `runuser -u postgres -- psql -X -q -d dhis2_production -v ON_ERROR_STOP=1 -c "CREATE TABLE e2e_before_upgrade AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, ${rows}) g"`);
    assert(r.code === 0, r.stderr);
  });
  const before = await showSettings(c("database"), ["shared_buffers", "effective_cache_size", "work_mem"]);
  await check("g", `npm run review --set dhis2:sizes.database.memoryGb=${UPGRADED_DB_MEMORY_GB}: the retuned settings and limits, 0 replacements, exit 0, the stack file untouched`, async () => {
    const file = stackFile(stack.name);
    const text = fs.readFileSync(file, "utf8");
    const r = await run(path.join(ROOT, "node_modules", ".bin", "tsx"), [path.join(ROOT, "scripts", "review.ts"), "--stack", stack.name, "--set", `dhis2:sizes.database.memoryGb=${UPGRADED_DB_MEMORY_GB}`], { env: env.pulumi, timeoutMs: 20 * 60_000 });
    console.log(`\nnpm run review (exit ${r.code}):\n${r.stdout}\n`);
    assert(r.code === 0, tail(r.stdout + r.stderr, 40));
    for (const row of [/^\| shared_buffers +\| \S+ → \S+ /m, /^\| effective_cache_size +\| \S+ → \S+ /m, /^\| database +\| .* → .*container limits/m, /^Replaced or deleted: none/m]) {
      assert(row.test(r.stdout), `no ${row} in the review`);
    }
    assert(fs.readFileSync(file, "utf8") === text, "the review changed the stack file");
  });
  await check("g", "npm run review --set dhis2:os.database=debian-12 (another system: Pulumi would replace the database container): exit 1, the replacement named by the plan and by Pulumi's preview", async () => {
    const r = await run(path.join(ROOT, "node_modules", ".bin", "tsx"), [path.join(ROOT, "scripts", "review.ts"), "--stack", stack.name, "--set", "dhis2:os.database=debian-12"], { env: env.pulumi, timeoutMs: 20 * 60_000 });
    console.log(`\nnpm run review, another system for the database (exit ${r.code}):\n${r.stdout}\n`);
    assert(r.code === 1, `exit ${r.code}: ${tail(r.stdout + r.stderr, 40)}`);
    assert(/^\| database +\| Debian 13 \(trixie\) → Debian 12 \(bookworm\) +\| a new container/m.test(r.stdout), "the plan's Operating systems table does not name the database");
    const replaced = r.stdout.split("\n").find((l) => /^\s+REPLACE \S*database-container /.test(l));
    assert(replaced, `Pulumi's preview names no replacement of the database container:\n${tail(r.stdout, 40)}`);
    return replaced.trim();
  });
  setDatabaseMemory(stack.name, UPGRADED_DB_MEMORY_GB);
  const upgraded = planOf(stack);
  const newMb = upgraded.topology.database.budget.memoryMb;
  const newSetting = (n: string) => upgraded.postgres.settings.find((s) => s.name === n)!.value;
  await check("g", `pulumi preview --diff shows the retuned PostgreSQL lines and the new limit (${newMb}MB), and replaces nothing`, async () => {
    const diff = await pulumi(stack.name, ["preview", "--diff"]);
    assert(diff.code === 0, tail(diff.stdout + diff.stderr));
    const lines = diff.stdout.split("\n");
    const shown = lines.filter((l) => /shared_buffers = |effective_cache_size = |limits\.memory=/.test(l) && /^\s*[-+~]/.test(l));
    console.log(`\npulumi preview --diff, the lines about the database's memory:\n${shown.map((l) => `  ${l.trim()}`).join("\n")}\n`);
    assert(lines.some((l) => /^\s*\+.*shared_buffers = '/.test(l) && l.includes(newSetting("shared_buffers"))), `no added shared_buffers = '${newSetting("shared_buffers")}' line`);
    assert(lines.some((l) => /^\s*-.*shared_buffers = '/.test(l) && l.includes(before.shared_buffers!)), `no removed shared_buffers = '${before.shared_buffers}' line`);
    assert(lines.some((l) => /^\s*\+.*limits\.memory=/.test(l) && l.includes(`${newMb}MB`)), `no added limits.memory=${newMb}MB line`);
    const json = await pulumi(stack.name, ["preview", "--json"]);
    const steps = (JSON.parse(json.stdout) as { steps?: { op: string; urn: string }[] }).steps ?? [];
    const replaced = steps.filter((s) => /replace|delete/.test(s.op));
    assert(replaced.length === 0, `would replace or delete: ${replaced.map((s) => `${s.op} ${s.urn.split("::").pop()}`).join(", ")}`);
    const db = steps.find((s) => s.urn.endsWith("::dhis2-lxd-database-container"));
    assert(db?.op === "update", `the database container: ${db?.op ?? "no step"}`);
    // only containers (new limits) and the changed files themselves; no set-up or start step again
    const updated = steps.filter((s) => s.op === "update").map((s) => s.urn.split("::").pop()!);
    // (the host verification runs again on a node whose size changed: -verify-run)
    const other = updated.filter((n) => !/-container$|-file-|-verify-run$/.test(n));
    assert(other.length === 0, `updates besides containers and files: ${other.join(", ")}`);
    assert(updated.includes(`dhis2-database-file-etc-postgresql-${upgraded.postgres.version}-main-conf.d-dhis2.conf`), `PostgreSQL's conf.d file is not updated: ${updated.join(", ")}`);
    return `${updated.length} updates in place (${updated.join(", ")}), 0 replacements`;
  });
  await check("g", "pulumi up applies the upgrade; SHOW gives the new values; the limit is set; the rows are still there", async () => {
    const r = await timedUp(stack, `resize pulumi up (database memory to ${UPGRADED_DB_MEMORY_GB} GB)`);
    assert(r.code === 0, tail(r.stdout + r.stderr, 40));
    const detail = await compareSettings(stack.name, c("database"));
    const after = await showSettings(c("database"), ["shared_buffers"]);
    assert(after.shared_buffers !== before.shared_buffers, `shared_buffers still ${after.shared_buffers}`);
    const limit = await run("lxc", ["config", "get", c("database"), "limits.memory"]);
    assert(limit.stdout.trim() === `${newMb}MB`, `limits.memory ${limit.stdout.trim()}`);
    const count = await inContainer(c("database"), `runuser -u postgres -- psql -X -qAt -d dhis2_production -c "SELECT count(*) FROM e2e_before_upgrade"`);
    assert(count.stdout.trim() === String(rows), `rows: ${count.stdout.trim()} ${count.stderr}`);
    // the instances restart too when their share of the host (and so their heap) changed
    const waited = await waitForPing(stack, ["", "/training"], 300_000);
    assert(waited.ok, `DHIS2 after the upgrade: ${waited.detail}`);
    return `shared_buffers ${before.shared_buffers} → ${after.shared_buffers}; ${detail}; ${rows} rows kept`;
  });
}
