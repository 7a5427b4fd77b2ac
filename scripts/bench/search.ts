/**
 * Tracker search benchmark: DHIS2-shaped data (tests/support/dhis2-schema.ts, era "trackedentity",
 * i.e. DHIS2 2.41/2.42 table names), searched WITHOUT and WITH the toolkit's trigram indexes
 * (lib/dhis2/search-indexes.ts), on a throwaway PostgreSQL 15 started by the project's own harness
 * (tests/support/realtools.ts) with the toolkit's settings for this machine (lib/plan/postgres.ts).
 *
 *   npm run bench:search [-- --scale N] [--rounds R] [--terms T] [--writer-before S] [--writer-after S]
 *
 * scale 1 = 1,000,000 tracked entities × 5 attributes + 1 event each (+ 100,000 single events).
 *
 * Query latency is timed by psql itself (`\timing`, one long-lived session fed a generated script),
 * so process start-up is not in the figures. Each query type gets `terms` different search terms
 * taken from the seeded data; every term runs once as warm-up (discarded), then `rounds` times.
 *
 * This module also exports the small harness the other benchmark (scripts/bench/postgres.ts) and
 * tests/bench.test.ts use: server start/restart with a conf.d text, psql with long time limits,
 * pgbench, percentiles, tables.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { searchIndexSql } from "../../lib/dhis2/search-indexes";
import { tunePostgres, type PostgresTuningInput } from "../../lib/plan/postgres";
import {
  ATTRIBUTES,
  DATA_ELEMENTS,
  FIRST_NAME_UID,
  LAST_NAME_UID,
  NATIONAL_ID_UID,
  PHONE_UID,
  PROGRAM_STAGES,
  QR_DATA_ELEMENT_UID,
  QR_PROGRAM_STAGE_UID,
  countRowsSql,
  dhis2SchemaSql,
  eraTables,
  parseCounts,
  seedCounts,
  seedSql,
  sqlString,
  trackerSchema,
  type SchemaEra,
  type SeedOptions,
} from "../../tests/support/dhis2-schema";
import { killGroup, run, startThrowawayPostgres, type RunResult, type ThrowawayPostgres } from "../../tests/support/realtools";

export const PG_BIN = "/usr/lib/postgresql/15/bin";
export const PGBENCH_DIR = path.join(__dirname, "pgbench");
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
// small pure helpers (tested in tests/bench.test.ts)
// ---------------------------------------------------------------------------------------------

/**
 * Percentile by linear interpolation between closest ranks (the usual "type 7" definition, as
 * numpy.percentile and Excel PERCENTILE.INC): p in [0, 100]. NaN for an empty list.
 */
export function percentile(values: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new Error(`percentile must be within 0..100: ${p}`);
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

/** Deterministic PRNG (mulberry32): floats in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `name = 'value'` lines of a conf.d file. */
export function renderConf(settings: readonly { name: string; value: string | number }[], header: string): string {
  const q = (v: string | number) => `'${String(v).replace(/'/g, "''")}'`;
  return [`# ${header}`, ...settings.map((s) => `${s.name} = ${q(s.value)}`), ""].join("\n");
}

/** A plain-text table with a header row and right-aligned numbers. */
export function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const numeric = head.map((_, i) => rows.length > 0 && rows.every((r) => /^[-+]?[\d.,/]+[×%]?$|^-$|^n\/a$/.test((r[i] ?? "").trim())));
  const cell = (s: string, i: number) => (numeric[i] ? s.padStart(widths[i]) : s.padEnd(widths[i]));
  const line = (r: readonly string[]) => `| ${r.map((c, i) => cell(c ?? "", i)).join(" | ")} |`;
  const sep = `|${widths.map((w, i) => (numeric[i] ? "-".repeat(w + 1) + ":" : "-".repeat(w + 2))).join("|")}|`;
  return [line(head), sep, ...rows.map(line)].join("\n");
}

export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return "n/a";
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 10) return ms.toFixed(1);
  if (ms >= 1) return ms.toFixed(2);
  return ms.toFixed(3);
}

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** Parses `@@ <label>` markers followed by psql's `Time: X ms` lines: label → times (ms). */
export function parseTimings(stdout: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  let label: string | undefined;
  for (const line of stdout.split("\n")) {
    const mark = /^@@ (.+)$/.exec(line);
    if (mark) {
      label = mark[1].trim();
      continue;
    }
    const t = /^Time: ([\d.]+) ms/.exec(line);
    if (t && label !== undefined) {
      const list = out.get(label) ?? [];
      list.push(Number(t[1]));
      out.set(label, list);
      label = undefined;
    }
  }
  return out;
}

/**
 * pgbench per-transaction log lines (`client_id transaction_no time script_no time_epoch time_us
 * [schedule_lag]`, time in µs): per script number, latencies in ms and the number of failures.
 */
export function parsePgbenchLog(text: string): { latenciesMs: Map<number, number[]>; failed: Map<number, number> } {
  const latenciesMs = new Map<number, number[]>();
  const failed = new Map<number, number>();
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6) continue;
    const script = Number(f[3]);
    if (!Number.isInteger(script)) continue;
    if (/^\d+$/.test(f[2])) {
      const list = latenciesMs.get(script) ?? [];
      list.push(Number(f[2]) / 1000);
      latenciesMs.set(script, list);
    } else {
      failed.set(script, (failed.get(script) ?? 0) + 1);
    }
  }
  return { latenciesMs, failed };
}

/** pgbench `-P 1 --progress-timestamp` lines: [epoch seconds at the end of the interval, tps]. */
export function parseProgress(text: string): Array<{ t: number; tps: number }> {
  const out: Array<{ t: number; tps: number }> = [];
  for (const line of text.split("\n")) {
    const m = /^progress: ([\d.]+) s, ([\d.]+) tps/.exec(line.trim());
    if (m) out.push({ t: Number(m[1]), tps: Number(m[2]) });
  }
  return out;
}

/** Mean tps over the progress intervals (1 s each) lying entirely within [from, to] (epoch s). */
export function meanTps(progress: readonly { t: number; tps: number }[], from: number, to: number, intervalS = 1): { tps: number; seconds: number } {
  const inside = progress.filter((p) => p.t - intervalS >= from - 0.05 && p.t <= to + 0.05);
  if (inside.length === 0) return { tps: NaN, seconds: 0 };
  return { tps: inside.reduce((s, p) => s + p.tps, 0) / inside.length, seconds: inside.length * intervalS };
}

/** `--name value` / `--name=value` options. */
export function parseArgs(argv: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) throw new Error(`unexpected argument ${a}`);
    const eq = a.indexOf("=");
    if (eq > 0) out.set(a.slice(2, eq), a.slice(eq + 1));
    else {
      const v = argv[i + 1];
      if (v === undefined || v.startsWith("--")) throw new Error(`${a} needs a value`);
      out.set(a.slice(2), v);
      i++;
    }
  }
  return out;
}

export function numberArg(args: Map<string, string>, name: string, def: number, min = 0): number {
  const v = args.get(name);
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min}: ${v}`);
  return n;
}

// ---------------------------------------------------------------------------------------------
// machine
// ---------------------------------------------------------------------------------------------

export interface MachineInfo {
  cores: number;
  ramGb: number;
  cpuModel: string;
  kernel: string;
  loadavg: number[];
  /** Other processes using CPU, and PostgreSQL servers that are not ours. */
  otherLoad: string[];
}

interface PsRow {
  pid: number;
  ppid: number;
  pcpu: number;
  rssKb: number;
  etimes: number;
  args: string;
}

async function psRows(): Promise<PsRow[]> {
  const ps = await run("ps", ["-eo", "pid=,ppid=,pcpu=,rss=,etimes=,args="]);
  return ps.stdout
    .split("\n")
    .map((l) => /^\s*(\d+)\s+(\d+)\s+([\d.]+)\s+(\d+)\s+(\d+)\s+(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), pcpu: Number(m[3]), rssKb: Number(m[4]), etimes: Number(m[5]), args: m[6] }));
}

/** Processes that are not ours (not below this process or below `ownRoots`) and are busy or big. */
async function otherHeavyProcesses(ownRoots: readonly number[]): Promise<string[]> {
  const rows = await psRows();
  const mine = new Set<number>([process.pid, ...ownRoots]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const r of rows) if (!mine.has(r.pid) && mine.has(r.ppid)) (mine.add(r.pid), (grew = true));
  }
  const other: string[] = [];
  for (const r of rows) {
    if (mine.has(r.pid)) continue;
    const isPostmaster = /\/postgres(\s|$).*-D\s/.test(r.args) || /postgres: .*checkpointer/.test(r.args);
    // ps pcpu is the average since the process started: report busy ones that ran a while
    if (isPostmaster || (r.pcpu >= 25 && r.etimes >= 5) || r.rssKb > 2 * 1024 * 1024) {
      other.push(`pid ${r.pid} (${r.pcpu}% CPU, ${Math.round(r.rssKb / 1024)} MB): ${r.args.slice(0, 100)}`);
    }
  }
  return other;
}

export async function machineInfo(ownRoots: readonly number[] = []): Promise<MachineInfo> {
  return {
    cores: os.cpus().length,
    ramGb: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    cpuModel: os.cpus()[0]?.model ?? "?",
    kernel: `${os.type()} ${os.release()}`,
    loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
    otherLoad: await otherHeavyProcesses(ownRoots),
  };
}

/**
 * Samples `ps` every `intervalMs` while a benchmark runs and collects other busy processes (not
 * this process's children, not our PostgreSQL: its postmaster is read from dataDir/postmaster.pid).
 */
export function startLoadMonitor(dataDir: string, intervalMs = 10_000): { stop(): Promise<string[]> } {
  const seen = new Map<string, string>();
  let stopped = false;
  const sample = async () => {
    const pidText = await fsp.readFile(path.join(dataDir, "postmaster.pid"), "utf8").catch(() => "");
    const postmaster = Number(pidText.split("\n")[0]) || 0;
    for (const line of await otherHeavyProcesses(postmaster ? [postmaster] : [])) {
      const key = line.replace(/\(.*?\)/, "");
      seen.set(key, `${new Date().toISOString().slice(11, 19)} ${line}`);
    }
  };
  let running: Promise<void> = sample().catch(() => undefined);
  const timer = setInterval(() => {
    if (!stopped) running = running.then(sample).catch(() => undefined);
  }, intervalMs);
  return {
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
      return [...seen.values()];
    },
  };
}

export function describeMachine(m: MachineInfo, pgVersion?: string): string {
  return [
    `machine: ${m.cores} CPU cores (${m.cpuModel}), ${m.ramGb} GB RAM, ${m.kernel}`,
    ...(pgVersion ? [`server:  ${pgVersion}`] : []),
    `load average (1/5/15 min) at start: ${m.loadavg.join(" / ")}`,
    m.otherLoad.length === 0
      ? "other heavy processes at start: none (ps: no other PostgreSQL server, nothing else above 25% CPU or 2 GB)"
      : `other heavy processes at start (figures may be disturbed):\n  ${m.otherLoad.join("\n  ")}`,
  ].join("\n");
}

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

// ---------------------------------------------------------------------------------------------
// DHIS2-shaped database
// ---------------------------------------------------------------------------------------------

export const BENCH_ERA: SchemaEra = "trackedentity";
export const BENCH_DATABASE = "dhis2";

export interface SeedReport {
  counts: Record<string, number>;
  schemaMs: number;
  seedMs: number;
  sizes: string;
}

/** CREATE DATABASE, schema, seed (timed), counts and sizes. */
export async function createSeededDatabase(server: BenchServer, era: SchemaEra, opts: SeedOptions, database = BENCH_DATABASE): Promise<SeedReport> {
  await server.sql(`CREATE DATABASE ${database};`);
  let t0 = Date.now();
  await server.sql(dhis2SchemaSql(era), { database });
  const schemaMs = Date.now() - t0;
  t0 = Date.now();
  await server.sql(seedSql(era, opts), { database, timeoutMs: 4 * 3_600_000 });
  const seedMs = Date.now() - t0;
  const counts = parseCounts(await server.sql(countRowsSql(era), { database }));
  const sizes = await server.sql(
    `SELECT relname || ': ' || pg_size_pretty(pg_table_size(oid)) || ' table, ' || pg_size_pretty(pg_indexes_size(oid)) || ' indexes'
       FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace AND pg_table_size(oid) > 1000000 ORDER BY pg_table_size(oid) DESC;
     SELECT 'database: ' || pg_size_pretty(pg_database_size(current_database()));`,
    { database },
  );
  return { counts, schemaMs, seedMs, sizes: sizes.trim() };
}

// ---------------------------------------------------------------------------------------------
// search terms and queries (DHIS2 2.41 shapes)
// ---------------------------------------------------------------------------------------------

export type QueryKind = "substring" | "exact";

export interface QueryType {
  readonly key: string;
  readonly label: string;
  readonly kind: QueryKind;
  /** Counts towards the "substring searches ≥ 100×" goal. */
  readonly goal: boolean;
  readonly terms: readonly string[];
  sql(term: string): string;
  countSql(term: string): string;
}

const attrId = (uid: string) => ATTRIBUTES.find((a) => a.uid === uid)!.id;

/**
 * The tracked entity search DHIS2 2.41 sends for one attribute filter (HibernateTrackedEntityStore:
 * INNER JOIN trackedentityattributevalue per filter on attribute id, tracked entity and
 * lower(value) <operator> lower-cased literal; org unit join; TE.deleted IS FALSE; default order
 * TE.trackedentityid desc; page of 50). The outer query that aggregates the page's attributes is
 * left out: it only touches the 50 rows found.
 */
export function trackedEntitySearchSql(attributeId: number, condition: string): string {
  return `SELECT TE.trackedentityid, TE.uid, TE.created, TE.lastupdated, OU.uid AS orgunit_uid, OU.name AS orgunit_name
  FROM trackedentity TE
 INNER JOIN trackedentityattributevalue teav ON teav.trackedentityattributeid = ${attributeId} AND teav.trackedentityid = TE.trackedentityid AND lower(teav.value) ${condition}
 INNER JOIN organisationunit OU ON OU.organisationunitid = TE.organisationunitid
 WHERE TE.deleted IS FALSE
 ORDER BY TE.trackedentityid DESC LIMIT 50 OFFSET 0`;
}

/** Event search with a data element filter (2.41 event export: stage, not deleted, newest first). */
export function eventSearchSql(condition: string): string {
  return `SELECT ev.eventid, ev.uid, ev.occurreddate, ev.organisationunitid
  FROM event ev
 WHERE ev.programstageid = ${PROGRAM_STAGES.qr.id} AND ev.deleted IS FALSE
   AND lower(ev.eventdatavalues #>> '{${QR_DATA_ELEMENT_UID},value}') ${condition}
 ORDER BY ev.occurreddate DESC, ev.eventid DESC LIMIT 50 OFFSET 0`;
}

const like = (term: string) => `LIKE ${sqlString(`%${term.toLowerCase()}%`)}`;
const eq = (term: string) => `= ${sqlString(term.toLowerCase())}`;

/** Random substring of length len (or the whole text if shorter). */
function substringOf(text: string, len: number, rnd: () => number, from = 0): string {
  const start = from + Math.floor(rnd() * Math.max(1, text.length - from - len + 1));
  return text.slice(start, start + len);
}

/**
 * Search terms taken from the seeded data (so searches hit), deterministic for a seed: values of
 * randomly chosen tracked entities / events, cut as a person searching would type them.
 */
export async function pickTerms(server: BenchServer, opts: { trackedEntities: number; trackerEvents: number; terms: number; seed?: number; database?: string }): Promise<QueryType[]> {
  const rnd = prng(opts.seed ?? 20240601);
  const n = opts.terms;
  const ids = new Set<number>();
  while (ids.size < Math.min(opts.trackedEntities, n * 8)) ids.add(1 + Math.floor(rnd() * opts.trackedEntities));
  const evIds = new Set<number>();
  while (evIds.size < Math.min(opts.trackerEvents, n * 4)) evIds.add(1 + Math.floor(rnd() * opts.trackerEvents));
  const database = opts.database ?? BENCH_DATABASE;
  const rows = await server.sql(
    `SELECT trackedentityattributeid || '|' || trackedentityid || '|' || value FROM trackedentityattributevalue
      WHERE trackedentityid = ANY('{${[...ids].join(",")}}'::bigint[]) AND trackedentityattributeid IN (${ATTRIBUTES.map((a) => a.id).join(",")})
      ORDER BY trackedentityid, trackedentityattributeid;
     SELECT 'qr|' || eventid || '|' || (eventdatavalues #>> '{${QR_DATA_ELEMENT_UID},value}') FROM event WHERE eventid = ANY('{${[...evIds].join(",")}}'::bigint[]) ORDER BY eventid;`,
    { database },
  );
  const values = new Map<string, string[]>();
  for (const line of rows.split("\n")) {
    const [k, , ...v] = line.split("|");
    if (!k || v.length === 0) continue;
    const list = values.get(k) ?? [];
    list.push(v.join("|"));
    values.set(k, list);
  }
  const of = (key: string | number) => values.get(String(key)) ?? [];
  const distinct = (make: () => string, count = n): string[] => {
    const out = new Set<string>();
    for (let i = 0; i < count * 50 && out.size < count; i++) {
      const t = make();
      if (t) out.add(t.toLowerCase());
    }
    return [...out];
  };
  const fromList = (list: string[], cut: (v: string) => string) => () => (list.length ? cut(list[Math.floor(rnd() * list.length)]) : "");

  const first = of(attrId(FIRST_NAME_UID));
  const last = of(attrId(LAST_NAME_UID));
  const phone = of(attrId(PHONE_UID));
  const nid = of(attrId(NATIONAL_ID_UID));
  const qr = of("qr");

  const teType = (key: string, label: string, kind: QueryKind, goal: boolean, uid: string, terms: string[]): QueryType => ({
    key, label, kind, goal, terms,
    sql: (term) => trackedEntitySearchSql(attrId(uid), kind === "substring" ? like(term) : eq(term)),
    countSql: (term) => `SELECT count(*) FROM trackedentityattributevalue WHERE trackedentityattributeid = ${attrId(uid)} AND lower(value) ${kind === "substring" ? like(term) : eq(term)}`,
  });
  const evType = (key: string, label: string, kind: QueryKind, goal: boolean, terms: string[]): QueryType => ({
    key, label, kind, goal, terms,
    sql: (term) => eventSearchSql(kind === "substring" ? like(term) : eq(term)),
    countSql: (term) => `SELECT count(*) FROM event WHERE programstageid = ${PROGRAM_STAGES.qr.id} AND lower(eventdatavalues #>> '{${QR_DATA_ELEMENT_UID},value}') ${kind === "substring" ? like(term) : eq(term)}`,
  });
  return [
    teType("first5", "first name contains (5 chars)", "substring", true, FIRST_NAME_UID, distinct(fromList(first, (v) => substringOf(v, 5, rnd)))),
    teType("last5", "last name contains (5 chars)", "substring", true, LAST_NAME_UID, distinct(fromList(last, (v) => substringOf(v, 5, rnd)))),
    // phone: 6 digits of the 8 random ones after '+2547'
    teType("phone6", "phone contains (6 digits)", "substring", true, PHONE_UID, distinct(fromList(phone, (v) => substringOf(v, 6, rnd, 5)))),
    teType("first3", "first name contains (3 chars)", "substring", true, FIRST_NAME_UID, distinct(fromList(first, (v) => substringOf(v, 3, rnd)))),
    teType("nidEq", "national id equals", "exact", false, NATIONAL_ID_UID, distinct(fromList(nid, (v) => v))),
    teType("lastEq", "last name equals", "exact", false, LAST_NAME_UID, distinct(fromList(last, (v) => v))),
    evType("qrEq", "event QR code equals", "exact", false, distinct(fromList(qr, (v) => v))),
    evType("qr6", "event QR code contains (6 chars)", "substring", true, distinct(fromList(qr, (v) => substringOf(v, 6, rnd, 3)))),
  ];
}

/** A psql script timing every query with \timing, results discarded, labels `@@ type round i`. */
export function timingScript(types: readonly QueryType[], rounds: number): string {
  const out: string[] = ["\\set ON_ERROR_STOP on", "\\timing on", "\\o /dev/null"];
  for (let round = 0; round <= rounds; round++) {
    for (const qt of types) {
      qt.terms.forEach((term, i) => {
        out.push(`\\echo '@@ ${qt.key} ${round} ${i}'`);
        out.push(qt.sql(term) + ";");
      });
    }
  }
  return out.join("\n") + "\n";
}

export interface Latency {
  p50: number;
  p95: number;
  n: number;
}

/** Latencies per query type, warm-up round (0) excluded. */
export function latencies(types: readonly QueryType[], timings: Map<string, number[]>): Map<string, Latency> {
  const out = new Map<string, Latency>();
  for (const qt of types) {
    const all: number[] = [];
    for (const [label, times] of timings) {
      const [key, round] = label.split(" ");
      if (key === qt.key && Number(round) > 0) all.push(...times);
    }
    out.set(qt.key, { p50: percentile(all, 50), p95: percentile(all, 95), n: all.length });
  }
  return out;
}

/** Per term (by index): the median of its measured rounds (warm-up excluded). */
export function perTermMedians(qt: QueryType, timings: Map<string, number[]>): number[] {
  const byTerm = qt.terms.map(() => [] as number[]);
  for (const [label, times] of timings) {
    const [key, round, i] = label.split(" ");
    if (key === qt.key && Number(round) > 0) byTerm[Number(i)]?.push(...times);
  }
  return byTerm.map((t) => percentile(t, 50));
}

async function runTimed(server: BenchServer, types: readonly QueryType[], rounds: number): Promise<{ lat: Map<string, Latency>; timings: Map<string, number[]> }> {
  const r = await server.psql(timingScript(types, rounds), { database: BENCH_DATABASE, timeoutMs: 6 * 3_600_000 });
  if (r.code !== 0) throw new Error(`timing script failed (exit ${r.code}):\n${r.stderr.slice(-3000)}`);
  const timings = parseTimings(r.stdout);
  const expected = types.reduce((s, t) => s + t.terms.length, 0) * (rounds + 1);
  const got = [...timings.values()].reduce((s, t) => s + t.length, 0);
  if (got !== expected) throw new Error(`expected ${expected} timings from psql, parsed ${got}:\n${r.stdout.slice(0, 2000)}`);
  return { lat: latencies(types, timings), timings };
}

// ---------------------------------------------------------------------------------------------
// the concurrent writer
// ---------------------------------------------------------------------------------------------

/** pgbench -D definitions the scripts under scripts/bench/pgbench use. */
export function pgbenchDefines(orgUnits: number, nterms = 0): string[] {
  const d: Record<string, string | number> = {
    orgunits: orgUnits,
    attr_first: attrId(FIRST_NAME_UID),
    attr_last: attrId(LAST_NAME_UID),
    attr_phone: attrId(PHONE_UID),
    attr_nid: attrId(NATIONAL_ID_UID),
    attr_village: ATTRIBUTES[4].id,
    qr_stage: PROGRAM_STAGES.qr.id,
    qr_de: DATA_ELEMENTS.qr.uid,
    vaccine_de: DATA_ELEMENTS.vaccine.uid,
    dose_de: DATA_ELEMENTS.dose.uid,
    nterms,
  };
  return Object.entries(d).flatMap(([k, v]) => ["-D", `${k}=${v}`]);
}

/** Rows one transaction of scripts/bench/pgbench/tracker-write.sql inserts. */
export const WRITER_ROWS_PER_TX = 1 + 5 + 1;

// ---------------------------------------------------------------------------------------------
// main
// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const scale = numberArg(args, "scale", 1, 0.0001);
  const rounds = Math.round(numberArg(args, "rounds", 3, 1));
  const nTerms = Math.round(numberArg(args, "terms", 30, 1));
  const writerBefore = numberArg(args, "writer-before", 20, 3);
  const writerAfter = numberArg(args, "writer-after", 15, 0);
  const seedOpts: SeedOptions = { trackedEntities: Math.round(1_000_000 * scale), attributes: 5, eventsPerEntity: 1, seed: 1 };
  const expected = seedCounts(seedOpts);

  const started = Date.now();
  const machine = await machineInfo();
  const tuning = tunePostgres(BENCH_TUNING);
  const conf = renderConf(tuning, `toolkit settings (lib/plan/postgres.ts tunePostgres) for ${JSON.stringify(BENCH_TUNING)}`);

  console.log("# Tracker search benchmark (npm run bench:search)");
  console.log("");
  const server = await startBenchServer(conf);
  const monitor = startLoadMonitor(server.pg.dataDir);
  try {
    const version = (await server.sql("SELECT version()")).trim();
    console.log(describeMachine(machine, version));
    console.log(`settings: toolkit tuning for ${BENCH_TUNING.memoryMb} MB / ${BENCH_TUNING.cpus} CPUs / ${BENCH_TUNING.disk}: ` +
      tuning.filter((s) => ["shared_buffers", "work_mem", "maintenance_work_mem", "effective_cache_size", "random_page_cost", "jit"].includes(s.name)).map((s) => `${s.name}=${s.value}`).join(", "));
    console.log(`data: scale ${scale}: ${fmtInt(expected.trackedEntities)} tracked entities × 5 searchable attributes, ` +
      `${fmtInt(expected.trackerEvents)} tracker events with the QR-code data element, ${fmtInt(expected.singleEvents)} single events; DHIS2 2.41 schema (era ${BENCH_ERA})`);
    console.log(`method: ${nTerms} terms per query type from the seeded data, 1 warm-up round (discarded) + ${rounds} rounds, timed by psql \\timing in one session`);
    console.log("");

    const seed = await createSeededDatabase(server, BENCH_ERA, seedOpts);
    const t = eraTables(BENCH_ERA);
    console.log(`seeding: schema ${(seed.schemaMs / 1000).toFixed(1)} s, data + VACUUM ANALYZE ${(seed.seedMs / 1000).toFixed(1)} s`);
    console.log(`rows: ${Object.entries(seed.counts).map(([k, v]) => `${k} ${fmtInt(v)}`).join(", ")}`);
    console.log(seed.sizes.split("\n").map((l) => `  ${l}`).join("\n"));
    if (seed.counts.trackedentityattributevalue !== expected.attributeValues || seed.counts[t.trackedEntityTable] !== expected.trackedEntities) {
      throw new Error(`seeded counts differ from the requested ones: ${JSON.stringify(seed.counts)} vs ${JSON.stringify(expected)}`);
    }
    console.log("");

    const types = await pickTerms(server, { trackedEntities: expected.trackedEntities, trackerEvents: expected.trackerEvents, terms: nTerms });
    for (const qt of types) if (qt.terms.length < Math.min(nTerms, 30)) console.log(`note: only ${qt.terms.length} distinct terms for ${qt.label}`);
    const explained = types.filter((q) => q.key === "first5" || q.key === "phone6");

    // ---- without the trigram indexes
    let t0 = Date.now();
    const withoutRun = await runTimed(server, types, rounds);
    const without = withoutRun.lat;
    const withoutS = (Date.now() - t0) / 1000;
    console.log(`searches without trigram indexes: ${withoutS.toFixed(0)} s`);
    // plans without the index for the terms that may be shown later (EXPLAIN only: cheap)
    const plansWithout = new Map<string, string>();
    for (const qt of explained) {
      for (const term of qt.terms) plansWithout.set(`${qt.key} ${term}`, await server.sql(`EXPLAIN ${qt.sql(term)}`, { database: BENCH_DATABASE }));
    }

    // ---- build, with a concurrent writer
    const target = {
      instance: "bench",
      database: BENCH_DATABASE,
      schema: trackerSchema(BENCH_ERA),
      attributes: ATTRIBUTES.map((a) => a.uid),
      eventDataElements: [{ programStage: QR_PROGRAM_STAGE_UID, dataElement: QR_DATA_ELEMENT_UID }],
    };
    const indexSql = searchIndexSql(target);
    const writer = server.pgbenchBackground(
      ["-n", "-c", "1", "-j", "1", "-T", "86400", "-P", "1", "--progress-timestamp", "-f", path.join(PGBENCH_DIR, "tracker-write.sql"), ...pgbenchDefines(seedOpts.orgUnits ?? 100)],
      { database: BENCH_DATABASE },
    );
    let buildStart = 0;
    let buildEnd = 0;
    let buildOut: RunResult;
    let writerOut: RunResult;
    try {
      await new Promise((r) => setTimeout(r, writerBefore * 1000));
      buildStart = Date.now() / 1000;
      buildOut = await server.psql(indexSql, { database: BENCH_DATABASE, timeoutMs: 6 * 3_600_000 });
      buildEnd = Date.now() / 1000;
      await new Promise((r) => setTimeout(r, writerAfter * 1000));
    } finally {
      writerOut = await writer.stop();
    }
    if (buildOut.code !== 0) throw new Error(`searchIndexSql failed (exit ${buildOut.code}):\n${buildOut.stdout}\n${buildOut.stderr}`);
    const writerStart = Math.min(...parseProgress(writerOut.stderr).map((p) => p.t - 1));
    const progress = parseProgress(writerOut.stderr);
    if (progress.length === 0) throw new Error(`the writer reported no progress:\n${writerOut.stdout}\n${writerOut.stderr}`);
    const wBefore = meanTps(progress, writerStart + 2, buildStart);
    const wDuring = meanTps(progress, buildStart, buildEnd);
    const wAfter = meanTps(progress, buildEnd + 1, buildEnd + writerAfter);
    const writerErrors = writerOut.stderr.split("\n").filter((l) => /ERROR|error|aborted/.test(l) && !/^progress/.test(l));
    const indexes = await server.sql(
      `SELECT c.relname || ' ' || pg_size_pretty(pg_relation_size(c.oid)) || CASE WHEN i.indisvalid THEN '' ELSE ' INVALID' END
         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname LIKE 'in\\_toolkit\\_%' ORDER BY 1`,
      { database: BENCH_DATABASE },
    );
    await server.sql(`VACUUM ANALYZE trackedentityattributevalue; VACUUM ANALYZE trackedentity; VACUUM ANALYZE event;`, { database: BENCH_DATABASE, timeoutMs: 3_600_000 });

    // ---- with the indexes
    t0 = Date.now();
    const withRun = await runTimed(server, types, rounds);
    const withIdx = withRun.lat;
    const withS = (Date.now() - t0) / 1000;
    console.log(`searches with trigram indexes: ${withS.toFixed(0)} s`);

    // matches per term (for reading the figures)
    const matches = new Map<string, number[]>();
    for (const qt of types) {
      const counts = (await server.sql(qt.terms.map((term) => qt.countSql(term) + ";").join("\n"), { database: BENCH_DATABASE }))
        .split("\n").filter((l) => l.trim() !== "").map(Number);
      matches.set(qt.key, counts);
    }
    // per term: how many reach 100×
    const termSpeedups = new Map<string, number[]>();
    for (const qt of types) {
      const a = perTermMedians(qt, withoutRun.timings);
      const b = perTermMedians(qt, withRun.timings);
      termSpeedups.set(qt.key, a.map((x, i) => x / b[i]));
    }
    // plans: the rarest and the most common first-name fragment, and a phone fragment
    const first5 = types.find((q) => q.key === "first5")!;
    const phone6 = types.find((q) => q.key === "phone6")!;
    const fc = matches.get("first5")!;
    const rare = fc.indexOf(Math.min(...fc));
    const common = fc.indexOf(Math.max(...fc));
    const shown: Array<{ qt: QueryType; i: number; why: string }> = [
      { qt: first5, i: rare, why: "the rarest of its terms" },
      { qt: first5, i: common, why: "the most common of its terms" },
      { qt: phone6, i: 0, why: "its first term" },
    ];
    const plans: string[] = [];
    for (const p of shown) {
      const term = p.qt.terms[p.i];
      const analyzed = await server.sql(`EXPLAIN (ANALYZE, BUFFERS) ${p.qt.sql(term)}`, { database: BENCH_DATABASE });
      const used = /in_toolkit_teav_trgm_/.test(analyzed);
      plans.push(
        `-- ${p.qt.label}, term '${term}' (${p.why}; ${fmtInt(matches.get(p.qt.key)![p.i])} matching values)`,
        `-- WITHOUT the trigram index (EXPLAIN, before the build):`,
        (plansWithout.get(`${p.qt.key} ${term}`) ?? "").trim(),
        `-- WITH the index (EXPLAIN ANALYZE): trigram index used: ${used ? "yes" : "no, the planner preferred another plan"}`,
        analyzed.trim(),
        "",
      );
    }

    // ---- report
    console.log("");
    console.log(`## Search latency, ${fmtInt(expected.trackedEntities)} tracked entities (ms, p50/p95 over ${nTerms} terms × ${rounds} rounds)`);
    console.log("");
    const rows = types.map((qt) => {
      const a = without.get(qt.key)!;
      const b = withIdx.get(qt.key)!;
      const ts = termSpeedups.get(qt.key)!;
      return [
        qt.label, fmtInt(percentile(matches.get(qt.key)!, 50)), fmtMs(a.p50), fmtMs(a.p95), fmtMs(b.p50), fmtMs(b.p95),
        `${(a.p50 / b.p50).toFixed(a.p50 / b.p50 >= 10 ? 0 : 1)}×`, `${ts.filter((x) => x >= 100).length}/${ts.length}`,
      ];
    });
    console.log(table(["query", "median matches", "p50 without", "p95 without", "p50 with", "p95 with", "speedup (p50)", "terms ≥ 100×"], rows));
    console.log("");
    console.log("median matches: values matching the term (a page shows 50). terms ≥ 100×: terms whose own median latency improved 100-fold.");
    console.log("");
    console.log(`## Index build (searchIndexSql: CREATE INDEX CONCURRENTLY, then ANALYZE) with a concurrent writer`);
    console.log("");
    console.log(`build time: ${(buildEnd - buildStart).toFixed(1)} s`);
    console.log(`indexes:\n${indexes.trim().split("\n").map((l) => `  ${l}`).join("\n")}`);
    console.log(`script output:\n${buildOut.stdout.trim().split("\n").map((l) => `  ${l}`).join("\n")}`);
    console.log("");
    const rps = (x: { tps: number }) => x.tps * WRITER_ROWS_PER_TX;
    const ratio = rps(wDuring) / rps(wBefore);
    console.log(table(
      ["writer (1 session, 1 TE + 5 values + 1 event per tx)", "seconds", "tx/s", "rows/s", "vs before"],
      [
        ["before the build", String(wBefore.seconds), wBefore.tps.toFixed(1), fmtInt(rps(wBefore)), "100%"],
        ["during the build", String(wDuring.seconds), wDuring.tps.toFixed(1), fmtInt(rps(wDuring)), `${(ratio * 100).toFixed(0)}%`],
        ["after the build (indexes maintained)", String(wAfter.seconds), wAfter.tps.toFixed(1), fmtInt(rps(wAfter)), `${((rps(wAfter) / rps(wBefore)) * 100).toFixed(0)}%`],
      ],
    ));
    if (writerErrors.length) console.log(`writer errors:\n  ${writerErrors.slice(0, 10).join("\n  ")}`);
    console.log("");
    console.log("## Plans");
    console.log("");
    console.log(plans.join("\n"));
    console.log("## Goals");
    console.log("");
    const goalRows = types.filter((q) => q.goal);
    let met = 0;
    for (const qt of goalRows) {
      const s = without.get(qt.key)!.p50 / withIdx.get(qt.key)!.p50;
      if (s >= 100) met++;
      console.log(`- ${qt.label}: p50 speedup ${s.toFixed(1)}× — ${s >= 100 ? "met" : "NOT met"} (goal ≥ 100×)`);
    }
    console.log(`- substring searches ≥ 100× at p50: ${met === goalRows.length ? "met" : `NOT met`} (${met} of ${goalRows.length} query types)`);
    console.log(`- writer keeps ≥ 50% of its throughput during the build: ${ratio >= 0.5 ? "met" : "NOT met"} (${(ratio * 100).toFixed(0)}%)`);
    console.log("");
    const others = await monitor.stop();
    console.log(others.length === 0
      ? "other heavy processes during the run (ps every 10 s): none"
      : `other heavy processes during the run (ps every 10 s; figures may be disturbed):\n  ${others.join("\n  ")}`);
    console.log(`total run time ${((Date.now() - started) / 60000).toFixed(1)} min; load average at the end: ${os.loadavg().map((x) => x.toFixed(2)).join(" / ")}`);
  } finally {
    await monitor.stop();
    await server.stop();
  }
}

if (require.main === module) runMain(main);
