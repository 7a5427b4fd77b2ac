/**
 * Phase t/l/x: the deployed local stack judged by outside tools (called by phases/local.ts after
 * phase f, while everything runs):
 *   t. testssl.sh against the proxy as browsers reach it (through the LXD forward): the verdict of
 *      tests/support/tls-verdict.ts, its summary lines printed
 *   l. lynis in every container and in a stock container of the same base image: the hardening
 *      index of each side by side; each role at least 10 points above stock
 *   x. the secrets audit: every generated secret searched for in `pulumi stack export`, the
 *      captured pulumi output (up, preview --diff, refresh, verbose logging at -v=6), the arguments of
 *      every process sampled during an `up`, LXD's logs, and the world-readable files of every
 *      container; the modes of the files that hold secrets
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { lxdImageAlias } from "../../../lib/os/images";
import { LXD } from "../../../lib/render/lxd";
import { PATHS } from "../../../lib/render/paths";
import { TESTSSL_CHECKS } from "../../support/realtools/testssl";
import { auditPlaces, secretFileModeProblems, type Place } from "../../support/secrets-audit";
import { judgeTls, parseTestsslJson, type AcceptedFindings } from "../../support/tls-verdict";
import { assert, check, DOMAIN, generatedSecrets, planOf, pulumi, run, sleep, WORK, type E2eStack } from "../harness";

/** The most verbose logging of Pulumi 3.248 that prints no secret (measured: 7 and up print resource inputs). */
export const SAFE_VERBOSITY = 6;

/** How much better than a stock container of the same image each role's container must score. */
export const LYNIS_MARGIN = 10;

export async function securityChecks(stack: E2eStack): Promise<void> {
  const plan = planOf(stack);
  const nodes = [plan.topology.proxy, plan.topology.database, plan.topology.monitor, ...plan.topology.instances].map((n) => n.name);

  await check("t", "testssl.sh: TLS 1.2+ only, no weak/CBC suites, forward secrecy, HSTS, secure renegotiation, 0 HIGH/CRITICAL", async () => {
    const json = path.join(WORK, "testssl.json");
    fs.rmSync(json, { force: true });
    const r = await run("testssl", ["--quiet", "--color", "0", "--warnings", "off", "--nodns", "none", "--ip", stack.address, "--jsonfile", json,
      ...TESTSSL_CHECKS, `https://${DOMAIN}:${stack.httpsPort}/`], { timeoutMs: 30 * 60_000 });
    assert(fs.existsSync(json), `testssl.sh wrote no findings (exit ${r.code}):\n${r.stderr}`);
    const findings = parseTestsslJson(fs.readFileSync(json, "utf8"));
    // the local stack's certificate is self-signed (tls.mode self-signed): findings about trusting
    // the certificate itself are expected there and only there
    const accepted: AcceptedFindings = {};
    if (plan.config.tls.mode === "self-signed") {
      for (const f of findings) if (f.id.startsWith("cert_") && (f.severity === "HIGH" || f.severity === "CRITICAL")) accepted[f.id] = "tls.mode self-signed: browsers warn, by design";
    }
    const verdict = judgeTls(findings, accepted);
    for (const line of verdict.summary) console.log(`  testssl ${line}`);
    assert(verdict.ok, verdict.problems.join("; "));
    return verdict.summary[verdict.summary.length - 1];
  });

  // l and x failed in the run of 2026-12-02 (docs/security.md, "Findings of the end-to-end run"): gates in every run
  await check("l", `lynis: every container's hardening index at least ${LYNIS_MARGIN} above a stock container of the same image`, async () => {
    // one stock container per system the stack's containers run (each from its own Debian image)
    const systemOf = Object.fromEntries([plan.topology.proxy, plan.topology.database, plan.topology.monitor, ...plan.topology.instances].map((n) => [n.name, n.os]));
    const systems = [...new Set(Object.values(systemOf))];
    const stockName = (os: string) => `dhis2-${stack.name}-lynis-${os}`;
    try {
      const index: Record<string, number> = {};
      // the audits run side by side, as many at a time as the machine has CPUs (each takes minutes;
      // all at once on 2 CPUs took over 15 minutes each)
      const audits: Array<() => Promise<void>> = [
        ...systems.map((os) => async () => {
          await run("lxc", ["delete", "--force", stockName(os)]);
          const launched = await run("lxc", ["launch", lxdImageAlias(os), stockName(os), "--profile", LXD.profile, "--network", plan.config.lxd.bridge], { timeoutMs: 300_000 });
          assert(launched.code === 0, `stock container of ${os}: ${launched.stderr}`);
          await sleep(5000);
          index[`stock ${os}`] = await lynisIndex(stockName(os));
        }),
        ...nodes.map((n) => async () => { index[n] = await lynisIndex(stack.container(n)); }),
      ];
      const t0 = Date.now();
      await inParallel(audits, Math.max(1, os.cpus().length));
      console.log(`  lynis: ${audits.length} audits in ${((Date.now() - t0) / 60_000).toFixed(1)} min, ${Math.max(1, os.cpus().length)} at a time`);
      const stockOf = (n: string) => index[`stock ${systemOf[n]}`]!;
      const table = Object.entries(index).map(([k, v]) => `${k.padEnd(18)} ${String(v).padStart(3)}${k.startsWith("stock") ? "" : `  (${v - stockOf(k) >= 0 ? "+" : ""}${v - stockOf(k)} over ${systemOf[k]})`}`);
      console.log(`  lynis hardening index\n${table.map((l) => `    ${l}`).join("\n")}`);
      const low = nodes.filter((n) => index[n]! < stockOf(n) + LYNIS_MARGIN);
      assert(low.length === 0, `below stock + ${LYNIS_MARGIN}: ${low.map((n) => `${n} ${index[n]} (stock ${stockOf(n)})`).join(", ")}`);
      return nodes.map((n) => `${n} ${index[n]} (stock ${stockOf(n)})`).join(", ");
    } finally {
      for (const os of systems) await run("lxc", ["delete", "--force", stockName(os)]);
    }
  });

  await check("x", "secrets audit: 0 hits in state, pulumi output, process arguments, LXD logs and world-readable files; secret files not world-readable", async () => {
    const secrets = await generatedSecrets(stack.name, plan.instances.map((i) => i.config.name), (n) => stack.container(n));
    const places: Place[] = [];
    const exported = await pulumi(stack.name, ["stack", "export"], 120_000);
    assert(exported.code === 0, exported.stderr);
    places.push({ name: "pulumi stack export", text: exported.stdout });
    // more pulumi output, captured in pulumi.log with everything else the run did
    await pulumi(stack.name, ["preview", "--diff", "--refresh"]);
    await pulumi(stack.name, ["refresh", "--preview-only"]);
    // verbose logging at level 6, the most verbose Pulumi 3.248 keeps secrets out of: from level 7
    // on it prints resource inputs in plain text, secret configuration too (docs/security.md)
    const sampled = await sampleArguments(() => pulumi(stack.name, ["up", "--yes", "--skip-preview", "--expect-no-changes", `-v=${SAFE_VERBOSITY}`, "--logtostderr", "--logflow"]));
    places.push({ name: `arguments of ${sampled.processes} processes sampled ${sampled.samples} times during pulumi up`, text: sampled.text });
    // every pulumi command of the run but those that ask for the secrets (`--show-secrets`, how
    // this run reads the generated credentials)
    const logged = fs.readFileSync(path.join(WORK, "pulumi.log"), "utf8").split(/\n(?=\$ pulumi )/);
    const searched = logged.filter((entry) => !/^\$ pulumi [^\n]*--show-secrets/.test(entry));
    // each command its own place, so that a hit names the command (the first line of its entry)
    for (const [i, entry] of searched.entries()) places.push({ name: `pulumi.log #${i + 1} (${entry.split("\n", 1)[0]!.slice(0, 120)})`, text: entry });
    console.log(`  pulumi output searched: ${searched.length} commands in pulumi.log (up, preview --diff, refresh, verbose); ${logged.length - searched.length} with --show-secrets left out`);
    for (const root of ["/var/snap/lxd/common/lxd/logs", "/var/log/lxd"]) for (const f of filesUnder(root)) places.push({ name: f, text: fs.readFileSync(f, "latin1") });
    const audit = auditPlaces(secrets, places);
    // world-readable files of every container: the secrets go in on stdin, never as arguments
    const worldHits: string[] = [];
    let scanned = 0;
    const modeProblems: string[] = [];
    for (const n of nodes) {
      const r = await run("lxc", ["exec", stack.container(n), "--", "bash", "-c", WORLD_READABLE_SCAN], { input: Object.values(secrets).join("\n") + "\n", timeoutMs: 600_000 });
      assert(r.code === 0, `${n}: ${r.stderr}`);
      const [count, ...hits] = r.stdout.trim().split("\n");
      scanned += Number(count);
      worldHits.push(...hits.filter(Boolean).map((h) => `${n}:${h}`));
      const modes = await run("lxc", ["exec", stack.container(n), "--", "bash", "-c", SECRET_FILE_MODES], { timeoutMs: 60_000 });
      modeProblems.push(...secretFileModeProblems(modes.stdout.trim().split("\n").filter(Boolean).map((l) => {
        const [mode, owner, group, p] = l.split(" ");
        return { path: `${n}:${p}`, mode, owner, group, secret: true };
      })));
    }
    const total = audit.hits.length + worldHits.length;
    const line = `secrets audit: ${total} hits in ${audit.places + scanned} places (${audit.secrets} secrets; ${scanned} world-readable files in ${nodes.length} containers)`;
    console.log(`  ${line}`);
    assert(total === 0, [audit.line, ...worldHits.map((h) => `world-readable: ${h}`)].join("; "));
    assert(modeProblems.length === 0, modeProblems.join("; "));
    return line;
  });
}

/** Fixed text: the secrets (one a line) on stdin; prints how many world-readable files it read, then each that holds one. */
const WORLD_READABLE_SCAN = `set -eu
list=$(mktemp); trap 'rm -f "$list"' EXIT
cat > "$list"
files=$(mktemp); trap 'rm -f "$list" "$files"' EXIT
find / -xdev \\( -path /proc -o -path /sys -o -path /dev -o -path /run \\) -prune -o -type f -perm -o=r -size -20M -print0 > "$files"
tr -cd '\\0' < "$files" | wc -c
xargs -0 -r grep -lF -f "$list" -- < "$files" 2>/dev/null || true
`;

/** Fixed text: mode, owner, group and path of the files that hold secrets, where present. */
const SECRET_FILE_MODES = `for f in ${PATHS.dhis2Home}/dhis.conf ${PATHS.htpasswd} /etc/postfix/sasl_passwd /etc/postfix/sasl_passwd.db; do
  [ -e "$f" ] && stat -c '%04a %U %G %n' "$f"
done
find / -xdev -name .pgpass -exec stat -c '%04a %U %G %n' {} + 2>/dev/null || true
`;

/** Runs `fn` while reading every process's arguments (/proc/<pid>/cmdline) every 100 ms. */
async function sampleArguments<T>(fn: () => Promise<T>): Promise<{ result: T; text: string; processes: number; samples: number }> {
  const seen = new Map<string, string>();
  let samples = 0;
  let done = false;
  const sampler = (async () => {
    while (!done) {
      samples++;
      for (const pid of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
        try {
          const args = fs.readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0").join(" ");
          if (args) seen.set(`${pid} ${args}`, args);
        } catch { /* gone */ }
      }
      await sleep(100);
    }
  })();
  try {
    const result = await fn();
    return { result, text: [...seen.values()].join("\n"), processes: seen.size, samples };
  } finally {
    done = true;
    await sampler;
  }
}

function filesUnder(root: string): string[] {
  if (!fs.existsSync(root)) return [];
  return fs.readdirSync(root, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(root, e.name);
    if (e.isDirectory()) return filesUnder(full);
    return e.isFile() && fs.statSync(full).size < 50_000_000 ? [full] : [];
  });
}

/** Runs the tasks, at most `limit` at a time; the first failure is thrown once all have ended. */
async function inParallel(tasks: ReadonlyArray<() => Promise<void>>, limit: number): Promise<void> {
  const queue = [...tasks];
  const errors: unknown[] = [];
  const worker = async () => {
    for (let task = queue.shift(); task; task = queue.shift()) {
      try { await task(); } catch (e) { errors.push(e); }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  if (errors.length) throw errors[0];
}

/** Installs lynis in a container (Debian archive), runs its system audit, returns the hardening index. */
async function lynisIndex(container: string): Promise<number> {
  const r = await run("lxc", ["exec", container, "--", "bash", "-c", LYNIS_AUDIT], { timeoutMs: 40 * 60_000 });
  const m = /^hardening_index=(\d+)$/m.exec(r.stdout);
  assert(m, `${container}: no hardening index (exit ${r.code}):\n${r.stderr.slice(-2000)}`);
  return Number(m[1]);
}

/** Fixed text: lynis from the Debian archive, a full system audit, the index from its report. */
const LYNIS_AUDIT = `set -eu
export DEBIAN_FRONTEND=noninteractive
command -v lynis >/dev/null || { apt-get -q update >/dev/null; apt-get install -y -q --no-install-recommends lynis >/dev/null; }
lynis audit system --quick --no-colors --quiet --report-file /root/lynis-report.dat >/dev/null 2>&1 || true
grep -E '^(hardening_index|warning\\[\\]|suggestion\\[\\])=' /root/lynis-report.dat
`;
