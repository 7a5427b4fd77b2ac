/**
 * PostgreSQL settings from the memory, CPUs and disk the database gets.
 *
 * pgtune's "web" profile (le0pard/pgtune) for the memory and parallelism values, then the keys the
 * DHIS2 guide asks for (jit off, more locks per transaction, longer query text in
 * pg_stat_activity). Values are printed the way PostgreSQL's SHOW prints them, so the rendered
 * file and a running server can be compared literally. See docs/sizing.md.
 *
 * Every key below exists in PostgreSQL 13 to 17; where a value depends on the major version
 * (wal_compression = lz4 needs 15) the function picks the value that major accepts.
 */
import type { DiskKind } from "../config/model";
import { pgDuration, pgMemory } from "./units";

export interface PostgresSetting {
  readonly name: string;
  /** Value as SHOW prints it. */
  readonly value: string;
  /** Why this value (one line, shown in the rendered file and the tuning table). */
  readonly why: string;
  /** Changing it needs a restart, not a reload. */
  readonly restart: boolean;
}

export interface PostgresTuningInput {
  /** PostgreSQL major version. */
  readonly version: number;
  /** Memory the database gets (VM size, or the container limit), MB. */
  readonly memoryMb: number;
  /** CPUs the database gets. */
  readonly cpus: number;
  readonly disk: DiskKind;
  /** Sum of the instances' pool sizes plus reserved connections. */
  readonly maxConnections: number;
  readonly synchronousCommit: "on" | "off";
  readonly walWriterDelayMs: number;
  /** Slow-query log threshold (log_min_duration_statement), ms; -1 off. Default in callers: 300 s. */
  readonly logMinDurationStatementMs?: number;
}

/** Settings that need a server restart when they change (postgresql.org, "context = postmaster"). */
const RESTART = new Set([
  "max_connections", "shared_buffers", "huge_pages", "max_worker_processes", "wal_buffers",
  "max_locks_per_transaction", "track_activity_query_size", "autovacuum_max_workers",
]);

const IO: Record<DiskKind, { randomPageCost: string; ioConcurrency: number }> = {
  ssd: { randomPageCost: "1.1", ioConcurrency: 200 },
  nvme: { randomPageCost: "1.1", ioConcurrency: 1000 },
  hdd: { randomPageCost: "4", ioConcurrency: 2 },
};

export function tunePostgres(input: PostgresTuningInput): PostgresSetting[] {
  const ramKb = input.memoryMb * 1024;
  const cpus = Math.max(1, Math.floor(input.cpus));
  const s: PostgresSetting[] = [];
  const set = (name: string, value: string | number, why: string) => {
    s.push({ name, value: String(value), why, restart: RESTART.has(name) });
  };

  const sharedBuffersKb = Math.floor(ramKb / 4 / 8) * 8; // whole 8 kB pages
  const walBuffersKb = Math.min(16 * 1024, Math.floor((sharedBuffersKb * 3) / 100 / 8) * 8);
  const workers = cpus >= 4 ? cpus : 8; // PostgreSQL's default max_worker_processes is 8
  const workMemKb = Math.max(4 * 1024, Math.floor((ramKb - sharedBuffersKb) / ((input.maxConnections + workers) * 3) / 1024) * 1024);

  set("max_connections", input.maxConnections, "the DHIS2 instances' connection pools plus reserved admin, backup and monitoring connections");
  set("shared_buffers", pgMemory(sharedBuffersKb), "25% of the database's memory (pgtune web)");
  set("effective_cache_size", pgMemory(Math.floor((ramKb * 3) / 4)), "75% of the database's memory: what the planner may assume is cached");
  const maintenanceKb = Math.min(Math.floor(ramKb / 16), 8 * 1024 * 1024);
  set("maintenance_work_mem", pgMemory(maintenanceKb), "memory/16, at most 8 GB: index builds, VACUUM");
  set("work_mem", pgMemory(workMemKb), "(memory − shared_buffers) / ((max_connections + workers) × 3), at least 4 MB");
  set("wal_buffers", pgMemory(walBuffersKb < 14 * 1024 ? walBuffersKb : 16 * 1024), "3% of shared_buffers, at most 16 MB");
  if (sharedBuffersKb >= 2 * 1024 * 1024) set("huge_pages", "try", "use huge pages when the kernel offers them (shared_buffers ≥ 2 GB)");
  else set("huge_pages", "off", "off below 2 GB of shared_buffers (pgtune): too small to gain from huge pages");
  set("min_wal_size", "1GB", "pgtune web");
  set("max_wal_size", "4GB", "pgtune web: fewer forced checkpoints during imports and analytics");
  set("checkpoint_completion_target", "0.9", "spread checkpoint writes");
  set("default_statistics_target", 100, "PostgreSQL default, pgtune web");
  set("random_page_cost", IO[input.disk].randomPageCost, `${input.disk}: random reads cost about as much as sequential ones`);
  set("effective_io_concurrency", IO[input.disk].ioConcurrency, `${input.disk}: concurrent I/O requests the disk serves well`);
  set("maintenance_io_concurrency", IO[input.disk].ioConcurrency, `${input.disk}: same, for maintenance work`);
  set("wal_compression", input.version >= 15 ? "lz4" : "on", input.version >= 15 ? "lz4 (PostgreSQL 15+): less WAL for little CPU" : "pglz (lz4 needs PostgreSQL 15)");
  if (cpus >= 4) {
    const half = Math.min(4, Math.ceil(cpus / 2));
    set("max_worker_processes", cpus, "one per CPU (pgtune)");
    set("max_parallel_workers_per_gather", half, "min(4, CPUs/2) (pgtune)");
    set("max_parallel_workers", cpus, "one per CPU (pgtune)");
    set("max_parallel_maintenance_workers", half, "min(4, CPUs/2): parallel index builds (pgtune)");
  }
  set("autovacuum_max_workers", cpus >= 32 ? 5 : cpus >= 16 ? 4 : 3, "3, 4 from 16 CPUs, 5 from 32 (pgtune)");
  set("autovacuum_work_mem", pgMemory(Math.min(maintenanceKb, 2 * 1024 * 1024)), "maintenance_work_mem, at most 2 GB per autovacuum worker (pgtune)");
  // DHIS2 guide (sysadmin/reference/postgresql)
  set("jit", "off", "DHIS2: JIT makes program indicator and analytics queries up to 100× slower");
  set("max_locks_per_transaction", 128, "DHIS2: analytics table swaps lock many tables at once (dhis2-server-tools uses 128)");
  set("track_activity_query_size", "8kB", "DHIS2: see whole SQL statements (8192 bytes) in pg_stat_activity");
  set("temp_buffers", "16MB", "DHIS2 guide");
  set("synchronous_commit", input.synchronousCommit, input.synchronousCommit === "on"
    ? "on: a committed transaction survives a crash (DHIS2 docs suggest off; opt in with dhis2:postgres.synchronousCommit)"
    : `off (opted in): a crash can lose the last ${3 * input.walWriterDelayMs} ms of commits, never corrupts`);
  if (input.synchronousCommit === "off") set("wal_writer_delay", pgDuration(input.walWriterDelayMs), "flush interval of asynchronous commits; loss window is 3× this");
  const slowMs = input.logMinDurationStatementMs ?? 300_000;
  set("log_min_duration_statement", slowMs <= 0 ? String(slowMs) : pgDuration(slowMs), slowMs < 0
    ? "slow-query log off (dhis2:postgres.logMinDurationStatementMs -1)"
    : "slow-query log: statements running longer are logged with their text (dhis2:postgres.logMinDurationStatementMs; 300 s as dhis2-server-tools)");
  return s;
}
