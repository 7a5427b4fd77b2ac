/**
 * A temp-dir home for the rendered dhis2-backup and dhis2-restore (templates/backup/): their
 * configuration (the repository password), state, local repository and a `mail` stand-in that
 * keeps what it is given, all moved there by the DHIS2_BACKUP_* variables of the scripts.
 */
import { spawn } from "node:child_process";
import { existsSync, promises as fsp } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { baseEnv, freePort, makeTempDir, removeTempDir, run, sleep, type RunResult } from "./realtools";

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

/** gofakes3 (tools/gofakes3.sh), an S3-compatible object store on loopback (or the address given). */
export interface FakeS3 {
  /** http://HOST:PORT */
  readonly endpoint: string;
  /** Stops it (by its own PID); what it held is gone. */
  stop(): Promise<void>;
}

/**
 * Starts gofakes3 with its in-memory backend: its fs backend answers "bucket does not exist" to
 * a listing of a prefix that holds no object yet (restic's locks/), so restic cannot lock there.
 */
export async function startFakeS3(at: { host: string; port: number } = { host: "127.0.0.1", port: 0 }): Promise<FakeS3> {
  const bin = path.join(process.env.DHIS2_TOOLCHAIN_DIR ?? path.resolve(__dirname, "../../.toolchain"), "bin", "gofakes3");
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run bash tools/install-check-tools.sh (it builds it with tools/gofakes3.sh)`);
  const host = at.host;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = at.port || await freePort();
    const child = spawn(bin, ["-backend", "memory", "-autobucket", "-host", `${host}:${port}`], { stdio: ["ignore", "ignore", "pipe"] });
    let out = "";
    child.stderr.on("data", (d: Buffer) => { out += d.toString(); });
    const stop = async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await gone;
    };
    for (let i = 0; i < 50 && child.exitCode === null; i++) {
      const up = await new Promise<boolean>((resolve) => {
        const s = net.connect(port, host, () => { s.end(); resolve(true); });
        s.on("error", () => resolve(false));
      });
      if (up) return { endpoint: `http://${host}:${port}`, stop };
      await sleep(100);
    }
    await stop();
    if (at.port || !/address already in use/.test(out)) throw new Error(`gofakes3 did not start on ${host}:${port}:\n${out}`);
  }
  throw new Error("gofakes3 found no free port");
}
