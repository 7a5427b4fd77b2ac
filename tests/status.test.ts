/**
 * A host's health check (templates/host/status.sh.hbs, /usr/local/sbin/dhis2-status), as rendered
 * for the local stack's database, run by bash with stand-ins for the programs it asks (systemctl,
 * pg_isready, nft, df, mail): one line per check; exit 1 on a failure; --repair starts a stopped
 * service; --alert mails when the set of problems changes (a new problem, all clear), not on every
 * run while a problem lasts.
 */
import test from "ava";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readStackFile, stackFilePath } from "../lib/config/stack-file";
import { loadDeployment, loadStackFile } from "../lib/load";
import { renderDeployment } from "../lib/render/hosts";
import { PATHS } from "../lib/render/paths";
import { placeholderSecrets } from "../lib/render/secrets";

const PROJECT = path.resolve(__dirname, "..");

function statusScript(host: string): string {
  const plan = loadStackFile(PROJECT, "local").plan;
  const db = renderDeployment(plan, { secrets: placeholderSecrets(plan) }).find((h) => h.host === host)!;
  return db.files.find((f) => f.path === PATHS.status)!.content;
}

/** A directory with the script, stand-in programs, and their state (which services are active). */
function sandbox(host = "database"): { dir: string; run: (...args: string[]) => { status: number | null; out: string }; stop: (unit: string) => void; start: (unit: string) => void; mails: () => string[]; answer: (curlOutput: string) => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dhis2-status-"));
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(dir, "dhis2-status"), statusScript(host), { mode: 0o755 });
  const stub = (name: string, body: string) => fs.writeFileSync(path.join(bin, name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
  // systemctl is-active UNIT: "inactive" when the unit is in stopped/; start UNIT removes it
  stub("systemctl", `case "$1" in is-active) if [ -e ${dir}/stopped/$2 ]; then echo inactive; exit 3; else echo active; fi ;; start) rm -f ${dir}/stopped/$2 ;; esac`);
  stub("pg_isready", `[ ! -e ${dir}/stopped/postgresql@15-main ]`);
  stub("nft", "exit 0");
  stub("df", "printf 'Use%%\\n 42%%\\n'");
  stub("mail", `{ echo "SUBJECT: $2"; cat; echo "--"; } >> ${dir}/mails`);
  // curl -w '%{http_code} %{time_total}': what the test sets (000 when nothing answers)
  stub("curl", `cat ${dir}/curl-answer 2>/dev/null || echo "000 0.000"`);
  fs.mkdirSync(path.join(dir, "stopped"));
  // dhis2-backup's state: a backup made just now
  fs.mkdirSync(path.join(dir, "backup"));
  fs.writeFileSync(path.join(dir, "backup", "last-success"), "");
  return {
    dir,
    run: (...args) => {
      const r = spawnSync("bash", [path.join(dir, "dhis2-status"), ...args], { env: { PATH: `${bin}:/usr/bin:/bin`, DHIS2_STATUS_STATE_DIR: path.join(dir, "state"), DHIS2_BACKUP_STATE_DIR: path.join(dir, "backup") }, encoding: "utf8" });
      return { status: r.status, out: r.stdout + r.stderr };
    },
    stop: (unit) => fs.writeFileSync(path.join(dir, "stopped", unit), ""),
    start: (unit) => fs.rmSync(path.join(dir, "stopped", unit), { force: true }),
    answer: (curlOutput) => fs.writeFileSync(path.join(dir, "curl-answer"), `${curlOutput}\n`),
    mails: () => (fs.existsSync(path.join(dir, "mails")) ? fs.readFileSync(path.join(dir, "mails"), "utf8").split("--\n").filter((m) => m.trim()) : []),
  };
}

test("dhis2-status: all ok exits 0; a stopped PostgreSQL is a failure naming the service; --repair starts it", (t) => {
  const s = sandbox();
  const ok = s.run();
  t.is(ok.status, 0, ok.out);
  for (const line of ["ok service:postgresql@15-main active", "ok postgresql accepts connections", "ok firewall", "ok service:munin-node active", "ok service:postfix active", "ok disk:/ 42% used", "ok disk:/var/lib/postgresql 42% used"]) {
    t.true(ok.out.includes(line), `${line}\n${ok.out}`);
  }
  s.stop("postgresql@15-main");
  const down = s.run();
  t.is(down.status, 1);
  t.regex(down.out, /^fail service:postgresql@15-main inactive$/m);
  t.regex(down.out, /^fail postgresql does not accept connections/m);
  const repaired = s.run("--repair");
  t.is(repaired.status, 0, repaired.out);
  t.regex(repaired.out, /^ok service:postgresql@15-main active \(started by dhis2-status --repair\)$/m);
});

test("dhis2-status: a backup older than dhis2:backup.maxAgeHours, or none, is a failure", (t) => {
  const s = sandbox();
  t.regex(s.run().out, /^ok backup last successful backup: 0 minutes ago$/m);
  const stamp = path.join(s.dir, "backup", "last-success");
  const old = new Date(Date.now() - 27 * 3600 * 1000);
  fs.utimesSync(stamp, old, old);
  const late = s.run();
  t.is(late.status, 1);
  t.regex(late.out, /^fail backup last successful backup: 16\d\d minutes ago$/m);
  fs.rmSync(stamp);
  t.regex(s.run().out, /^fail backup last successful backup: never/m);
});

test("dhis2-status --alert: one mail when a problem starts, none while it lasts, one when all is clear again", (t) => {
  const s = sandbox();
  t.is(s.run("--alert").status, 0);
  t.is(s.mails().length, 0, "nothing to say while everything is ok");
  s.stop("postfix");
  s.run("--alert");
  t.is(s.mails().length, 1);
  t.regex(s.mails()[0]!, /SUBJECT: \[DHIS2 local\] 1 problem\(s\) on dhis2-database/);
  t.regex(s.mails()[0]!, /fail service:postfix inactive/);
  s.run("--alert");
  s.run("--alert");
  t.is(s.mails().length, 1, "no mail on every run while the problem lasts");
  s.stop("munin-node");
  s.run("--alert");
  t.is(s.mails().length, 2, "a new problem is a new mail");
  s.start("postfix");
  s.start("munin-node");
  s.run("--alert");
  t.is(s.mails().length, 3);
  t.regex(s.mails()[2]!, /SUBJECT: \[DHIS2 local\] all clear on dhis2-database/);
});

test("dhis2-status on an instance: /api/ping ok, slow (a warning, mailed once), down (a failure), with the stack's threshold", (t) => {
  const s = sandbox("production");
  s.answer("200 0.150");
  const ok = s.run("--alert");
  t.is(ok.status, 0, ok.out);
  t.regex(ok.out, /^ok ping:production http:\/\/10\.\d+\.\d+\.\d+:8080\/api\/ping 200 in 150 ms$/m);
  s.answer("200 2.750");
  const slow = s.run("--alert");
  t.is(slow.status, 0, "slow is a warning, not a failure");
  t.regex(slow.out, /^warn ping:production \S+ 200 but slow: 2750 ms \(threshold 2000 ms\)$/m);
  s.run("--alert");
  t.is(s.mails().length, 1, "one mail while DHIS2 stays slow");
  t.regex(s.mails()[0]!, /warn ping:production/);
  s.answer("503 0.010");
  const down = s.run("--alert");
  t.is(down.status, 1);
  t.regex(down.out, /^fail ping:production \S+ 503$/m);
  t.is(s.mails().length, 2, "slow → down is a change of state: mailed");
  s.answer("200 0.100");
  s.run("--alert");
  t.regex(s.mails()[2]!, /all clear on dhis2-production/);
});

test("dhis2-status on the proxy: /api/ping through nginx for each instance and the certificate's days left, with the stack's thresholds", (t) => {
  const script = statusScript("proxy");
  t.regex(script, /^check_http ping-via-proxy:production https:\/\/dhis2\.local\/api\/ping 2000 -k --resolve dhis2\.local:443:127\.0\.0\.1/m);
  const certificate = /^check_certificate certificate:dhis2\.local (\S+) 21 7$/m.exec(script)?.[1];
  t.truthy(certificate, script);
  // the real openssl reads certificates that expire in 60, 10 and 3 days
  const s = sandbox("proxy");
  s.answer("200 0.050");
  for (const [days, expected] of [[60, /^ok certificate:dhis2\.local (59|60) days left$/m], [10, /^warn certificate:dhis2\.local expires in (9|10) days/m], [3, /^fail certificate:dhis2\.local expires in (2|3) days/m]] as const) {
    const pem = path.join(s.dir, `cert-${days}.pem`);
    const made = spawnSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", path.join(s.dir, "key.pem"), "-out", pem, "-days", String(days), "-subj", "/CN=dhis2.local"], { encoding: "utf8" });
    t.is(made.status, 0, made.stderr);
    fs.writeFileSync(path.join(s.dir, "dhis2-status"), script.split(certificate!).join(pem), { mode: 0o755 });
    const r = s.run();
    t.regex(r.out, expected, r.out);
    t.regex(r.out, /^ok ping-via-proxy:production https:\/\/dhis2\.local\/api\/ping 200 in 50 ms$/m);
  }
});

test("the ping and certificate thresholds come from dhis2:monitoring.thresholds", (t) => {
  const local = readStackFile(stackFilePath(PROJECT, "local")).project;
  const plan = loadDeployment("local", { ...local, monitoring: { thresholds: { pingSlowMs: 5000, certificateWarningDays: 30, certificateCriticalDays: 10 } } }, "test").plan;
  const hosts = renderDeployment(plan, { secrets: placeholderSecrets(plan) });
  const of = (host: string) => hosts.find((h) => h.host === host)!.files.find((f) => f.path === PATHS.status)!.content;
  t.regex(of("proxy"), /^check_http ping-via-proxy:production \S+ 5000 /m);
  t.regex(of("proxy"), /^check_certificate certificate:\S+ \S+ 30 10$/m);
  t.regex(of("production"), /^check_http ping:production \S+ 5000$/m);
});
