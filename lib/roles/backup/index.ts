/**
 * Role `backup`: restic backups of what a node keeps (docs/backups.md), on the database node
 * (each instance's database, pg_dump -Fc without analytics and resource tables) and on each
 * instance node (the DHIS2 file store and dhis.conf). An encrypted local repository on the node's
 * data volume, a copy in an S3-compatible object store when dhis2:backup.offsite is set,
 * retention by restic forget; dhis2-backup (its timer), dhis2-restore, a failure mail, a munin
 * graph of the backup's age and a status check. Templates: templates/backup/.
 */
import type { Plan } from "../../plan";
import { renderTemplate } from "../../render/engine";
import { file, type RenderedFile } from "../../render/file";
import { PATHS } from "../../render/paths";
import type { DeploymentSecrets } from "../../render/secrets";
import { POSTGRES_DATA_PATH } from "../database";
import { NOTHING, type Role, type RoleContext, type RoleStep } from "../types";

/** The local restic repository of a node: on its data volume, apart from compute. */
export function localRepository(node: { readonly role: string }): string {
  return node.role === "database" ? `${POSTGRES_DATA_PATH}/dhis2-backup` : `${PATHS.dhis2DataDir}/backup`;
}

/** What the backup and restore scripts of a node are rendered with. */
export function backupContext(plan: Plan, node: { readonly name: string; readonly role: string }): Record<string, unknown> {
  const { config } = plan;
  const database = node.role === "database";
  return {
    stack: config.stack,
    database,
    instances: plan.instances.map((i) => ({ name: i.config.name, database: i.database, user: i.databaseUser })),
    instance: database ? "" : node.name,
    fileStore: PATHS.dhis2FileStore,
    dhisConf: `${PATHS.dhis2Home}/dhis.conf`,
    localRepo: localRepository(node),
    confDir: PATHS.backupConf,
    stateDir: PATHS.backupState,
    retention: config.backup.retention,
    offsite: Boolean(config.backup.offsite),
    recipients: config.alerts.recipients.length ? config.alerts.recipients : ["root"],
  };
}

/** The rendered dhis2-backup and dhis2-restore of a node (the realtools test runs them). */
export function backupScripts(plan: Plan, node: { readonly name: string; readonly role: string }): { backup: string; restore: string } {
  const ctx = backupContext(plan, node);
  return { backup: renderTemplate("backup/backup.sh.hbs", ctx), restore: renderTemplate("backup/restore.sh.hbs", ctx) };
}

function files({ plan, node }: RoleContext, secrets: DeploymentSecrets): RenderedFile[] {
  const { config } = plan;
  const stack = config.stack;
  const b = config.backup;
  const conf = PATHS.backupConf;
  const scripts = backupScripts(plan, node);
  const database = node.role === "database";
  const out: RenderedFile[] = [
    file(`${conf}/password`, renderTemplate("backup/password.hbs", { password: secrets.backupPassword }), "0600", "root", "root", undefined, true),
    file(PATHS.backupCommand, scripts.backup, "0755", "root", "root"),
    file(PATHS.restoreCommand, scripts.restore, "0755", "root", "root"),
    file(PATHS.backupService, renderTemplate("backup/backup.service.hbs", {
      stack, database, command: PATHS.backupCommand, what: database ? "databases" : `file store of ${node.name}`,
    }), "0644", "root", "root", "systemctl daemon-reload"),
    file(PATHS.backupTimer, renderTemplate("backup/backup.timer.hbs", { stack, schedule: b.schedule }), "0644", "root", "root", "systemctl daemon-reload && systemctl restart dhis2-backup.timer"),
    file(PATHS.backupMuninPlugin, renderTemplate("backup/munin-backup-age.hbs", {
      stack, stateDir: PATHS.backupState, warning: b.maxAgeHours, critical: b.maxAgeHours * 2, never: b.maxAgeHours * 2 + 1,
    }), "0755", "root", "root", "systemctl restart munin-node"),
  ];
  if (b.offsite) {
    out.push(file(`${conf}/restic.env`, renderTemplate("backup/restic.env.hbs", {
      stack, repository: b.offsite.repository, accessKeyId: b.offsite.accessKeyId, secretAccessKey: secrets.offsiteSecretAccessKey ?? "",
    }), "0600", "root", "root", undefined, true));
  }
  if (database) {
    // each instance's encryption.password: its fingerprint goes with every dump, and
    // dhis2-restore refuses a dump made with another one
    for (const i of plan.instances) {
      const name = i.config.name;
      out.push(file(`${conf}/encryption-${name}`, renderTemplate("backup/password.hbs", { password: secrets.encryptionPasswords[name] }), "0600", "root", "root", undefined, true));
    }
  }
  return out;
}

function steps(): RoleStep[] {
  return [{ name: "first-backup", phase: "after", script: renderTemplate("backup/first-backup.sh.hbs", { stateDir: PATHS.backupState, command: PATHS.backupCommand }) }];
}

export const backup: Role = {
  ...NOTHING,
  name: "backup",
  packages: () => ["restic", "jq"],
  files,
  services: () => ["dhis2-backup.timer"],
  steps,
  statusChecks: ({ plan }) => [
    // (DHIS2_BACKUP_STATE_DIR: as in dhis2-backup, for tests/status.test.ts; a server never sets it)
    `check_age backup "\${DHIS2_BACKUP_STATE_DIR:-${PATHS.backupState}}/last-success" ${plan.config.backup.maxAgeHours * 60} "last successful backup"`,
  ],
};

/**
 * The command on the database node that, before an instance's new DHIS2 version is installed,
 * dumps its database (tagged pre-upgrade), when the version differs from the one it last saw:
 * Flyway's migrations are forward-only, so this dump is the way back. Its text holds the
 * version, so a version change shows in `pulumi preview` as this command running again.
 */
export function preUpgradeCommand(plan: Plan, instance: string): string | undefined {
  const inst = plan.instances.find((i) => i.config.name === instance);
  if (!inst) throw new Error(`no instance ${instance} in the plan`);
  if (!plan.config.backup.enabled) return undefined;
  return `${PATHS.backupCommand} --pre-upgrade ${instance} ${inst.config.runtime.display} # a dump of ${inst.database} before DHIS2 ${inst.config.runtime.display} is installed`;
}

/** Whether a node gets the backup role: the database and each instance, when backups are on. */
export function backsUp(plan: Plan, node: { readonly role: string }): boolean {
  return plan.config.backup.enabled && (node.role === "database" || node.role === "instance");
}

/** The stack output `backup` (secret): where the backups are, the password, how to restore. */
export interface BackupSummary {
  readonly enabled: boolean;
  /** The restic repositories' password: without it no backup can be read. */
  readonly password: string;
  /** Node → its local restic repository. */
  readonly repositories: Readonly<Record<string, string>>;
  readonly offsite?: string;
  readonly schedule: string;
  readonly retention: string;
  readonly restore: readonly string[];
}

export function backupSummary(plan: Plan, password: string): BackupSummary {
  const b = plan.config.backup;
  const nodes = [{ name: "database", role: "database" }, ...plan.instances.map((i) => ({ name: i.config.name, role: "instance" }))];
  const first = plan.instances[0]?.config.name ?? "NAME";
  return {
    enabled: b.enabled,
    password,
    repositories: Object.fromEntries(nodes.map((n) => [n.name, localRepository(n)])),
    offsite: b.offsite?.repository,
    schedule: b.schedule,
    retention: `${b.retention.daily} daily, ${b.retention.weekly} weekly, ${b.retention.monthly} monthly`,
    restore: [
      `database of an instance: on the database server, ${PATHS.restoreCommand} --instance ${first} [--snapshot ID] [--repo offsite] --dry-run, then without --dry-run`,
      `file store: on the instance's server, ${PATHS.restoreCommand} --instance ${first} [--snapshot ID] [--repo offsite]`,
      "by hand, without the toolkit: docs/backups.md (restic -r REPOSITORY snapshots; restic dump ... | pg_restore)",
    ],
  };
}
