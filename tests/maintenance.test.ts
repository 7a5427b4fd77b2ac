/**
 * The maintenance window (dhis2:maintenance.window): unattended-upgrades leaves the data path
 * (PostgreSQL, Tomcat, the JDK) alone, read by the real apt-config; the window's timer and service
 * checked by systemd-analyze; the window's script run by bash with stand-ins for dpkg-query and
 * apt-get upgrades only the data path packages installed on the host.
 */
import test from "ava";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { maintenanceCalendar } from "../lib/roles/common/maintenance";
import { renderDeployment } from "../lib/render/hosts";
import { PATHS } from "../lib/render/paths";
import { placeholderSecrets } from "../lib/render/secrets";
import { systemdVerify } from "./support/realtools";
import { cloudStack, load } from "./support/stacks";

function databaseFiles(window?: string) {
  const plan = load({ ...cloudStack({ isolation: "vm", cpus: 4, memoryGb: 8 }), ...(window ? { maintenance: { window } } : {}) }).plan;
  const db = renderDeployment(plan, { secrets: placeholderSecrets(plan) }).find((h) => h.role === "database")!;
  return (p: string) => db.files.find((f) => f.path === p)!;
}

test("unattended-upgrades never upgrades PostgreSQL, Tomcat or the JDK (the real apt-config reads the rendered file)", (t) => {
  const conf = databaseFiles()(PATHS.maintenanceApt);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "apt-conf-"));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, "apt.conf"), conf.content);
  const r = spawnSync("apt-config", ["dump", "Unattended-Upgrade"], { env: { PATH: "/usr/bin:/bin", APT_CONFIG: path.join(dir, "apt.conf") }, encoding: "utf8" });
  t.is(r.status, 0, r.stderr);
  for (const p of ["postgresql-", "libpq5", "tomcat", "openjdk-"]) t.regex(r.stdout, new RegExp(`^Unattended-Upgrade::Package-Blacklist:: "${p}";$`, "m"), r.stdout);
  t.regex(r.stdout, /^Unattended-Upgrade::Automatic-Reboot "false";$/m);
});

test("the window's timer and service pass systemd-analyze verify, at the stack's time", async (t) => {
  const of = databaseFiles("Wed 01:30");
  const timer = of(PATHS.maintenanceTimer).content;
  t.regex(timer, /^OnCalendar=Wed \*-\*-\* 01:30:00$/m);
  const r = await systemdVerify("dhis2-maintenance.timer", timer, { extraUnits: { "dhis2-maintenance.service": of(PATHS.maintenanceService).content }, files: [of(PATHS.maintenance)] });
  t.true(r.ok, r.output);
  t.is(maintenanceCalendar("daily 23:59"), "*-*-* 23:59:00");
  t.throws(() => maintenanceCalendar("Sunday 3am"));
});

test("the window's script upgrades only the data path packages installed here, then repairs", (t) => {
  const script = databaseFiles()(PATHS.maintenance).content;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "maintenance-"));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin);
  const stub = (name: string, body: string) => fs.writeFileSync(path.join(bin, name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
  stub("dpkg-query", "printf 'postgresql-16 installed\\npostgresql-common installed\\nlibpq5 installed\\nnginx installed\\nopenjdk-17-jre-headless config-files\\nmunin-node installed\\n'");
  stub("apt-get", `echo "apt-get $*" >> ${dir}/log`);
  stub("dhis2-status", `echo "status $*" >> ${dir}/log`);
  const r = spawnSync("bash", ["-c", script.split(PATHS.status).join(path.join(bin, "dhis2-status"))], { env: { PATH: `${bin}:/usr/bin:/bin` }, encoding: "utf8" });
  t.is(r.status, 0, r.stdout + r.stderr);
  const log = fs.readFileSync(path.join(dir, "log"), "utf8").trim().split("\n");
  t.deepEqual(log, [
    "apt-get update -q",
    "apt-get install -y -q --only-upgrade -o Dpkg::Options::=--force-confold postgresql-16 postgresql-common libpq5",
    "status --repair",
  ]);
});

test("the local platform's containers get the maintenance window too (they live as long as servers)", (t) => {
  const plan = load({ platform: "local", sizes: { host: { cpus: 2, memoryGb: 8 } }, instances: [{ name: "production", version: "2.42.1" }] }).plan;
  for (const h of renderDeployment(plan, { secrets: placeholderSecrets(plan) })) {
    t.true(h.files.some((f) => f.path.includes("maintenance")), h.host);
    // unattended-upgrades is in the package list, so in the container's package image (and in
    // apt-cache madison's check), not installed by an apt-get install of its own after the list
    t.true(h.packages.includes("unattended-upgrades"), h.host);
    const setup = h.steps.find((s) => s.kind === "script" && s.name === "setup");
    const installs = (setup && setup.kind === "script" ? setup.script.match(/apt_get install [^\n]*/g) ?? [] : []).filter((l) => l.includes("unattended-upgrades"));
    t.is(installs.length, 1, `${h.host}: ${installs.join(" | ")}`);
    t.true(h.packages.every((p) => installs[0]!.includes(p)), `${h.host}: the list's own install`);
  }
});
