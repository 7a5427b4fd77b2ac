/**
 * A temp-dir home for the rendered dhis2-backup and dhis2-restore (templates/backup/): their
 * configuration (the repository password), state, local repository and a `mail` stand-in that
 * keeps what it is given, all moved there by the DHIS2_BACKUP_* variables of the scripts.
 */
import { existsSync, promises as fsp } from "node:fs";
import * as path from "node:path";
import { baseEnv, makeTempDir, removeTempDir, run, type RunResult } from "./realtools";

export interface Snapshot {
  readonly id: string;
  readonly paths: string[];
  readonly tags: string[];
  readonly time: string;
}

export interface BackupFixture {
  readonly dir: string;
  readonly conf: string;
  readonly env: NodeJS.ProcessEnv;
  backup(args: string[], extraEnv?: NodeJS.ProcessEnv): Promise<RunResult>;
  restore(args: string[], input?: string, extraEnv?: NodeJS.ProcessEnv): Promise<RunResult>;
  /** A fixed bash command in the scripts' environment (RESTIC_PASSWORD_FILE etc. set). */
  shell(command: string, extraEnv?: NodeJS.ProcessEnv): Promise<RunResult>;
  /** The state's last.json. */
  state(): Promise<{ status: string; message: string }>;
  exists(stateFile: string): Promise<boolean>;
  log(): Promise<string>;
  /** Every mail the scripts sent: arguments, then the body. */
  mail(): Promise<string>;
  snapshots(repo?: string): Promise<Snapshot[]>;
  remove(): Promise<void>;
}

const MAIL_STANDIN = '#!/bin/sh\n{ echo "mail $*"; cat; } >>"$(dirname "$0")/mail.out"\n';

export async function backupFixture(scripts: { backup: string; restore: string }, env: NodeJS.ProcessEnv = {}): Promise<BackupFixture> {
  const dir = await makeTempDir("backup", 0o755);
  const conf = path.join(dir, "conf");
  const state = path.join(dir, "state");
  await fsp.mkdir(conf, { mode: 0o700 });
  await fsp.writeFile(path.join(conf, "password"), "a-test-repository-password\n", { mode: 0o600 });
  await fsp.writeFile(path.join(dir, "dhis2-backup"), scripts.backup, { mode: 0o755 });
  await fsp.writeFile(path.join(dir, "dhis2-restore"), scripts.restore, { mode: 0o755 });
  await fsp.writeFile(path.join(dir, "mail"), MAIL_STANDIN, { mode: 0o755 });
  const fullEnv = baseEnv({
    DHIS2_BACKUP_CONF_DIR: conf,
    DHIS2_BACKUP_STATE_DIR: state,
    DHIS2_BACKUP_LOCAL_REPO: path.join(dir, "repo"),
    DHIS2_BACKUP_MAIL: path.join(dir, "mail"),
    RESTIC_PASSWORD_FILE: path.join(conf, "password"),
    RESTIC_CACHE_DIR: path.join(dir, "cache"),
    ...env,
  });
  const exec = (script: string, args: string[], input?: string, extra?: NodeJS.ProcessEnv) =>
    run("bash", [path.join(dir, script), ...args], { env: { ...fullEnv, ...extra }, cwd: "/", input, timeoutMs: 240_000 });
  const read = (p: string) => fsp.readFile(p, "utf8").catch(() => "");
  const shell = (command: string, extra?: NodeJS.ProcessEnv) =>
    run("bash", ["-o", "pipefail", "-c", command], { env: { ...fullEnv, ...extra }, cwd: "/", timeoutMs: 240_000 });
  return {
    dir,
    conf,
    env: fullEnv,
    backup: (args, extra) => exec("dhis2-backup", args, undefined, extra),
    restore: (args, input, extra) => exec("dhis2-restore", args, input, extra),
    shell,
    state: async () => JSON.parse(await fsp.readFile(path.join(state, "last.json"), "utf8")) as { status: string; message: string },
    exists: async (f) => existsSync(path.join(state, f)),
    log: () => read(path.join(state, "last.log")),
    mail: () => read(path.join(dir, "mail.out")),
    snapshots: async (repo = path.join(dir, "repo")) => {
      const r = await shell(`restic -r "${repo}" snapshots --json`);
      if (r.code !== 0) throw new Error(`restic snapshots: ${r.stderr}`);
      return JSON.parse(r.stdout) as Snapshot[];
    },
    remove: () => removeTempDir(dir),
  };
}
