/**
 * What `npm run restore` and `npm run backups` run on a stack's hosts (scripts/restore.ts,
 * scripts/backups.ts): the dhis2-restore commands of templates/backup/restore.sh.hbs, in order.
 */
import type { Plan } from "../../lib/plan";
import { PATHS } from "../../lib/render/paths";
import { shellQuote } from "../../lib/render/shell";

export interface RestoreOptions {
  readonly instance: string;
  /** The database's snapshot: latest or an ID. */
  readonly from: string;
  /** The file store's snapshot: latest or an ID. */
  readonly filesFrom: string;
  readonly repo: "local" | "offsite";
  readonly databaseOnly: boolean;
}

export interface HostCommand {
  /** The node it runs on: database or the instance's name. */
  readonly node: string;
  readonly command: string;
}

const SNAPSHOT_RE = /^(latest|[0-9a-f]{8,64})$/;

/** The options' problems, by flag (empty when they can run). */
export function restoreProblems(plan: Plan, o: RestoreOptions): string[] {
  const out: string[] = [];
  if (!plan.config.backup.enabled) out.push(`stack ${plan.config.stack} has dhis2:backup.enabled false: there is nothing to restore from`);
  if (!plan.instances.some((i) => i.config.name === o.instance)) out.push(`--instance must be one of: ${plan.instances.map((i) => i.config.name).join(", ")}`);
  if (!SNAPSHOT_RE.test(o.from)) out.push("--from must be LATEST or a snapshot ID (8 to 64 hex digits, as npm run backups shows)");
  if (!SNAPSHOT_RE.test(o.filesFrom)) out.push("--files-from must be LATEST or a snapshot ID");
  if (o.repo !== "local" && o.repo !== "offsite") out.push("--repo must be local or offsite");
  if (o.repo === "offsite" && !plan.config.backup.offsite) out.push("--repo offsite: the stack has no dhis2:backup.offsite");
  return out;
}

function restoreOn(node: string, o: RestoreOptions, snapshot: string, extra: string[]): HostCommand {
  const args = ["--instance", o.instance, "--snapshot", snapshot, "--repo", o.repo, ...extra];
  return { node, command: `${PATHS.restoreCommand} ${args.map((a) => shellQuote(a)).join(" ")}` };
}

/** What a dry run asks each host: what would be replaced. */
export function dryRunCommands(o: RestoreOptions): HostCommand[] {
  return [
    restoreOn("database", o, o.from, ["--dry-run"]),
    ...(o.databaseOnly ? [] : [restoreOn(o.instance, o, o.filesFrom, ["--dry-run"])]),
  ];
}

/** The restore, in order: DHIS2 stopped, its database, its file store (which starts DHIS2 again). */
export function restoreCommands(o: RestoreOptions): HostCommand[] {
  return [
    { node: o.instance, command: "systemctl stop dhis2" },
    restoreOn("database", o, o.from, ["--yes"]),
    o.databaseOnly ? { node: o.instance, command: "systemctl start dhis2" } : restoreOn(o.instance, o, o.filesFrom, ["--yes"]),
  ];
}

/** The nodes that keep backups: the database and each instance. */
export function backupNodes(plan: Plan): string[] {
  return plan.config.backup.enabled ? ["database", ...plan.instances.map((i) => i.config.name)] : [];
}

export interface ListedBackup {
  readonly node: string;
  readonly id: string;
  readonly time: string;
  readonly what: string;
  readonly bytes: number;
}

/** Parses `dhis2-restore --list`: the snapshots and the repository line. */
export function parseList(node: string, text: string): { backups: ListedBackup[]; repository?: { kind: string; location: string; bytes: number } } {
  const backups: ListedBackup[] = [];
  let repository: { kind: string; location: string; bytes: number } | undefined;
  for (const line of text.split("\n")) {
    const f = line.split("\t");
    if (f[0] === "snapshot" && f.length === 5) backups.push({ node, id: f[1]!, time: f[2]!, what: f[3]!, bytes: Number(f[4]) });
    if (f[0] === "repository" && f.length === 4) repository = { kind: f[1]!, location: f[2]!, bytes: Number(f[3]) };
  }
  return { backups, repository };
}
