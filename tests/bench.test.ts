/**
 * The benchmark machinery (bench/, tests/support/dhis2-schema.ts), fast: the DHIS2-shaped
 * seed gives the requested counts in all three schema eras, deterministically; the pgbench scripts
 * run without errors on a tiny seeded database with the trigram indexes; the statistics helpers
 * are right. No timing assertions: the benchmarks print figures, tests must not depend on speed.
 */
import test from "ava";
import { promises as fsp } from "node:fs";
import * as path from "node:path";

import { searchIndexSql } from "../lib/roles/database/search-indexes";
import { tunePostgres } from "../lib/plan/postgres";
import { benchConfigs, dhis2DocsSettings, pgtuneWeb, runWorkload, searchTermsTableSql, WORKLOAD } from "../bench/postgres";
import { BENCH_TUNING, PGBENCH_DIR, startBenchServer, type BenchServer } from "../bench/harness/server";
import { meanTps, parsePgbenchLog, parseProgress, parseTimings, percentile } from "../bench/harness/util";
import { pickTerms, timingScript } from "../bench/search/queries";
import { pgbenchDefines, WRITER_ROWS_PER_TX } from "../bench/search/writer";
import {
  ATTRIBUTES,
  countRowsSql,
  dhis2SchemaSql,
  eraTables,
  ERAS,
  EVENT_PROGRAM_STAGE_UID,
  parseCounts,
  PROGRAM_STAGES,
  QR_DATA_ELEMENT_UID,
  QR_PROGRAM_STAGE_UID,
  seedCounts,
  seedSql,
  trackerSchema,
  type SchemaEra,
  type SeedOptions,
} from "./support/dhis2-schema";
import { pendingTempDirs } from "./support/realtools";

// ---------------------------------------------------------------------------------------------
// pure helpers
// ---------------------------------------------------------------------------------------------

test("percentile: linear interpolation between closest ranks", (t) => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
  t.is(percentile(hundred, 50), 50.5);
  t.is(Math.round(percentile(hundred, 95) * 1e9) / 1e9, 95.05);
  t.is(percentile(hundred, 0), 1);
  t.is(percentile(hundred, 100), 100);
  t.is(percentile([10, 20], 25), 12.5);
  t.is(percentile([3, 1, 2], 50), 2, "input order does not matter");
  t.is(percentile([7], 95), 7);
  t.true(Number.isNaN(percentile([], 50)));
  const shuffled = [...hundred].reverse();
  t.is(percentile(shuffled, 95), percentile(hundred, 95));
  t.deepEqual(shuffled[0], 100, "the input is not sorted in place");
  t.throws(() => percentile(hundred, 101));
  t.throws(() => percentile(hundred, -1));
  t.throws(() => percentile(hundred, NaN));
});

test("parsers: psql \\timing, pgbench logs and progress", (t) => {
  const timings = parseTimings(["@@ first5 0 0", "Time: 12.345 ms", "@@ first5 1 0", "Time: 1234.500 ms (00:01.235)", "@@ qrEq 1 3", "Time: 0.250 ms", "Time: 9 ms"].join("\n"));
  t.deepEqual(timings.get("first5 0 0"), [12.345]);
  t.deepEqual(timings.get("first5 1 0"), [1234.5]);
  t.deepEqual(timings.get("qrEq 1 3"), [0.25], "a Time line without its own label is ignored");

  const log = parsePgbenchLog(["0 1 1500 0 1700000000 1234", "1 1 2500 0 1700000000 2234", "0 2 40000 2 1700000001 5", "1 2 failed 1 1700000001 7", ""].join("\n"));
  t.deepEqual(log.latenciesMs.get(0), [1.5, 2.5]);
  t.deepEqual(log.latenciesMs.get(2), [40]);
  t.is(log.failed.get(1), 1);

  const progress = parseProgress(["progress: 100.0 s, 10.0 tps, lat 1.0 ms stddev 0.1, 0 failed", "progress: 101.0 s, 20.0 tps, lat 1.0 ms stddev 0.1, 0 failed", "progress: 102.0 s, 30.0 tps, lat 1 ms"].join("\n"));
  t.deepEqual(progress.map((p) => p.tps), [10, 20, 30]);
  t.deepEqual(meanTps(progress, 99, 101), { tps: 15, seconds: 2 });
  t.deepEqual(meanTps(progress, 100, 102), { tps: 25, seconds: 2 });
  t.true(Number.isNaN(meanTps(progress, 200, 300).tps));
});

test("configurations: pgtune web = the toolkit without the DHIS2 keys; DHIS2 docs scale with memory", (t) => {
  const toolkit = new Map(tunePostgres(BENCH_TUNING).map((s) => [s.name, s.value]));
  const pgtune = pgtuneWeb({ memoryMb: 8192, cpus: 2, disk: "ssd", maxConnections: 100, version: 15 });
  for (const s of pgtune) t.is(toolkit.get(s.name), s.value, `${s.name}: pgtune rule and tunePostgres agree`);
  const names = new Set(pgtune.map((s) => s.name));
  for (const dhis2Key of ["jit", "max_locks_per_transaction", "track_activity_query_size", "temp_buffers", "synchronous_commit"]) t.false(names.has(dhis2Key), dhis2Key);
  const p = new Map(pgtune.map((s) => [s.name, s.value]));
  t.is(p.get("shared_buffers"), "2GB");
  t.is(p.get("effective_cache_size"), "6GB");
  t.is(p.get("maintenance_work_mem"), "512MB");
  t.is(p.get("work_mem"), "18MB"); // (8192 − 2048) MB / ((100 + 8) × 3)

  const d8 = new Map(dhis2DocsSettings(8192).map((s) => [s.name, s.value]));
  t.is(d8.get("shared_buffers"), "3072MB");
  t.is(d8.get("work_mem"), "24MB");
  t.is(d8.get("effective_cache_size"), "8192MB");
  t.is(d8.get("synchronous_commit"), "off");
  const d4 = new Map(dhis2DocsSettings(4096).map((s) => [s.name, s.value]));
  t.is(d4.get("shared_buffers"), "1536MB");
  t.is(d4.get("maintenance_work_mem"), "512MB");
  t.is(d4.get("max_connections"), "200", "not a memory value");
  t.deepEqual(benchConfigs(8192).map((c) => c.key), ["a", "b", "c", "d"]);
});

test("seedCounts and validation", (t) => {
  t.deepEqual(seedCounts({ trackedEntities: 1000, eventsPerEntity: 2 }), { orgUnits: 100, trackedEntities: 1000, attributeValues: 5000, trackerEvents: 2000, singleEvents: 100 });
  t.throws(() => seedSql("tei", { trackedEntities: 1.5 }));
  t.throws(() => seedSql("tei", { trackedEntities: -1 }));
  t.is(seedSql("trackedentity", { trackedEntities: 10, seed: 3 }), seedSql("trackedentity", { trackedEntities: 10, seed: 3 }));
});

// ---------------------------------------------------------------------------------------------
// with a real PostgreSQL
// ---------------------------------------------------------------------------------------------

let server: BenchServer | undefined;

test.before(async () => {
  server = await startBenchServer("# tests/bench.test.ts: PostgreSQL defaults\n");
});

test.after.always(async (t) => {
  await server?.stop();
  t.deepEqual(pendingTempDirs(), [], "no temp dir left behind");
});

async function seeded(db: string, era: SchemaEra, opts: SeedOptions): Promise<BenchServer> {
  const s = server!;
  await s.sql(`CREATE DATABASE ${db};`);
  await s.sql(dhis2SchemaSql(era), { database: db });
  await s.sql(seedSql(era, opts), { database: db });
  return s;
}

for (const era of ERAS) {
  test.serial(`seedSql gives the requested rows, consistent, in era ${era}`, async (t) => {
    const db = `seed_${era.replace("-", "_")}`;
    const opts: SeedOptions = { trackedEntities: 500, attributes: 5, eventsPerEntity: 2, singleEvents: 30, orgUnits: 7, seed: 5 };
    const s = await seeded(db, era, opts);
    const names = eraTables(era);
    const counts = parseCounts(await s.sql(countRowsSql(era), { database: db }));
    const expected: Record<string, number> = {
      organisationunit: 7, trackedentityattribute: 5, program: 2, programstage: 2, dataelement: 3,
      [names.trackedEntityTable]: 500, trackedentityattributevalue: 2500,
    };
    if (era === "split-events") Object.assign(expected, { trackerevent: 1000, singleevent: 30 });
    else expected[names.trackerEventTable] = 1030;
    t.deepEqual(counts, expected);

    const te = names.trackedEntityColumn;
    const checks = await s.sql(
      `SELECT 'per attribute ' || string_agg(n::text, ',' ORDER BY a) FROM (SELECT trackedentityattributeid a, count(*) n FROM trackedentityattributevalue GROUP BY 1) x;
       SELECT 'orphans ' || count(*) FROM trackedentityattributevalue v WHERE NOT EXISTS (SELECT 1 FROM ${names.trackedEntityTable} e WHERE e.${te} = v.${te});
       SELECT 'duplicate national ids ' || (count(*) - count(DISTINCT value)) FROM trackedentityattributevalue WHERE trackedentityattributeid = ${ATTRIBUTES[3].id};
       SELECT 'bad phones ' || count(*) FROM trackedentityattributevalue WHERE trackedentityattributeid = ${ATTRIBUTES[2].id} AND value !~ '^\\+2547[0-9]{8}$';
       SELECT 'bad QR codes ' || count(*) FROM (${names.eventTables.map((x) => `SELECT eventdatavalues FROM ${x}`).join(" UNION ALL ")}) e WHERE e.eventdatavalues #>> '{${QR_DATA_ELEMENT_UID},value}' !~ '^QR-[0-9]{8}$';
       SELECT 'tracker events outside the QR stage ' || count(*) FROM ${names.trackerEventTable} WHERE uid LIKE 'E%' AND programstageid <> ${PROGRAM_STAGES.qr.id};
       SELECT 'single events outside the event stage ' || count(*) FROM ${names.singleEventTable} WHERE uid LIKE 'S%' AND programstageid <> (SELECT programstageid FROM programstage WHERE uid = '${EVENT_PROGRAM_STAGE_UID}');
       SELECT 'event org units unknown ' || count(*) FROM ${names.trackerEventTable} ev WHERE NOT EXISTS (SELECT 1 FROM organisationunit o WHERE o.organisationunitid = ev.organisationunitid);
       SELECT 'sequences ahead ' || (nextval('${names.trackedEntitySequence}') > 500 AND nextval('${names.trackerEventSequence}') > 1030 AND nextval('${names.singleEventSequence}') > 1030);
       SELECT 'vacuumed ' || (count(*) FILTER (WHERE last_vacuum IS NOT NULL AND last_analyze IS NOT NULL) = count(*)) FROM pg_stat_user_tables WHERE n_live_tup > 0;`,
      { database: db },
    );
    t.deepEqual(checks.trim().split("\n"), [
      "per attribute 500,500,500,500,500",
      "orphans 0",
      "duplicate national ids 0",
      "bad phones 0",
      "bad QR codes 0",
      "tracker events outside the QR stage 0",
      "single events outside the event stage 0",
      "event org units unknown 0",
      "sequences ahead true",
      "vacuumed true",
    ]);
  });
}

test.serial("seedSql: fewer attributes, no entities, and the same seed gives the same data", async (t) => {
  const s = await seeded("seed_two", "trackedentity", { trackedEntities: 300, attributes: 2, eventsPerEntity: 0, singleEvents: 0, seed: 9 });
  t.deepEqual(parseCounts(await s.sql(countRowsSql("trackedentity"), { database: "seed_two" })), {
    organisationunit: 100, trackedentityattribute: 5, program: 2, programstage: 2, dataelement: 3, trackedentity: 300, trackedentityattributevalue: 600, event: 0,
  });
  await seeded("seed_none", "tei", { trackedEntities: 0, vacuum: false });
  t.is(parseCounts(await s.sql(countRowsSql("tei"), { database: "seed_none" })).trackedentityattribute, 5);

  const digest = (db: string) =>
    s.sql(
      `SELECT md5(string_agg(trackedentityid || ':' || trackedentityattributeid || ':' || value, ',' ORDER BY 1)) FROM trackedentityattributevalue;
       SELECT md5(string_agg(eventid || ':' || organisationunitid || ':' || occurreddate || ':' || eventdatavalues::text, ',' ORDER BY eventid)) FROM event;`,
      { database: db },
    );
  await seeded("seed_a", "trackedentity", { trackedEntities: 400, seed: 11 });
  await seeded("seed_b", "trackedentity", { trackedEntities: 400, seed: 11 });
  await seeded("seed_c", "trackedentity", { trackedEntities: 400, seed: 12 });
  t.is(await digest("seed_a"), await digest("seed_b"));
  t.not(await digest("seed_a"), await digest("seed_c"));
});

test.serial("the pgbench scripts run without errors on a tiny seeded database with the trigram indexes", async (t) => {
  const db = "dhis2";
  const s = await seeded(db, "trackedentity", { trackedEntities: 2000, seed: 3 });
  const build = await s.psql(
    searchIndexSql({
      instance: "bench", database: db, schema: trackerSchema("trackedentity"),
      attributes: ATTRIBUTES.map((a) => a.uid), eventDataElements: [{ programStage: QR_PROGRAM_STAGE_UID, dataElement: QR_DATA_ELEMENT_UID, search: "contains" }],
    }),
    { database: db },
  );
  t.is(build.code, 0, build.stderr);
  const types = await pickTerms(s, { trackedEntities: 2000, trackerEvents: 2000, terms: 10, database: db });
  t.true(types.every((q) => q.terms.length >= 5), "terms found in the seeded data");
  const terms = searchTermsTableSql(types);
  await s.sql(terms.sql, { database: db });

  // pgbench substitutes variables inside quoted literals, the way the scripts use them
  const probe = path.join(s.workDir, "probe.sql");
  await fsp.writeFile(
    probe,
    [
      "\\set r 42",
      "SELECT term FROM bench_search_term WHERE kind = 'substring' AND n = 1 \\gset",
      "INSERT INTO probe VALUES ('%:term%', '{:qr_de,value}', md5('f:r'), lpad(':r', 8, '0'));",
      "",
    ].join("\n"),
    { mode: 0o644 },
  );
  await s.sql("CREATE TABLE probe (a text, b text, c text, d text);", { database: db });
  const pr = await s.pgbench(["-n", "-t", "1", "-f", probe, ...pgbenchDefines(100)], { database: db });
  t.is(pr.code, 0, pr.stderr);
  const term = (await s.sql("SELECT term FROM bench_search_term WHERE kind = 'substring' AND n = 1", { database: db })).trim();
  t.is((await s.sql("SELECT a || ' ' || b || ' ' || (c = md5('f42')) || ' ' || d FROM probe", { database: db })).trim(), `%${term}% {${QR_DATA_ELEMENT_UID},value} true 00000042`);

  const logDir = path.join(s.workDir, "log");
  await fsp.mkdir(logDir, { mode: 0o700 });
  const owner = await fsp.stat(s.workDir);
  await fsp.chown(logDir, owner.uid, owner.gid);
  const res = await runWorkload(s, { seconds: 2, clients: 2, threads: 1, defines: [...pgbenchDefines(100), ...terms.defines], logDir, database: db });
  t.is(res.failed, 0, res.stdout);
  t.is(res.perScript.length, WORKLOAD.length);
  for (const sc of res.perScript) t.true(sc.transactions > 0, `${sc.label} ran`);
  t.deepEqual(await fsp.readdir(logDir), [], "logs read and removed");

  // the writer of the search benchmark (7 rows per transaction)
  const before = Number((await s.sql("SELECT count(*) FROM trackedentityattributevalue", { database: db })).trim());
  const w = await s.pgbench(["-n", "-c", "1", "-T", "2", "-f", path.join(PGBENCH_DIR, "tracker-write.sql"), ...pgbenchDefines(100)], { database: db });
  t.is(w.code, 0, w.stderr);
  const tx = Number(/number of transactions actually processed: (\d+)/.exec(w.stdout)?.[1]);
  t.true(tx > 0, w.stdout);
  const after = Number((await s.sql("SELECT count(*) FROM trackedentityattributevalue", { database: db })).trim());
  t.is(after - before, tx * (WRITER_ROWS_PER_TX - 2), "5 attribute values per transaction");
  t.is((await s.sql("SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname LIKE 'in_toolkit_%' AND i.indisvalid", { database: db })).trim(), "6");
});

test.serial("psql \\timing script: one timing per query, parsed", async (t) => {
  const s = server!;
  const types = (await pickTerms(s, { trackedEntities: 2000, trackerEvents: 2000, terms: 2, database: "dhis2" })).map((q) => ({ ...q, terms: q.terms.slice(0, 2) }));
  const r = await s.psql(timingScript(types, 1), { database: "dhis2" });
  t.is(r.code, 0, r.stderr);
  const timings = parseTimings(r.stdout);
  t.is([...timings.values()].flat().length, types.length * 2 * 2);
  t.true([...timings.values()].flat().every((ms) => ms >= 0));
});
