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
import { loadStackFile } from "../lib/load";
import { renderDeployment } from "../lib/render/hosts";
import { PATHS } from "../lib/render/paths";
import { placeholderSecrets } from "../lib/render/secrets";

const PROJECT = path.resolve(__dirname, "..");

function databaseStatusScript(): string {
  const plan = loadStackFile(PROJECT, "local").plan;
  const db = renderDeployment(plan, { secrets: placeholderSecrets(plan) }).find((h) => h.host === "database")!;
  return db.files.find((f) => f.path === PATHS.status)!.content;
}

/** A directory with the script, stand-in programs, and their state (which services are active). */
function sandbox(): { dir: string; run: (...args: string[]) => { status: number | null; out: string }; stop: (unit: string) => void; start: (unit: string) => void; mails: () => string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dhis2-status-"));
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(dir, "dhis2-status"), databaseStatusScript(), { mode: 0o755 });
  const stub = (name: string, body: string) => fs.writeFileSync(path.join(bin, name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
  // systemctl is-active UNIT: "inactive" when the unit is in stopped/; start UNIT removes it
  stub("systemctl", `case "$1" in is-active) if [ -e ${dir}/stopped/$2 ]; then echo inactive; exit 3; else echo active; fi ;; start) rm -f ${dir}/stopped/$2 ;; esac`);
  stub("pg_isready", `[ ! -e ${dir}/stopped/postgresql@15-main ]`);
  stub("nft", "exit 0");
  stub("df", "printf 'Use%%\\n 42%%\\n'");
  stub("mail", `{ echo "SUBJECT: $2"; cat; echo "--"; } >> ${dir}/mails`);
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
