/** npm run restore and npm run backups: what they run on which host, and what they refuse. */
import test from "ava";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { loadStackFile } from "../lib/load";
import { backupNodes, dryRunCommands, parseList, restoreCommands, restoreProblems, type RestoreOptions } from "../scripts/lib/restore";

const PROJECT = path.resolve(__dirname, "..");
const plan = loadStackFile(PROJECT, "local").plan;
const base: RestoreOptions = { instance: "production", from: "latest", filesFrom: "latest", repo: "local", databaseOnly: false };

test("a restore: DHIS2 stopped, the database, then the file store (which starts DHIS2); a dry run asks both hosts first", (t) => {
  t.deepEqual(restoreProblems(plan, base), []);
  t.deepEqual(dryRunCommands({ ...base, from: "1a2b3c4d" }), [
    { node: "database", command: "/usr/local/sbin/dhis2-restore '--instance' 'production' '--snapshot' '1a2b3c4d' '--repo' 'local' '--dry-run'" },
    { node: "production", command: "/usr/local/sbin/dhis2-restore '--instance' 'production' '--snapshot' 'latest' '--repo' 'local' '--dry-run'" },
  ]);
  t.deepEqual(restoreCommands(base).map((c) => `${c.node}: ${c.command.replace("/usr/local/sbin/", "")}`), [
    "production: systemctl stop dhis2",
    "database: dhis2-restore '--instance' 'production' '--snapshot' 'latest' '--repo' 'local' '--yes'",
    "production: dhis2-restore '--instance' 'production' '--snapshot' 'latest' '--repo' 'local' '--yes'",
  ]);
  t.deepEqual(restoreCommands({ ...base, databaseOnly: true }).map((c) => c.command).at(-1), "systemctl start dhis2");
  t.deepEqual(backupNodes(plan), ["database", ...plan.instances.map((i) => i.config.name)]);
});

test("a restore refuses an unknown instance, a snapshot that is no ID, and an off-site copy the stack does not have", (t) => {
  t.deepEqual(restoreProblems(plan, { ...base, instance: "nope" }), [`--instance must be one of: ${plan.instances.map((i) => i.config.name).join(", ")}`]);
  t.regex(restoreProblems(plan, { ...base, from: "$(reboot)" }).join("\n"), /--from must be LATEST or a snapshot ID/);
  t.regex(restoreProblems(plan, { ...base, repo: "offsite" }).join("\n"), /no dhis2:backup\.offsite/);
  const r = spawnSync("npx", ["tsx", "scripts/restore.ts", "--stack", "local", "--instance", "nope"], { cwd: PROJECT, encoding: "utf8" });
  t.is(r.status, 2);
  t.regex(r.stderr, /--instance must be one of/);
});

test("npm run backups reads dhis2-restore --list", (t) => {
  const { backups, repository } = parseList("database", "snapshot\t1a2b3c4d\t2026-12-02T01:30:12.1+00:00\t/production.dump\t123456\nrepository\tlocal\t/var/lib/postgresql/dhis2-backup\t99999\n");
  t.deepEqual(backups, [{ node: "database", id: "1a2b3c4d", time: "2026-12-02T01:30:12.1+00:00", what: "/production.dump", bytes: 123456 }]);
  t.deepEqual(repository, { kind: "local", location: "/var/lib/postgresql/dhis2-backup", bytes: 99999 });
});
