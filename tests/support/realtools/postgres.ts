/** Real-program check harness (see ./index.ts): a throwaway PostgreSQL with the rendered settings. */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import type { RenderedFile } from "../../../lib/render/file";
import { TestCertificate, makeTestCertificate } from "./certificates";
import { PreparedNamespace, prepareHostFiles } from "./hostfiles";
import { RunOptions, RunResult, baseEnv, exists, joinOutput, run, sleep } from "./run";
import { freePort, gidOf, makeTempDir, removeTempDir, uidOf } from "./temp";

// ---------------------------------------------------------------------------------------------
// PostgreSQL
// ---------------------------------------------------------------------------------------------

const PG_BIN = "/usr/lib/postgresql/15/bin";
const HARNESS_CONF = "zz-test-harness.conf";

export interface PgQueryOptions {
  user?: string;
  database?: string;
  /** Sent as PGPASSWORD in the environment, never in argv. */
  password?: string;
  /** "socket" (default) or TCP on 127.0.0.1. */
  host?: "127.0.0.1" | "socket";
  /** PGSSLMODE (disable, require, verify-ca, ...). */
  sslmode?: string;
  /** OS user psql runs as (matters for peer auth over the socket). Default postgres. */
  osUser?: string;
}

export interface ThrowawayPostgres {
  port: number;
  socketDir: string;
  dataDir: string;
  /** SHOW name, trimmed. Throws with psql's output when it fails. */
  show(name: string): Promise<string>;
  query(sql: string, opts?: PgQueryOptions): Promise<RunResult>;
  /** `line N: error` for each row of pg_hba_file_rules whose error is not null. */
  hbaErrors(): Promise<string[]>;
  /** Whether the rendered pg_hba.conf (if any) was accepted and loaded. */
  hbaLoaded: boolean;
  /** pg_ctl's log plus the server's own log files (logging_collector). */
  log(): Promise<string>;
  stop(): Promise<void>;
}

export class PostgresStartError extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(`${message}\n${output}`);
    this.name = "PostgresStartError";
  }
}

export interface ThrowawayPostgresOptions {
  /** The rendered file for conf.d/ (its basename is kept; must end in .conf). */
  confD: RenderedFile;
  hba?: RenderedFile;
  sslCert?: TestCertificate;
  /** Other rendered files the server must see at their absolute paths (e.g. ssl_ca_file). */
  files?: RenderedFile[];
  /** Milliseconds pg_ctl waits for the server (default 60 s). */
  startTimeoutMs?: number;
}

async function writeOwned(file: string, content: string, mode: number, uid: number, gid: number): Promise<void> {
  await fsp.writeFile(file, content, { mode: 0o600 });
  await fsp.chown(file, uid, gid);
  await fsp.chmod(file, mode);
}

/**
 * A throwaway PostgreSQL 15 (Debian's binaries) that runs our rendered conf.d file for real:
 *   runuser -u postgres -- /usr/lib/postgresql/15/bin/initdb -D <tmp>/data --auth-local=peer
 *       --auth-host=scram-sha-256 -U postgres -E UTF8 --locale=C.UTF-8 --no-sync
 *   postgresql.conf += include_dir = 'conf.d'; conf.d/<rendered basename>; conf.d/zz-test-harness.conf
 *   (port, listen_addresses=127.0.0.1, unix_socket_directories, ssl=on + test cert: nothing else)
 *   runuser -u postgres -- pg_ctl -D <data> -l <tmp>/server.log -w -t 60 start
 * pg_ctl runs inside a private mount namespace in which /var/log/postgresql and
 * /run/postgresql are private, so paths our config names there do not reach the host.
 * A rendered pg_hba.conf is installed after start and loaded with pg_reload_conf() (the server
 * would refuse to start on a bad one); hbaErrors() shows what pg_hba_file_rules says about it.
 * Throws PostgresStartError (with the server's log) when the server does not start.
 * Always call stop() (t.teardown).
 */
export async function startThrowawayPostgres(opts: ThrowawayPostgresOptions): Promise<ThrowawayPostgres> {
  const confName = path.posix.basename(opts.confD.path);
  if (!confName.endsWith(".conf")) {
    throw new Error(`${opts.confD.path}: include_dir only reads files ending in .conf`);
  }
  if (confName >= HARNESS_CONF) throw new Error(`${confName} would be read after ${HARNESS_CONF}`);
  const uid = await uidOf("postgres");
  const gid = await gidOf("postgres");
  const tmp = await makeTempDir("pg", 0o711);
  let ns: PreparedNamespace | undefined;
  let started = false;
  const dataDir = path.join(tmp, "data");
  const socketDir = path.join(tmp, "sock");
  const serverLog = path.join(tmp, "server.log");
  const pgEnv = (extra?: NodeJS.ProcessEnv) => baseEnv({ HOME: "/var/lib/postgresql", PGCONNECT_TIMEOUT: "10", ...extra });
  const asPostgres = (args: string[], runOpts: RunOptions = {}, osUser = "postgres") =>
    run("runuser", ["-u", osUser, "--", ...args], { env: pgEnv(), timeoutMs: 120_000, ...runOpts });

  const readLogs = async (): Promise<string> => {
    const parts: string[] = [];
    parts.push(await fsp.readFile(serverLog, "utf8").catch(() => ""));
    for (const dir of [path.join(dataDir, "log"), path.join(dataDir, "pg_log")]) {
      const names = await fsp.readdir(dir).catch(() => [] as string[]);
      for (const nme of names.sort()) parts.push(`--- ${dir}/${nme}\n` + (await fsp.readFile(path.join(dir, nme), "utf8").catch(() => "")));
    }
    const varlog = ns?.hostPathOf("/var/log/postgresql");
    if (varlog) {
      const names = await fsp.readdir(varlog).catch(() => [] as string[]);
      for (const nme of names.sort()) parts.push(`--- /var/log/postgresql/${nme}\n` + (await fsp.readFile(path.join(varlog, nme), "utf8").catch(() => "")));
    }
    return joinOutput(...parts);
  };

  const stopServer = async () => {
    if (await exists(path.join(dataDir, "postmaster.pid"))) {
      const r = await asPostgres([`${PG_BIN}/pg_ctl`, "-D", dataDir, "-m", "immediate", "-w", "-t", "30", "stop"]);
      if (r.code !== 0) {
        // Last resort: the postmaster's own PID from postmaster.pid (never by name).
        const pidText = await fsp.readFile(path.join(dataDir, "postmaster.pid"), "utf8").catch(() => "");
        const pid = Number(pidText.split("\n")[0]);
        if (pid > 1) {
          try {
            process.kill(pid, "SIGQUIT");
          } catch {
            /* gone */
          }
          await sleep(500);
        }
      }
    }
  };
  const cleanupAll = async () => {
    try {
      await stopServer();
    } finally {
      try {
        if (ns) await ns.cleanup();
      } finally {
        await removeTempDir(tmp);
      }
    }
  };

  try {
    await fsp.mkdir(dataDir, { mode: 0o700 });
    await fsp.chown(dataDir, uid, gid);
    await fsp.mkdir(socketDir, { mode: 0o755 });
    await fsp.chown(socketDir, uid, gid);

    const init = await asPostgres([
      `${PG_BIN}/initdb`, "-D", dataDir, "--auth-local=peer", "--auth-host=scram-sha-256",
      "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
    ]);
    if (init.code !== 0) throw new PostgresStartError("initdb failed", joinOutput(init.stdout, init.stderr));

    const cert = opts.sslCert ?? (await makeTestCertificate(["localhost", "127.0.0.1"]));
    const certFile = path.join(tmp, "server.crt");
    const keyFile = path.join(tmp, "server.key");
    await writeOwned(certFile, cert.certPem, 0o644, uid, gid);
    await writeOwned(keyFile, cert.keyPem, 0o600, uid, gid);

    await fsp.appendFile(path.join(dataDir, "postgresql.conf"), "\n# added by tests/support/realtools.ts\ninclude_dir = 'conf.d'\n");
    const confDir = path.join(dataDir, "conf.d");
    await fsp.mkdir(confDir, { mode: 0o700 });
    await fsp.chown(confDir, uid, gid);
    await writeOwned(path.join(confDir, confName), opts.confD.content, 0o600, uid, gid);

    const q = (s: string) => `'${s.replace(/'/g, "''")}'`;
    let lastErr: unknown;
    let port = 0;
    for (let attempt = 0; attempt < 3 && !started; attempt++) {
      port = await freePort();
      const harness = [
        "# Loaded last: only what must differ on a test machine.",
        `port = ${port}`,
        `listen_addresses = '127.0.0.1'`,
        `unix_socket_directories = ${q(socketDir)}`,
        `ssl = on`,
        `ssl_cert_file = ${q(certFile)}`,
        `ssl_key_file = ${q(keyFile)}`,
        "",
      ].join("\n");
      await writeOwned(path.join(confDir, HARNESS_CONF), harness, 0o600, uid, gid);
      if (!ns) ns = await prepareHostFiles(opts.files ?? [], { privateDirs: ["/var/log/postgresql", "/run/postgresql"] });
      const timeoutS = Math.ceil((opts.startTimeoutMs ?? 60_000) / 1000);
      const [cmd, ...args] = [
        ...ns.argv,
        "runuser", "-u", "postgres", "--",
        `${PG_BIN}/pg_ctl`, "-D", dataDir, "-l", serverLog, "-w", "-t", String(timeoutS), "start",
      ];
      await fsp.writeFile(serverLog, "", { mode: 0o600 });
      await fsp.chown(serverLog, uid, gid);
      const r = await run(cmd, args, { env: pgEnv(), timeoutMs: (timeoutS + 30) * 1000 });
      if (r.code === 0) {
        started = true;
        break;
      }
      const logs = await readLogs();
      lastErr = new PostgresStartError(`PostgreSQL did not start (pg_ctl exit ${r.code})`, joinOutput(r.stdout, r.stderr, logs));
      await stopServer();
      if (!/could not bind|Address already in use/.test(logs)) break;
    }
    if (!started) throw lastErr;

    const query = async (sql: string, qo: PgQueryOptions = {}): Promise<RunResult> => {
      const env: NodeJS.ProcessEnv = {};
      if (qo.password !== undefined) env.PGPASSWORD = qo.password;
      if (qo.sslmode !== undefined) env.PGSSLMODE = qo.sslmode;
      const host = qo.host === "127.0.0.1" ? "127.0.0.1" : socketDir;
      return asPostgres(
        [
          `${PG_BIN}/psql`, "-X", "-At", "-v", "ON_ERROR_STOP=1", "-w",
          "-h", host, "-p", String(port), "-U", qo.user ?? "postgres", "-d", qo.database ?? "postgres",
          "-f", "-",
        ],
        // SQL on stdin, not in argv (it may hold a password, e.g. CREATE ROLE ... PASSWORD)
        { env: pgEnv(env), timeoutMs: 60_000, input: sql },
        qo.osUser ?? "postgres",
      );
    };
    const show = async (name: string): Promise<string> => {
      if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(name)) throw new Error(`not a setting name: ${name}`);
      const r = await query(`SHOW ${name}`);
      if (r.code !== 0) throw new Error(`SHOW ${name} failed:\n${joinOutput(r.stdout, r.stderr)}`);
      return r.stdout.trim();
    };
    const hbaErrors = async (): Promise<string[]> => {
      const r = await query("SELECT 'line ' || line_number || ': ' || error FROM pg_hba_file_rules WHERE error IS NOT NULL ORDER BY line_number");
      if (r.code !== 0) throw new Error(`reading pg_hba_file_rules failed:\n${joinOutput(r.stdout, r.stderr)}`);
      return r.stdout.split("\n").filter((l) => l.trim() !== "");
    };

    let hbaLoaded = false;
    if (opts.hba) {
      await writeOwned(path.join(dataDir, "pg_hba.conf"), opts.hba.content, 0o640, uid, gid);
      if ((await hbaErrors()).length === 0) {
        const r = await query("SELECT pg_reload_conf()");
        if (r.code !== 0) throw new Error(`pg_reload_conf failed:\n${joinOutput(r.stdout, r.stderr)}`);
        await sleep(300);
        hbaLoaded = true;
      }
    }

    let stopped = false;
    return {
      port,
      socketDir,
      dataDir,
      show,
      query,
      hbaErrors,
      hbaLoaded,
      log: readLogs,
      stop: async () => {
        if (stopped) return;
        stopped = true;
        await cleanupAll();
      },
    };
  } catch (err) {
    await cleanupAll().catch(() => undefined);
    throw err;
  }
}
