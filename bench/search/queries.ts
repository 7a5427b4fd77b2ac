/** The searched shapes (DHIS2 2.41 tracker searches), their terms from the seeded data, and their timing. */
import { ATTRIBUTES, FIRST_NAME_UID, LAST_NAME_UID, NATIONAL_ID_UID, PHONE_UID, PROGRAM_STAGES, QR_DATA_ELEMENT_UID, sqlString } from "../../tests/support/dhis2-schema";
import { BENCH_DATABASE } from "../harness/database";
import { BenchServer } from "../harness/server";
import { parseTimings, percentile, prng } from "../harness/util";

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

export const attrId = (uid: string) => ATTRIBUTES.find((a) => a.uid === uid)!.id;

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
export const eq = (term: string) => `= ${sqlString(term.toLowerCase())}`;

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

export async function runTimed(server: BenchServer, types: readonly QueryType[], rounds: number): Promise<{ lat: Map<string, Latency>; timings: Map<string, number[]> }> {
  const r = await server.psql(timingScript(types, rounds), { database: BENCH_DATABASE, timeoutMs: 6 * 3_600_000 });
  if (r.code !== 0) throw new Error(`timing script failed (exit ${r.code}):\n${r.stderr.slice(-3000)}`);
  const timings = parseTimings(r.stdout);
  const expected = types.reduce((s, t) => s + t.terms.length, 0) * (rounds + 1);
  const got = [...timings.values()].reduce((s, t) => s + t.length, 0);
  if (got !== expected) throw new Error(`expected ${expected} timings from psql, parsed ${got}:\n${r.stdout.slice(0, 2000)}`);
  return { lat: latencies(types, timings), timings };
}
