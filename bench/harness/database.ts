/** A DHIS2-shaped, seeded database (tests/support/dhis2-schema.ts) on the benchmark server. */
import { countRowsSql, dhis2SchemaSql, parseCounts, seedSql, type SchemaEra, type SeedOptions } from "../../tests/support/dhis2-schema";
import { BenchServer } from "./server";

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
