/**
 * Tracker search benchmark: DHIS2-shaped data (tests/support/dhis2-schema.ts, era "trackedentity",
 * i.e. DHIS2 2.41/2.42 table names), searched WITHOUT and WITH the toolkit's trigram indexes
 * (lib/roles/database/search-indexes.ts), on a throwaway PostgreSQL 15 started by the project's own
 * harness (tests/support/realtools/) with the toolkit's settings for this machine (lib/plan/postgres.ts).
 *
 *   npm run bench:search [-- --scale N] [--rounds R] [--terms T] [--writer-before S] [--writer-after S]
 *
 * scale 1 = 1,000,000 tracked entities × 5 attributes + 1 event each (+ 100,000 single events).
 *
 * Query latency is timed by psql itself (`\timing`, one long-lived session fed a generated script),
 * so process start-up is not in the figures. Each query type gets `terms` different search terms
 * taken from the seeded data; every term runs once as warm-up (discarded), then `rounds` times.
 *
 * The harness it shares with bench/postgres.ts and tests/bench.test.ts is in bench/harness/
 * (server start/restart with a conf.d text, psql with long time limits, pgbench, percentiles,
 * tables).
 */
import * as os from "node:os";
import * as path from "node:path";
import { searchIndexSql } from "../lib/roles/database/search-indexes";
import { tunePostgres } from "../lib/plan/postgres";
import { ATTRIBUTES, QR_DATA_ELEMENT_UID, QR_PROGRAM_STAGE_UID, eraTables, seedCounts, trackerSchema, type SeedOptions } from "../tests/support/dhis2-schema";
import { type RunResult } from "../tests/support/realtools";
import { BENCH_DATABASE, BENCH_ERA, createSeededDatabase } from "./harness/database";
import { describeMachine, machineInfo, startLoadMonitor } from "./harness/machine";
import { BENCH_TUNING, PGBENCH_DIR, runMain, startBenchServer } from "./harness/server";
import { fmtInt, fmtMs, meanTps, numberArg, parseArgs, parseProgress, percentile, renderConf, table } from "./harness/util";
import { QueryType, perTermMedians, pickTerms, runTimed } from "./search/queries";
import { pgbenchDefines, WRITER_ROWS_PER_TX } from "./search/writer";


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
    const explained = types.filter((q) => q.key === "first5" || q.key === "phone6" || q.key === "qrEq");

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
      // the QR code is searched both ways: part of it (trigram) and scanned whole (btree)
      eventDataElements: [{ programStage: QR_PROGRAM_STAGE_UID, dataElement: QR_DATA_ELEMENT_UID, search: "both" as const }],
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
    const qrEq = types.find((q) => q.key === "qrEq")!;
    const shown: Array<{ qt: QueryType; i: number; why: string; index: RegExp; kind: string }> = [
      { qt: first5, i: rare, why: "the rarest of its terms", index: /in_toolkit_teav_trgm_/, kind: "trigram" },
      { qt: first5, i: common, why: "the most common of its terms", index: /in_toolkit_teav_trgm_/, kind: "trigram" },
      { qt: phone6, i: 0, why: "its first term", index: /in_toolkit_teav_trgm_/, kind: "trigram" },
      // the exact lookup (a scanned QR code) has its own btree index (search: exact or both)
      { qt: qrEq, i: 0, why: "its first term", index: /in_toolkit_\w+_eq_/, kind: "btree (exact lookup)" },
    ];
    const plans: string[] = [];
    for (const p of shown) {
      const term = p.qt.terms[p.i];
      const analyzed = await server.sql(`EXPLAIN (ANALYZE, BUFFERS) ${p.qt.sql(term)}`, { database: BENCH_DATABASE });
      const used = p.index.test(analyzed);
      plans.push(
        `-- ${p.qt.label}, term '${term}' (${p.why}; ${fmtInt(matches.get(p.qt.key)![p.i])} matching values)`,
        `-- WITHOUT the toolkit's indexes (EXPLAIN, before the build):`,
        (plansWithout.get(`${p.qt.key} ${term}`) ?? "").trim(),
        `-- WITH them (EXPLAIN ANALYZE): ${p.kind} index used: ${used ? "yes" : "no, the planner preferred another plan"}`,
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
    const eqSpeedup = without.get("qrEq")!.p50 / withIdx.get("qrEq")!.p50;
    const eqIndex = /in_toolkit_\w+_eq_\d+/.exec(indexes)?.[0] ?? "none";
    console.log(`- event QR code equals (exact lookup) with its own btree index ${eqIndex}: p50 speedup ${eqSpeedup.toFixed(1)}× (the trigram index alone gave 41–50× in earlier runs; PostgreSQL 13 cannot use it for = at all)`);
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
