/**
 * PostgreSQL settings benchmark: a DHIS2-like mixed workload (pgbench custom scripts under
 * bench/pgbench) on DHIS2-shaped data WITH the toolkit's tracker search indexes, run under
 * four configurations of the same data directory (restart in between):
 *   a  stock        PostgreSQL's defaults (no tuning file)
 *   b  toolkit      tunePostgres (lib/plan/postgres.ts) for the memory/CPUs given to the database
 *   c  pgtune web   docs/sizing.md's pgtune table alone (no DHIS2 keys)
 *   d  DHIS2 docs   the DHIS2 guide's example values (8 GB server) scaled linearly to that memory
 *
 *   npm run bench:postgres [-- --scale N --seconds S --warmup S --repeat R --clients C --threads J --memory-mb M]
 *
 * Defaults: scale 0.2 (200,000 tracked entities × 5 attributes, 1 event each), 2 rounds per
 * configuration (order a b c d a b c d), each a restart, a 10 s warm-up and 50 s measured;
 * 8 clients, 2 threads, 8192 MB for the database. The events a run inserts are deleted before the
 * next one, so every run starts from the same data.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";

import { searchIndexSql } from "../lib/roles/database/search-indexes";
import { tunePostgres } from "../lib/plan/postgres";
import { pgMemory } from "../lib/plan/units";
import { ATTRIBUTES, QR_DATA_ELEMENT_UID, QR_PROGRAM_STAGE_UID, seedCounts, sqlString, trackerSchema, type SeedOptions } from "../tests/support/dhis2-schema";
import { BENCH_DATABASE, BENCH_ERA, createSeededDatabase } from "./harness/database";
import { describeMachine, machineInfo, startLoadMonitor } from "./harness/machine";
import { BENCH_TUNING, PGBENCH_DIR, runMain, startBenchServer, type BenchServer } from "./harness/server";
import { fmtInt, fmtMs, numberArg, parseArgs, parsePgbenchLog, percentile, renderConf, table } from "./harness/util";
import { pickTerms, type QueryType } from "./search/queries";
import { pgbenchDefines } from "./search/writer";

// ---------------------------------------------------------------------------------------------
// the configurations
// ---------------------------------------------------------------------------------------------

export interface Setting {
  readonly name: string;
  readonly value: string;
}

export interface PgtuneInput {
  readonly memoryMb: number;
  readonly cpus: number;
  readonly disk: "ssd" | "nvme" | "hdd";
  readonly maxConnections: number;
  readonly version: number;
}

/**
 * pgtune's "web" profile by the rules of docs/sizing.md's pgtune table, without the DHIS2 keys
 * (jit, max_locks_per_transaction, track_activity_query_size, temp_buffers, synchronous_commit).
 * Written here on its own, from the table, not by calling tunePostgres.
 */
export function pgtuneWeb(input: PgtuneInput): Setting[] {
  const ramKb = input.memoryMb * 1024;
  const cpus = Math.max(1, Math.floor(input.cpus));
  const sharedKb = Math.floor(ramKb / 4 / 8) * 8;
  const workers = cpus >= 4 ? cpus : 8;
  const workMemMb = Math.max(4, Math.floor((ramKb - sharedKb) / ((input.maxConnections + workers) * 3) / 1024));
  const walBuffersKb = Math.min(16 * 1024, Math.floor((sharedKb * 3) / 100 / 8) * 8);
  const io = { ssd: ["1.1", "200"], nvme: ["1.1", "1000"], hdd: ["4", "2"] }[input.disk];
  const s: Setting[] = [
    { name: "max_connections", value: String(input.maxConnections) },
    { name: "shared_buffers", value: pgMemory(sharedKb) },
    { name: "effective_cache_size", value: pgMemory(Math.floor((ramKb * 3) / 4)) },
    { name: "maintenance_work_mem", value: pgMemory(Math.min(Math.floor(ramKb / 16), 8 * 1024 * 1024)) },
    { name: "work_mem", value: `${workMemMb}MB` },
    { name: "wal_buffers", value: pgMemory(walBuffersKb) },
    { name: "min_wal_size", value: "1GB" },
    { name: "max_wal_size", value: "4GB" },
    { name: "checkpoint_completion_target", value: "0.9" },
    { name: "default_statistics_target", value: "100" },
    { name: "random_page_cost", value: io[0] },
    { name: "effective_io_concurrency", value: io[1] },
    { name: "maintenance_io_concurrency", value: io[1] },
    { name: "wal_compression", value: input.version >= 15 ? "lz4" : "on" },
  ];
  if (sharedKb >= 2 * 1024 * 1024) s.push({ name: "huge_pages", value: "try" });
  if (cpus >= 4) {
    const half = String(Math.min(4, Math.ceil(cpus / 2)));
    s.push(
      { name: "max_worker_processes", value: String(cpus) },
      { name: "max_parallel_workers_per_gather", value: half },
      { name: "max_parallel_workers", value: String(cpus) },
      { name: "max_parallel_maintenance_workers", value: half },
    );
  }
  return s;
}

/**
 * The DHIS2 guide's PostgreSQL example (written for a server with 8 GB for the database), memory
 * values scaled linearly to `memoryMb` (whole MB).
 */
export function dhis2DocsSettings(memoryMb: number): Setting[] {
  const f = memoryMb / 8192;
  const mb = (base: number) => `${Math.max(1, Math.round(base * f))}MB`;
  return [
    { name: "max_connections", value: "200" },
    { name: "shared_buffers", value: mb(3 * 1024) },
    { name: "work_mem", value: mb(24) },
    { name: "maintenance_work_mem", value: mb(1024) },
    { name: "temp_buffers", value: mb(16) },
    { name: "effective_cache_size", value: mb(8 * 1024) },
    { name: "checkpoint_completion_target", value: "0.8" },
    { name: "synchronous_commit", value: "off" },
    { name: "wal_writer_delay", value: "10s" },
    { name: "random_page_cost", value: "1.1" },
    { name: "max_locks_per_transaction", value: "96" },
    { name: "track_activity_query_size", value: "8192" },
    { name: "jit", value: "off" },
  ];
}

export interface BenchConfig {
  readonly key: string;
  readonly label: string;
  readonly conf: string;
}

export function benchConfigs(memoryMb: number): BenchConfig[] {
  const tuning = { ...BENCH_TUNING, memoryMb };
  return [
    { key: "a", label: "stock", conf: "# a: PostgreSQL's own defaults (no settings)\n" },
    { key: "b", label: "toolkit", conf: renderConf(tunePostgres(tuning), `b: toolkit (tunePostgres ${JSON.stringify(tuning)})`) },
    {
      key: "c",
      label: "pgtune web",
      conf: renderConf(pgtuneWeb({ memoryMb, cpus: tuning.cpus, disk: tuning.disk, maxConnections: tuning.maxConnections, version: tuning.version }), `c: pgtune web profile for ${memoryMb} MB`),
    },
    { key: "d", label: "DHIS2 docs", conf: renderConf(dhis2DocsSettings(memoryMb), `d: DHIS2 guide values scaled to ${memoryMb} MB`) },
  ];
}

// ---------------------------------------------------------------------------------------------
// the workload
// ---------------------------------------------------------------------------------------------

export interface WorkloadScript {
  readonly file: string;
  readonly label: string;
  readonly weight: number;
}

/** The mix: what a busy DHIS2 tracker server does, roughly (weights are pgbench's -f file@weight). */
export const WORKLOAD: readonly WorkloadScript[] = [
  { file: "search-substring.sql", label: "tracker search, contains", weight: 25 },
  { file: "search-exact.sql", label: "tracker search, equals", weight: 20 },
  { file: "event-qr.sql", label: "event QR-code lookup", weight: 10 },
  { file: "event-insert.sql", label: "event insert (data entry)", weight: 43 },
  { file: "analytics-events.sql", label: "events per org unit and month", weight: 2 },
];

/** bench_search_term: the terms the pgbench scripts draw from (kinds substring, exact, qr). */
export function searchTermsTableSql(types: readonly QueryType[]): { sql: string; defines: string[] } {
  const attrOf = (key: string) => {
    const t = types.find((x) => x.key === key);
    if (!t) throw new Error(`no query type ${key}`);
    return t;
  };
  const kinds: Record<string, Array<{ attr: number | null; key: string }>> = {
    substring: [{ attr: ATTRIBUTES[0].id, key: "first5" }, { attr: ATTRIBUTES[1].id, key: "last5" }, { attr: ATTRIBUTES[2].id, key: "phone6" }],
    exact: [{ attr: ATTRIBUTES[3].id, key: "nidEq" }, { attr: ATTRIBUTES[1].id, key: "lastEq" }],
    qr: [{ attr: null, key: "qrEq" }],
  };
  const rows: string[] = [];
  const counts: Record<string, number> = {};
  for (const [kind, sources] of Object.entries(kinds)) {
    let n = 0;
    for (const src of sources) {
      for (const term of attrOf(src.key).terms) {
        if (/['\\:]/.test(term)) continue; // pgbench substitutes variables textually
        rows.push(`(${sqlString(kind)}, ${++n}, ${src.attr ?? "NULL"}, ${sqlString(term)})`);
      }
    }
    counts[kind] = n;
  }
  const sql = `DROP TABLE IF EXISTS bench_search_term;
CREATE TABLE bench_search_term (kind text NOT NULL, n int NOT NULL, attr bigint, term text NOT NULL, PRIMARY KEY (kind, n));
INSERT INTO bench_search_term (kind, n, attr, term) VALUES\n  ${rows.join(",\n  ")};
ANALYZE bench_search_term;
`;
  return { sql, defines: ["-D", `nsubstring=${counts.substring}`, "-D", `nexact=${counts.exact}`, "-D", `nqr=${counts.qr}`] };
}

export interface PgbenchResult {
  tps: number;
  failed: number;
  transactions: number;
  durationS: number;
  perScript: Array<{ label: string; transactions: number; tps: number; p50: number; p95: number; failed: number; latenciesMs: number[] }>;
  overall: { p50: number; p95: number };
  stdout: string;
}

/** One pgbench run of the workload; with `logDir`, per-transaction logs are read (and removed). */
export async function runWorkload(
  server: BenchServer,
  opts: { seconds: number; clients: number; threads: number; defines: string[]; logDir?: string; database?: string; workload?: readonly WorkloadScript[] },
): Promise<PgbenchResult> {
  const workload = opts.workload ?? WORKLOAD;
  const args = [
    "-n", "-M", "simple",
    "-c", String(opts.clients), "-j", String(opts.threads), "-T", String(opts.seconds),
    ...(opts.logDir ? ["--log", `--log-prefix=${path.join(opts.logDir, "pgbench")}`] : []),
    ...workload.flatMap((w) => ["-f", `${path.join(PGBENCH_DIR, w.file)}@${w.weight}`]),
    ...opts.defines,
  ];
  const r = await server.pgbench(args, { database: opts.database ?? BENCH_DATABASE, timeoutMs: (opts.seconds + 300) * 1000 });
  const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(r.stdout)?.[1] ?? NaN);
  const failed = Number(/number of failed transactions: (\d+)/.exec(r.stdout)?.[1] ?? 0);
  const transactions = Number(/number of transactions actually processed: (\d+)/.exec(r.stdout)?.[1] ?? NaN);
  if (r.code !== 0 || !Number.isFinite(tps)) {
    throw new Error(`pgbench failed (exit ${r.code}):\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
  }
  const durationS = Number(/^duration: (\d+) s/m.exec(r.stdout)?.[1] ?? opts.seconds);
  const perScript: PgbenchResult["perScript"] = [];
  let overall = { p50: NaN, p95: NaN };
  if (opts.logDir) {
    const names = (await fsp.readdir(opts.logDir)).filter((n) => n.startsWith("pgbench."));
    let text = "";
    for (const n of names) text += (await fsp.readFile(path.join(opts.logDir, n), "utf8")) + "\n";
    for (const n of names) await fsp.rm(path.join(opts.logDir, n), { force: true });
    const log = parsePgbenchLog(text);
    const all: number[] = [];
    workload.forEach((w, i) => {
      const lat = log.latenciesMs.get(i) ?? [];
      all.push(...lat);
      perScript.push({ label: w.label, transactions: lat.length, tps: lat.length / durationS, p50: percentile(lat, 50), p95: percentile(lat, 95), failed: log.failed.get(i) ?? 0, latenciesMs: lat });
    });
    overall = { p50: percentile(all, 50), p95: percentile(all, 95) };
  }
  return { tps, failed, transactions, durationS, perScript, overall, stdout: r.stdout };
}

// ---------------------------------------------------------------------------------------------
// main
// ---------------------------------------------------------------------------------------------

const SHOWN = ["max_connections", "shared_buffers", "work_mem", "maintenance_work_mem", "effective_cache_size", "random_page_cost", "synchronous_commit", "wal_writer_delay", "jit", "max_wal_size", "checkpoint_completion_target", "wal_compression"];

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const scale = numberArg(args, "scale", 0.2, 0.0001);
  const seconds = Math.round(numberArg(args, "seconds", 50, 1));
  const warmup = Math.round(numberArg(args, "warmup", 10, 0));
  const clients = Math.round(numberArg(args, "clients", 8, 1));
  const threads = Math.round(numberArg(args, "threads", 2, 1));
  const memoryMb = Math.round(numberArg(args, "memory-mb", 8192, 256));
  const repeat = Math.round(numberArg(args, "repeat", 2, 1));
  const seedOpts: SeedOptions = { trackedEntities: Math.round(1_000_000 * scale), attributes: 5, eventsPerEntity: 1, seed: 2 };
  const expected = seedCounts(seedOpts);
  const configs = benchConfigs(memoryMb);
  const started = Date.now();
  const machine = await machineInfo();

  console.log("# PostgreSQL settings benchmark (npm run bench:postgres)");
  console.log("");
  const server = await startBenchServer(configs[1].conf); // seed with the toolkit's settings
  const monitor = startLoadMonitor(server.pg.dataDir);
  try {
    console.log(describeMachine(machine, (await server.sql("SELECT version()")).trim()));
    console.log(`data: scale ${scale}: ${fmtInt(expected.trackedEntities)} tracked entities × 5 attributes, ${fmtInt(expected.trackerEvents)} tracker events, ` +
      `${fmtInt(expected.singleEvents)} single events (DHIS2 2.41 schema), with the toolkit's trigram search indexes`);
    console.log(`memory given to the database in b/c/d: ${memoryMb} MB; CPUs ${BENCH_TUNING.cpus}; disk ${BENCH_TUNING.disk}`);
    console.log(`workload: pgbench -M simple -c ${clients} -j ${threads}, per configuration ${repeat} rounds (order a b c d, a b c d, ...) of a restart, ${warmup} s warm-up (discarded) and ${seconds} s measured; scripts (weight): ` +
      WORKLOAD.map((w) => `${w.file} (${w.weight})`).join(", "));
    console.log("");

    const seed = await createSeededDatabase(server, BENCH_ERA, seedOpts);
    console.log(`seeding: ${(seed.seedMs / 1000).toFixed(1)} s; rows: ${Object.entries(seed.counts).map(([k, v]) => `${k} ${fmtInt(v)}`).join(", ")}`);
    let t0 = Date.now();
    const build = await server.psql(
      searchIndexSql({
        instance: "bench", database: BENCH_DATABASE, schema: trackerSchema(BENCH_ERA),
        attributes: ATTRIBUTES.map((a) => a.uid), eventDataElements: [{ programStage: QR_PROGRAM_STAGE_UID, dataElement: QR_DATA_ELEMENT_UID, search: "contains" }],
      }),
      { database: BENCH_DATABASE, timeoutMs: 3 * 3_600_000 },
    );
    if (build.code !== 0) throw new Error(`searchIndexSql failed:\n${build.stdout}\n${build.stderr}`);
    console.log(`trigram indexes (searchIndexSql): ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const types = await pickTerms(server, { trackedEntities: expected.trackedEntities, trackerEvents: expected.trackerEvents, terms: 30, seed: 7 });
    const terms = searchTermsTableSql(types);
    await server.sql(terms.sql, { database: BENCH_DATABASE });
    const maxEvent = Number((await server.sql("SELECT max(eventid) FROM event", { database: BENCH_DATABASE })).trim());
    const defines = [...pgbenchDefines(100), ...terms.defines];
    console.log("");

    const runs = new Map<string, PgbenchResult[]>(configs.map((c) => [c.key, []]));
    for (let rep = 1; rep <= repeat; rep++) {
      for (const cfg of configs) {
        t0 = Date.now();
        await server.restart(cfg.conf);
        const shown = (await server.sql(`SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY array_position(ARRAY[${SHOWN.map(sqlString).join(",")}], name)) FROM pg_settings WHERE name IN (${SHOWN.map(sqlString).join(",")})`)).trim();
        if (warmup > 0) await runWorkload(server, { seconds: warmup, clients, threads, defines });
        const logDir = path.join(server.workDir, `run-${cfg.key}-${rep}`);
        await fsp.mkdir(logDir, { mode: 0o700 });
        const owner = await fsp.stat(server.workDir);
        await fsp.chown(logDir, owner.uid, owner.gid);
        const res = await runWorkload(server, { seconds, clients, threads, defines, logDir });
        await fsp.rm(logDir, { recursive: true, force: true });
        // same data for the next run: remove the events this run (and its warm-up) inserted
        await server.sql(`DELETE FROM event WHERE eventid > ${maxEvent}; VACUUM ANALYZE event;`, { database: BENCH_DATABASE, timeoutMs: 3_600_000 });
        console.log(`round ${rep}, ${cfg.key} ${cfg.label}: ${res.tps.toFixed(1)} tps, p95 ${fmtMs(res.overall.p95)} ms, ${res.failed} failed (${((Date.now() - t0) / 1000).toFixed(0)} s with restart and warm-up)`);
        if (rep === 1) console.log(`   in force: ${shown}`);
        runs.get(cfg.key)!.push(res);
      }
    }

    // all rounds of a configuration together
    const agg = configs.map((cfg) => {
      const rs = runs.get(cfg.key)!;
      const duration = rs.reduce((x, r) => x + r.durationS, 0);
      const perScript = WORKLOAD.map((_, i) => {
        const lat = rs.flatMap((r) => r.perScript[i].latenciesMs);
        return { tps: lat.length / duration, p95: percentile(lat, 95) };
      });
      const all = rs.flatMap((r) => r.perScript.flatMap((p) => p.latenciesMs));
      const tpsList = rs.map((r) => r.tps);
      return {
        cfg,
        perScript,
        tps: tpsList.reduce((x, y) => x + y, 0) / tpsList.length,
        tpsList,
        p95: percentile(all, 95),
        failed: rs.reduce((x, r) => x + r.failed, 0),
      };
    });

    console.log("");
    console.log(`## Throughput and latency per configuration (${fmtInt(expected.trackedEntities)} tracked entities, ${clients} clients, ${repeat} × ${seconds} s each)`);
    console.log("");
    const head = ["script (weight)", ...agg.flatMap((r) => [`${r.cfg.key} ${r.cfg.label} tps`, `${r.cfg.key} p95 ms`])];
    const rows = WORKLOAD.map((w, i) => [`${w.label} (${w.weight})`, ...agg.flatMap((r) => [r.perScript[i].tps.toFixed(1), fmtMs(r.perScript[i].p95)])]);
    rows.push(["all", ...agg.flatMap((r) => [r.tps.toFixed(1), fmtMs(r.p95)])]);
    console.log(table(head, rows));
    console.log("");
    console.log("tps: transactions per second (pgbench, without connection time; per script from the per-transaction log); p95: 95th percentile of the transaction latency.");
    console.log(`overall tps per round: ${agg.map((r) => `${r.cfg.key} ${r.tpsList.map((x) => x.toFixed(1)).join(" / ")}`).join("; ")}`);
    const base = agg[0].tps;
    console.log(agg.map((r) => `${r.cfg.key} ${r.cfg.label}: ${((r.tps / base) * 100).toFixed(0)}% of stock tps` + (r.failed ? `, ${r.failed} failed transactions` : "")).join("; "));
    console.log("");
    console.log("## Configuration files");
    for (const r of agg) {
      console.log("");
      console.log("```");
      console.log(r.cfg.conf.trim());
      console.log("```");
    }
    console.log("");
    const others = await monitor.stop();
    console.log(others.length === 0
      ? "other heavy processes during the run (ps every 10 s): none"
      : `other heavy processes during the run (ps every 10 s; figures may be disturbed):\n  ${others.join("\n  ")}`);
    console.log(`total run time ${((Date.now() - started) / 60000).toFixed(1)} min`);
  } finally {
    await monitor.stop();
    await server.stop();
  }
}

if (require.main === module) runMain(main);
