/** The benchmark server: a throwaway PostgreSQL 15 with a conf.d text (tests/support/realtools), restarts, clean-up on exit. */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { spawn, type ChildProcess } from "node:child_process";
import { type PostgresTuningInput } from "../../lib/plan/postgres";
import { killGroup, run, startThrowawayPostgres, type RunResult, type ThrowawayPostgres } from "../../tests/support/realtools";

export const PG_BIN = "/usr/lib/postgresql/15/bin";
export const PGBENCH_DIR = path.join(__dirname, "..", "pgbench");
/** The toolkit's tuning input for this benchmark machine (the database gets 8 GB, 2 CPUs, SSD). */
export const BENCH_TUNING: PostgresTuningInput = {
  version: 15,
  memoryMb: 8192,
  cpus: 2,
  disk: "ssd",
  maxConnections: 100,
  synchronousCommit: "on",
  walWriterDelayMs: 200,
};

// ---------------------------------------------------------------------------------------------
// the server
// ---------------------------------------------------------------------------------------------

export interface BenchServer {
  readonly pg: ThrowawayPostgres;
  /** A directory owned by postgres inside the server's temp dir (removed with it). */
  readonly workDir: string;
  /** psql -X -At -v ON_ERROR_STOP=1 -f - (SQL on stdin) as postgres over the socket. */
  psql(sql: string, opts?: { database?: string; timeoutMs?: number; extraArgs?: string[] }): Promise<RunResult>;
  /** Like psql, throws with the output when it fails; returns stdout. */
  sql(sql: string, opts?: { database?: string; timeoutMs?: number }): Promise<string>;
  /** Replaces the conf.d file and restarts PostgreSQL (pg_ctl restart -m fast). */
  restart(confText: string): Promise<void>;
  /** pgbench as postgres against this server (argument array; connection options added). */
  pgbench(args: readonly string[], opts?: { database?: string; timeoutMs?: number }): Promise<RunResult>;
  /** pgbench in the background; stop() interrupts it (its process group) and returns its output. */
  pgbenchBackground(args: readonly string[], opts?: { database?: string }): BackgroundRun;
  stop(): Promise<void>;
}

export interface BackgroundRun {
  readonly pid: number | undefined;
  stop(): Promise<RunResult>;
  /** Resolves when the process ends by itself. */
  readonly done: Promise<RunResult>;
}

const CONF_PATH = "/etc/postgresql/15/main/conf.d/bench.conf";
const liveChildren = new Set<ChildProcess>();
const cleanups = new Set<() => Promise<void>>();
let signalsInstalled = false;

let interrupted: NodeJS.Signals | undefined;

/** Stops every server started here (and our background pgbench); safe to call more than once. */
export async function shutdown(): Promise<void> {
  for (const c of liveChildren) killGroup(c.pid, "SIGKILL");
  await Promise.allSettled([...cleanups].map((f) => f()));
}

/** On SIGINT/SIGTERM: kill our background children, stop the servers, exit 130/143. */
function installSignalCleanup(): void {
  if (signalsInstalled) return;
  signalsInstalled = true;
  const handler = (sig: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = sig;
    process.stderr.write(`\n${sig}: stopping pgbench/psql and PostgreSQL ...\n`);
    void shutdown().then(() => process.exit(sig === "SIGINT" ? 130 : 143));
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
}

/** Runs a benchmark's main: exit 0/1 only after every server is stopped and its temp dir removed. */
export function runMain(main: () => Promise<void>): void {
  main().then(
    async () => {
      await shutdown();
      if (!interrupted) process.exit(0);
    },
    async (err: unknown) => {
      await shutdown();
      if (interrupted) return; // the signal handler exits once the cleanup is done
      console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
      process.exit(1);
    },
  );
}

const pgEnv = (): NodeJS.ProcessEnv => ({
  PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  LANG: "C.UTF-8",
  LC_ALL: "C.UTF-8",
  HOME: "/var/lib/postgresql",
  TERM: "dumb",
  PGCONNECT_TIMEOUT: "10",
});

/**
 * Starts a throwaway PostgreSQL 15 (tests/support/realtools.ts) whose conf.d file is `confText`.
 * Always call stop() (it is also called on SIGINT/SIGTERM).
 */
export async function startBenchServer(confText: string): Promise<BenchServer> {
  installSignalCleanup();
  const pg = await startThrowawayPostgres({
    confD: { path: CONF_PATH, content: confText, mode: "0600", owner: "postgres", group: "postgres" },
    startTimeoutMs: 120_000,
  });
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      for (const c of liveChildren) killGroup(c.pid, "SIGKILL");
      await pg.stop();
      cleanups.delete(stop);
    })());
  cleanups.add(stop);
  try {
    const tmp = path.dirname(pg.dataDir);
    const workDir = path.join(tmp, "bench");
    const owner = await run("stat", ["-c", "%u:%g", pg.dataDir]);
    const [uid, gid] = owner.stdout.trim().split(":").map(Number);
    await fsp.mkdir(workDir, { mode: 0o700 });
    await fsp.chown(workDir, uid, gid);
    const serverLog = path.join(tmp, "server.log");
    const conn = ["-h", pg.socketDir, "-p", String(pg.port), "-U", "postgres"];

    const psql: BenchServer["psql"] = (sql, o = {}) =>
      run(
        "runuser",
        ["-u", "postgres", "--", `${PG_BIN}/psql`, "-X", "-At", "-v", "ON_ERROR_STOP=1", "-w", ...conn, "-d", o.database ?? "postgres", ...(o.extraArgs ?? []), "-f", "-"],
        { env: pgEnv(), input: sql, timeoutMs: o.timeoutMs ?? 600_000, cwd: workDir },
      );
    const sqlOk: BenchServer["sql"] = async (sql, o = {}) => {
      const r = await psql(sql, o);
      if (r.code !== 0) throw new Error(`psql failed (exit ${r.code}) on:\n${sql.slice(0, 600)}\n--- stderr:\n${r.stderr}${r.stdout.slice(-2000)}`);
      return r.stdout;
    };
    const restart: BenchServer["restart"] = async (confText2) => {
      const file = path.join(pg.dataDir, "conf.d", path.basename(CONF_PATH));
      await fsp.writeFile(file, confText2, { mode: 0o600 });
      await fsp.chown(file, uid, gid);
      const r = await run(
        "runuser",
        ["-u", "postgres", "--", `${PG_BIN}/pg_ctl`, "-D", pg.dataDir, "-l", serverLog, "-w", "-t", "300", "-m", "fast", "restart"],
        { env: pgEnv(), timeoutMs: 400_000, cwd: workDir },
      );
      if (r.code !== 0) throw new Error(`pg_ctl restart failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}\n${(await pg.log()).slice(-4000)}`);
    };
    const pgbenchArgs = (args: readonly string[], database = "postgres") => ["-u", "postgres", "--", `${PG_BIN}/pgbench`, ...conn, ...args, database];
    const pgbench: BenchServer["pgbench"] = (args, o = {}) =>
      run("runuser", pgbenchArgs(args, o.database), { env: pgEnv(), timeoutMs: o.timeoutMs ?? 3_600_000, cwd: workDir });
    const pgbenchBackground: BenchServer["pgbenchBackground"] = (args, o = {}) => {
      const child = spawn("runuser", pgbenchArgs(args, o.database), { env: pgEnv(), cwd: workDir, detached: true, stdio: ["ignore", "pipe", "pipe"] });
      liveChildren.add(child);
      let stdout = "";
      let stderr = "";
      child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
      child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      const done = new Promise<RunResult>((resolve) => {
        child.on("error", (err) => resolve({ code: 127, stdout, stderr: stderr + String(err) }));
        child.on("close", (code, signal) => {
          liveChildren.delete(child);
          resolve({ code: code ?? (signal ? 128 + (signal === "SIGINT" ? 2 : signal === "SIGKILL" ? 9 : 15) : 1), stdout, stderr });
        });
      });
      return {
        pid: child.pid,
        done,
        stop: async () => {
          killGroup(child.pid, "SIGINT");
          const timer = setTimeout(() => killGroup(child.pid, "SIGKILL"), 10_000);
          const r = await done;
          clearTimeout(timer);
          return r;
        },
      };
    };
    return { pg, workDir, psql, sql: sqlOk, restart, pgbench, pgbenchBackground, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
