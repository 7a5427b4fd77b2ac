/**
 * The host verification (templates/host/verify-host.sh.hbs, lib/render/host-facts.ts): the
 * rendered script run for real on this machine in a temporary directory, and the parser and the
 * judgement on output captured from a real run (tests/support/host-facts/).
 */
import test from "ava";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { formatHostChecks, judgeHost, parseHostFacts, THRESHOLDS, verdictSummary, type ExpectedHost } from "../lib/render/host-facts";
import { renderDeployment } from "../lib/render/hosts";
import { placeholderSecrets } from "../lib/render/secrets";
import { declaredStack, load } from "./support/stacks";

const CAPTURED = path.join(__dirname, "support", "host-facts", "this-machine-2cpu-vda.txt");
const plan = load(declaredStack({ isolation: "vm", cpus: 4, memoryGb: 16 })).plan;
const hosts = renderDeployment(plan, { secrets: placeholderSecrets(plan) });
const hasFio = (() => { try { execFileSync("bash", ["-c", "command -v fio"]); return true; } catch { return false; } })();

test("every node gets a verification against its own size; the database's tests PostgreSQL's data disk", (t) => {
  t.deepEqual(hosts.map((h) => h.verify.expected.node), hosts.map((h) => h.host));
  const db = hosts.find((h) => h.host === "database")!.verify;
  t.deepEqual(db.expected, { node: "database", key: "dhis2:sizes.database", cpus: 4, memoryMb: 16 * 1024, disk: "ssd" });
  t.true(db.script.includes("default_dir='/var/lib/postgresql'"));
  const production = hosts.find((h) => h.host === "production")!.verify;
  t.is(production.expected.key, "dhis2:instances[0].size");
  // production's disk that matters is its file store's volume
  t.true(production.script.includes("default_dir='/var/lib/dhis2'"), production.script.slice(0, 400));
});

test("the rendered script runs on this machine: CPUs, memory, dd latency, fio IOPS where installed, CPU steal", (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dhis2-verify-"));
  try {
    const script = hosts.find((h) => h.host === "database")!.verify.script;
    const out = execFileSync("bash", ["-s"], {
      input: script, encoding: "utf8",
      env: { ...process.env, DHIS2_VERIFY_DIR: dir, DHIS2_VERIFY_STEAL_SECONDS: "1", DHIS2_VERIFY_FIO_SECONDS: "2" },
    });
    const facts = parseHostFacts(out);
    t.deepEqual(facts.unreadable, [], out);
    t.is(facts.cpus, Number(execFileSync("nproc", { encoding: "utf8" }).trim()));
    t.is(facts.memoryMb, Math.floor(Number(/^MemTotal:\s+(\d+)/m.exec(fs.readFileSync("/proc/meminfo", "utf8"))![1]) / 1024));
    t.is(facts.diskDir, dir);
    t.true(facts.ddSeconds! > 0, out);
    t.true(facts.stealPercent! >= 0 && facts.stealPercent! <= 100, out);
    if (hasFio) t.true(facts.fioReadIops! > 0 && facts.fioWriteIops! > 0, out);
    else t.is(facts.fioReadIops, undefined);
    // the test files are gone, the directory is left as it was
    t.deepEqual(fs.readdirSync(dir), []);
    const v = judgeHost(facts, { node: "database", key: "dhis2:sizes.database", cpus: facts.cpus!, memoryMb: facts.memoryMb!, disk: "ssd" }, false);
    t.is(v.warnings.some((w) => w.includes("dd of 1000 synchronous")), facts.ddSeconds! > THRESHOLDS.ddGoodSeconds);
    t.log(`this machine: ${verdictSummary(v)}${v.warnings.length ? `\n  ${v.warnings.join("\n  ")}` : ""}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("captured output of a real run: parsed, and judged against the size declared (warnings, or failures with strict)", (t) => {
  const facts = parseHostFacts(fs.readFileSync(CAPTURED, "utf8"));
  t.deepEqual(facts, {
    cpus: 2, memoryMb: 24105, diskDir: "/tmp/wt14-vdir", diskDevice: "/dev/vda", diskRotational: true,
    ddSeconds: 1.85794, fioReadIops: 3059, fioWriteIops: 3057, stealPercent: 0, unreadable: [],
  });
  const fits: ExpectedHost = { node: "database", key: "dhis2:sizes.database", cpus: 2, memoryMb: 24 * 1024, disk: "hdd" };
  t.deepEqual(judgeHost(facts, fits, true).failures, [], "an hdd at 1.9 s, 2 CPUs, 23.5 of 24 GB: all within the size");
  const declared: ExpectedHost = { node: "database", key: "dhis2:sizes.database", cpus: 4, memoryMb: 32 * 1024, disk: "nvme" };
  const v = judgeHost(facts, declared, false);
  t.deepEqual(v.failures, []);
  t.deepEqual(v.warnings, [
    "database has 2 CPUs, dhis2:sizes.database.cpus declares 4",
    "database has 23.5 GB of memory, dhis2:sizes.database.memoryGb declares 32 GB (at least 90% expected)",
    "database's disk is slower than the declared nvme: dd of 1000 synchronous 512-byte writes took 1.85794 s (seed 000: under 0.5 s on a good disk)",
    "database's disk does 3059 random 4k read IOPS (fio), below 10000 for the declared nvme",
    "database's disk does 3057 random 4k write IOPS (fio), below 10000 for the declared nvme",
  ]);
  const strict = judgeHost(facts, declared, true);
  t.deepEqual(strict.failures, v.warnings);
  t.deepEqual(strict.warnings, []);
  t.is(verdictSummary(strict), "FAIL database: 2 CPU, 23.5 GB, dd 1.85794 s, fio 3059/3057 IOPS r/w, steal 0%");
});

test("a broken or partial run is reported, never taken as a pass; too slow and stolen CPU are named", (t) => {
  const expected: ExpectedHost = { node: "proxy", key: "dhis2:sizes.proxy", cpus: 1.5, memoryMb: 2048, disk: "hdd" };
  const broken = judgeHost(parseHostFacts("verify_version=1\ncpus=2\nmemory_kb=2000000\ndd_seconds=error\nfio=not installed\nsteal_pct=12.50\n"), expected, false);
  t.deepEqual(broken.warnings, [
    "proxy: the dd disk latency test did not run",
    "proxy loses 12.5% of its CPU time to the hypervisor (steal over 5%: the host is over-provisioned, seed 000)",
    "proxy: unreadable lines in the verification output: dd_seconds=error",
  ]);
  const slow = judgeHost(parseHostFacts("cpus=1\nmemory_kb=2097152\ndd_seconds=7.2\nsteal_pct=0.00\n"), expected, false);
  t.deepEqual(slow.warnings, [
    "proxy has 1 CPUs, dhis2:sizes.proxy.cpus declares 1.5",
    "proxy's disk is too slow: dd of 1000 synchronous 512-byte writes took 7.2 s (seed 000: over 5 s is too slow for DHIS2)",
  ]);
  t.deepEqual(judgeHost(parseHostFacts(""), expected, false).warnings.length, 3);
});

test("the stack output hostChecks as the review prints it", (t) => {
  const facts = parseHostFacts(fs.readFileSync(CAPTURED, "utf8"));
  const v = judgeHost(facts, { node: "database", key: "dhis2:sizes.database", cpus: 2, memoryMb: 24 * 1024, disk: "ssd" }, false);
  t.deepEqual(formatHostChecks({ database: { ...v, summary: verdictSummary(v) } }), [
    "warn database: 2 CPU, 23.5 GB, dd 1.85794 s, fio 3059/3057 IOPS r/w, steal 0%",
    "    database's disk is slower than the declared ssd: dd of 1000 synchronous 512-byte writes took 1.85794 s (seed 000: under 0.5 s on a good disk)",
  ]);
  t.deepEqual(formatHostChecks(null), []);
});

test("dhis2:hostCheck.strict: false unless set; a wrong value or key is refused by its key", (t) => {
  const base = declaredStack({ isolation: "vm", cpus: 4, memoryGb: 16 });
  t.false(load(base).plan.config.hostCheck.strict);
  t.true(load({ ...base, hostCheck: { strict: true } }).plan.config.hostCheck.strict);
  t.throws(() => load({ ...base, hostCheck: { strict: "yes" } }), { message: /dhis2:hostCheck\.strict: must be true or false \(got "yes"\)/ });
  t.throws(() => load({ ...base, hostCheck: { strikt: true } }), { message: /dhis2:hostCheck\.strikt: unknown key: did you mean "strict"\?/ });
});
