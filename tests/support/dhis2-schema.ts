/**
 * DHIS2-shaped schema fixtures for the tracker search index tests and the benchmarks.
 *
 * Only the tables and columns the tracker search (and its indexes) touch, with DHIS2's real table,
 * column and index names for each schema era (lib/dhis2/compat.ts):
 *   "tei"           (≤ 2.40)  trackedentityinstance, trackedentityattributevalue.trackedentityinstanceid,
 *                             events in programstageinstance (executiondate)
 *   "trackedentity" (2.41-42) trackedentity, trackedentityattributevalue.trackedentityid,
 *                             events in event (occurreddate)
 *   "split-events"  (2.43)    as 2.41, events of programs WITH_REGISTRATION in trackerevent and of
 *                             programs WITHOUT_REGISTRATION in singleevent (same columns as event)
 * Events keep their data values in `eventdatavalues jsonb`, keyed by data element UID:
 *   {"LavUrktwH5D": {"value": "QR-00001234", "created": "...", "lastUpdated": "...", "providedElsewhere": false}}
 *
 * Indexes are the ones DHIS2 itself has on these tables that matter for searching (checked against
 * dhis2-core's migrations and Hibernate mappings): primary keys (2.41/2.42 keep the names
 * trackedentityinstance_pkey / programstageinstance_pkey), unique UIDs,
 * `in_trackedentityattributevalue_attributeid (trackedentityattributeid)`, the btree
 * `in_trackedentity_attribute_value (trackedentityattributeid, lower(value))` of the Java
 * migration V2_35_1 (which already serves exact, case-insensitive attribute searches; a substring
 * search cannot use it) and the unique `in_trackedentityinstance_trackedentityattribute_value
 * (tracked entity, attribute, lower(value))` of V2_37_2. No trigram index: DHIS2 makes
 * `in_gin_teavalue_<id>` only when an administrator schedules its trigram indexing job; creating
 * them is the toolkit's job (lib/dhis2/search-indexes.ts).
 *
 * Everything here is SQL text generation; nothing runs a program.
 */
import { resolveDhis2Runtime, type SchemaEra, type TrackerSchemaNames } from "../../lib/dhis2/compat";

export type { SchemaEra };
export const ERAS: readonly SchemaEra[] = ["tei", "trackedentity", "split-events"];

// ---------------------------------------------------------------------------------------------
// fixed metadata (UIDs and DHIS2-internal ids)
// ---------------------------------------------------------------------------------------------

export const FIRST_NAME_UID = "w75KJ2mc4zz";
export const LAST_NAME_UID = "zDhUuAYrxNC";
export const PHONE_UID = "P2cwLGskgxn";
export const NATIONAL_ID_UID = "Lf60TmZjLu8";
export const VILLAGE_UID = "So8emmyri4o";

/** Tracker program (WITH_REGISTRATION) owning the QR-code stage. */
export const TRACKER_PROGRAM_UID = "QGrauFX1lMu";
export const QR_PROGRAM_STAGE_UID = "ZkbAXlQUYJG";
/** Event program (WITHOUT_REGISTRATION): its events are the `singleevent` table in 2.43. */
export const EVENT_PROGRAM_UID = "EJc4hKMRZKU";
export const EVENT_PROGRAM_STAGE_UID = "LY2JxjtIYzg";

export const QR_DATA_ELEMENT_UID = "LavUrktwH5D";
export const VACCINE_DATA_ELEMENT_UID = "FQWdDgFl1mI";
export const DOSE_DATA_ELEMENT_UID = "uxhuEBSUIrm";

export interface AttributeFixture {
  readonly id: number;
  readonly uid: string;
  readonly name: string;
  readonly valueType: string;
  /** How seedSql fills it. */
  readonly kind: "firstName" | "lastName" | "phone" | "nationalId" | "village" | "generic";
}

/** The five searchable attributes, in the order seedSql fills them (`attributes: n` = the first n). */
export const ATTRIBUTES: readonly AttributeFixture[] = [
  { id: 1001, uid: FIRST_NAME_UID, name: "First name", valueType: "TEXT", kind: "firstName" },
  { id: 1002, uid: LAST_NAME_UID, name: "Last name", valueType: "TEXT", kind: "lastName" },
  { id: 1003, uid: PHONE_UID, name: "Phone number", valueType: "PHONE_NUMBER", kind: "phone" },
  { id: 1004, uid: NATIONAL_ID_UID, name: "National ID", valueType: "TEXT", kind: "nationalId" },
  { id: 1005, uid: VILLAGE_UID, name: "Village", valueType: "TEXT", kind: "village" },
];

/** Attribute n (1-based): one of ATTRIBUTES, or a generic text attribute `Xattr000006`, ... beyond 5. */
export function attributeFixture(n: number): AttributeFixture {
  if (!Number.isInteger(n) || n < 1) throw new Error(`attribute number must be a positive integer: ${n}`);
  if (n <= ATTRIBUTES.length) return ATTRIBUTES[n - 1];
  return { id: 1000 + n, uid: `Xattr${String(n).padStart(6, "0")}`, name: `Attribute ${n}`, valueType: "TEXT", kind: "generic" };
}

export const PROGRAMS = {
  tracker: { id: 2001, uid: TRACKER_PROGRAM_UID, name: "Immunisation (tracker)", type: "WITH_REGISTRATION" },
  event: { id: 2002, uid: EVENT_PROGRAM_UID, name: "Walk-in vaccination (events)", type: "WITHOUT_REGISTRATION" },
} as const;

export const PROGRAM_STAGES = {
  qr: { id: 3001, uid: QR_PROGRAM_STAGE_UID, name: "Vaccination", programId: PROGRAMS.tracker.id },
  event: { id: 3002, uid: EVENT_PROGRAM_STAGE_UID, name: "Walk-in vaccination", programId: PROGRAMS.event.id },
} as const;

export const DATA_ELEMENTS = {
  qr: { id: 4001, uid: QR_DATA_ELEMENT_UID, name: "Vaccination certificate QR code" },
  vaccine: { id: 4002, uid: VACCINE_DATA_ELEMENT_UID, name: "Vaccine" },
  dose: { id: 4003, uid: DOSE_DATA_ELEMENT_UID, name: "Dose number" },
} as const;

/** Organisation unit ids are 1..orgUnits. */
export const DEFAULT_ORG_UNITS = 100;

// ---------------------------------------------------------------------------------------------
// names per era
// ---------------------------------------------------------------------------------------------

export interface EraTables {
  readonly era: SchemaEra;
  /** Tracked entity table and its id column (also the column in trackedentityattributevalue). */
  readonly trackedEntityTable: "trackedentityinstance" | "trackedentity";
  readonly trackedEntityColumn: "trackedentityinstanceid" | "trackedentityid";
  /** Table of the events of the tracker program (the QR-code stage). */
  readonly trackerEventTable: "programstageinstance" | "event" | "trackerevent";
  /** Table of the events of the event program. */
  readonly singleEventTable: "programstageinstance" | "event" | "singleevent";
  /** Distinct event tables, in creation order. */
  readonly eventTables: readonly string[];
  readonly eventIdColumn: "programstageinstanceid" | "eventid";
  readonly eventDateColumn: "executiondate" | "occurreddate";
  /**
   * Sequences new rows take their ids from: 2.41 and 2.42 keep the ≤ 2.40 names
   * (trackedentityinstance_sequence, programstageinstance_sequence); 2.43.1 renames them.
   */
  readonly trackedEntitySequence: string;
  readonly trackerEventSequence: string;
  readonly singleEventSequence: string;
}

export function eraTables(era: SchemaEra): EraTables {
  switch (era) {
    case "tei":
      return {
        era, trackedEntityTable: "trackedentityinstance", trackedEntityColumn: "trackedentityinstanceid",
        trackerEventTable: "programstageinstance", singleEventTable: "programstageinstance", eventTables: ["programstageinstance"],
        eventIdColumn: "programstageinstanceid", eventDateColumn: "executiondate",
        trackedEntitySequence: "trackedentityinstance_sequence", trackerEventSequence: "programstageinstance_sequence",
        singleEventSequence: "programstageinstance_sequence",
      };
    case "trackedentity":
      return {
        era, trackedEntityTable: "trackedentity", trackedEntityColumn: "trackedentityid",
        trackerEventTable: "event", singleEventTable: "event", eventTables: ["event"],
        eventIdColumn: "eventid", eventDateColumn: "occurreddate",
        trackedEntitySequence: "trackedentityinstance_sequence", trackerEventSequence: "programstageinstance_sequence",
        singleEventSequence: "programstageinstance_sequence",
      };
    case "split-events":
      return {
        era, trackedEntityTable: "trackedentity", trackedEntityColumn: "trackedentityid",
        trackerEventTable: "trackerevent", singleEventTable: "singleevent", eventTables: ["trackerevent", "singleevent"],
        eventIdColumn: "eventid", eventDateColumn: "occurreddate",
        trackedEntitySequence: "trackedentity_sequence", trackerEventSequence: "trackerevent_sequence",
        singleEventSequence: "singleevent_sequence",
      };
    default: {
      const never: never = era;
      throw new Error(`unknown schema era ${String(never)}`);
    }
  }
}

/** The TrackerSchemaNames the toolkit derives for a DHIS2 release of this era (for searchIndexSql). */
export function trackerSchema(era: SchemaEra): TrackerSchemaNames {
  const version = { tei: "2.40.0", trackedentity: "2.41.0", "split-events": "2.43.0" }[era];
  const schema = resolveDhis2Runtime(version).schema;
  if (schema.era !== era) throw new Error(`compat table maps ${version} to ${schema.era}, expected ${era}`);
  return schema;
}

// ---------------------------------------------------------------------------------------------
// schema
// ---------------------------------------------------------------------------------------------

/** CREATE TABLE / INDEX statements of the DHIS2 tables the tracker search touches (public schema). */
export function dhis2SchemaSql(era: SchemaEra): string {
  const t = eraTables(era);
  const te = t.trackedEntityTable;
  const teId = t.trackedEntityColumn;
  const lines: string[] = [
    `-- DHIS2 tracker tables, schema era ${era} (tests/support/dhis2-schema.ts)`,
    `CREATE TABLE organisationunit (
  organisationunitid bigint NOT NULL PRIMARY KEY,
  uid varchar(11) NOT NULL UNIQUE,
  name text
);`,
    `CREATE TABLE trackedentityattribute (
  trackedentityattributeid bigint NOT NULL PRIMARY KEY,
  uid varchar(11) NOT NULL UNIQUE,
  name varchar(230) NOT NULL,
  valuetype varchar(50)
);`,
    `CREATE TABLE program (
  programid bigint NOT NULL PRIMARY KEY,
  uid varchar(11) NOT NULL UNIQUE,
  name text NOT NULL,
  type varchar(255) NOT NULL
);`,
    `CREATE TABLE programstage (
  programstageid bigint NOT NULL PRIMARY KEY,
  uid varchar(11) NOT NULL UNIQUE,
  name text,
  programid bigint REFERENCES program (programid)
);`,
    `CREATE TABLE dataelement (
  dataelementid bigint NOT NULL PRIMARY KEY,
  uid varchar(11) NOT NULL UNIQUE,
  name varchar(230)
);`,
    `CREATE TABLE ${te} (
  ${teId} bigint NOT NULL PRIMARY KEY,
  uid varchar(11) NOT NULL UNIQUE,
  organisationunitid bigint,
  created timestamp,
  lastupdated timestamp,
  deleted boolean NOT NULL DEFAULT false
);`,
    `CREATE TABLE trackedentityattributevalue (
  ${teId} bigint NOT NULL REFERENCES ${te} (${teId}),
  trackedentityattributeid bigint NOT NULL REFERENCES trackedentityattribute (trackedentityattributeid),
  value varchar(1200),
  created timestamp,
  lastupdated timestamp,
  CONSTRAINT trackedentityattributevalue_pkey PRIMARY KEY (${teId}, trackedentityattributeid)
);`,
    `CREATE INDEX in_trackedentityattributevalue_attributeid ON trackedentityattributevalue (trackedentityattributeid);`,
    `CREATE INDEX in_trackedentity_attribute_value ON trackedentityattributevalue USING btree (trackedentityattributeid, lower(value));`,
    `CREATE UNIQUE INDEX in_trackedentityinstance_trackedentityattribute_value ON trackedentityattributevalue USING btree (${teId}, trackedentityattributeid, lower(value));`,
  ];
  for (const table of t.eventTables) {
    lines.push(`CREATE TABLE ${table} (
  ${t.eventIdColumn} bigint NOT NULL PRIMARY KEY,
  uid varchar(11) NOT NULL UNIQUE,
  programstageid bigint NOT NULL REFERENCES programstage (programstageid),
  organisationunitid bigint,
  ${t.eventDateColumn} timestamp,
  created timestamp,
  deleted boolean NOT NULL DEFAULT false,
  eventdatavalues jsonb NOT NULL DEFAULT '{}'::jsonb
);`);
  }
  for (const seq of new Set([t.trackedEntitySequence, t.trackerEventSequence, t.singleEventSequence])) {
    lines.push(`CREATE SEQUENCE ${seq};`);
  }
  return lines.join("\n") + "\n";
}

// ---------------------------------------------------------------------------------------------
// seed data
// ---------------------------------------------------------------------------------------------

/** Given names (East/West/Southern Africa, Asia): seedSql appends two random syllables to each. */
export const FIRST_NAMES: readonly string[] = [
  "Amina", "Wanjiru", "Kamau", "Otieno", "Achieng", "Mwangi", "Njeri", "Kipchoge", "Fatuma", "Halima",
  "Baraka", "Neema", "Zawadi", "Juma", "Rehema", "Makena", "Chege", "Akinyi", "Omondi", "Nafula",
  "Abdi", "Hodan", "Ayaan", "Tendai", "Chipo", "Farai", "Thabo", "Lerato", "Sipho", "Nomsa",
  "Kwame", "Ama", "Kofi", "Abena", "Yaw", "Efua", "Chinedu", "Ngozi", "Emeka", "Ifeoma",
  "Moussa", "Aissatou", "Mamadou", "Fatoumata", "Priya", "Rahul", "Anjali", "Nguyen", "Linh", "Maria",
];

/** Family names: seedSql appends two random syllables to each. */
export const LAST_NAMES: readonly string[] = [
  "Mutua", "Ochieng", "Kariuki", "Wambua", "Njoroge", "Kiprono", "Odhiambo", "Chebet", "Mohamed", "Hassan",
  "Ali", "Abdullahi", "Okello", "Nakato", "Ssempala", "Mugisha", "Uwimana", "Habimana", "Banda", "Phiri",
  "Mwale", "Dlamini", "Nkosi", "Moyo", "Ndlovu", "Mensah", "Owusu", "Boateng", "Okafor", "Adeyemi",
  "Balogun", "Diallo", "Traore", "Coulibaly", "Keita", "Sow", "Sharma", "Patel", "Tran", "Pham",
  "Silva", "Santos", "Mendes", "Tesfaye", "Bekele", "Girma", "Haile", "Kebede", "Abebe", "Tadesse",
];

export const SYLLABLES: readonly string[] = [
  "ka", "li", "mo", "ne", "ru", "si", "ta", "wa", "ya", "zu", "ba", "di",
  "fe", "go", "ha", "ji", "ko", "lu", "ma", "no", "pe", "ri", "so", "tu",
];

export const VILLAGES: readonly string[] = [
  "Kibera", "Mathare", "Kawangware", "Githurai", "Kisumu Ndogo", "Nyalenda", "Manyatta", "Kondele", "Bondeni", "Majengo",
  "Likoni", "Bamburi", "Mtwapa", "Kilifi", "Malindi", "Lamu", "Garissa", "Wajir", "Mandera", "Isiolo",
];

export const VACCINES: readonly string[] = ["Pfizer-BioNTech", "Moderna", "AstraZeneca", "Janssen", "Sinopharm", "Sinovac"];

export interface SeedOptions {
  /** Tracked entities (each gets one value per seeded attribute). */
  readonly trackedEntities: number;
  /** Seeded (searchable) attributes: the first n of ATTRIBUTES, then generic ones. Default 5. */
  readonly attributes?: number;
  /** Events of the QR-code stage per tracked entity. Default 1. */
  readonly eventsPerEntity?: number;
  /** Events of the event program (WITHOUT_REGISTRATION). Default trackedEntities / 10. */
  readonly singleEvents?: number;
  /** Organisation units. Default 100. */
  readonly orgUnits?: number;
  /** setseed() argument source: any integer; the same seed gives the same data. Default 1. */
  readonly seed?: number;
  /** VACUUM ANALYZE at the end (cannot run inside a transaction block). Default true. */
  readonly vacuum?: boolean;
}

export interface SeedCounts {
  readonly orgUnits: number;
  readonly trackedEntities: number;
  readonly attributeValues: number;
  readonly trackerEvents: number;
  readonly singleEvents: number;
}

function wholeNumber(v: number, what: string, min = 0): number {
  if (!Number.isInteger(v) || v < min) throw new Error(`${what} must be an integer ≥ ${min}: ${v}`);
  return v;
}

/** How many rows seedSql(era, opts) creates. */
export function seedCounts(opts: SeedOptions): SeedCounts {
  const n = wholeNumber(opts.trackedEntities, "trackedEntities");
  const attributes = wholeNumber(opts.attributes ?? ATTRIBUTES.length, "attributes");
  const perEntity = wholeNumber(opts.eventsPerEntity ?? 1, "eventsPerEntity");
  return {
    orgUnits: wholeNumber(opts.orgUnits ?? DEFAULT_ORG_UNITS, "orgUnits", 1),
    trackedEntities: n,
    attributeValues: n * attributes,
    trackerEvents: n * perEntity,
    singleEvents: wholeNumber(opts.singleEvents ?? Math.floor(n / 10), "singleEvents"),
  };
}

/** A SQL string literal. */
export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

function sqlArray(values: readonly string[]): string {
  return `ARRAY[${values.map(sqlString).join(", ")}]`;
}

/** random element of a text array (1-based), evaluated per row */
function pick(values: readonly string[]): string {
  return `(${sqlArray(values)})[1 + floor(random() * ${values.length})::int]`;
}

/** Value expression of one attribute for tracked entity `g` (bigint). */
function attributeValueSql(a: AttributeFixture): string {
  switch (a.kind) {
    case "firstName":
      return `${pick(FIRST_NAMES)} || ${pick(SYLLABLES)} || ${pick(SYLLABLES)}`;
    case "lastName":
      return `${pick(LAST_NAMES)} || ${pick(SYLLABLES)} || ${pick(SYLLABLES)}`;
    case "phone":
      return `'+2547' || lpad(floor(random() * 100000000)::bigint::text, 8, '0')`;
    case "nationalId":
      // unique: g ↦ 10000000 + (g × 48271 mod 89999999) is injective for g < 89999999 (48271 is prime)
      return `(10000000 + (g * 48271) % 89999999)::text`;
    case "village":
      return `${pick(VILLAGES)} || ' ' || (1 + floor(random() * 40))::int`;
    case "generic":
      return `substr(md5(random()::text), 1, 12)`;
    default: {
      const never: never = a.kind;
      throw new Error(`unknown attribute kind ${String(never)}`);
    }
  }
}

/** eventdatavalues for an event created at `ts`, dose `dose` (SQL expressions). */
function eventDataValuesSql(ts: string, dose: string): string {
  const stamp = `to_char(${ts}, 'YYYY-MM-DD"T"HH24:MI:SS.MS')`;
  const dv = (value: string) =>
    `jsonb_build_object('value', ${value}, 'created', ${stamp}, 'lastUpdated', ${stamp}, 'storedBy', 'seed', 'providedElsewhere', false)`;
  return `jsonb_build_object(
      ${sqlString(QR_DATA_ELEMENT_UID)}, ${dv(`'QR-' || lpad(floor(random() * 100000000)::bigint::text, 8, '0')`)},
      ${sqlString(VACCINE_DATA_ELEMENT_UID)}, ${dv(pick(VACCINES))},
      ${sqlString(DOSE_DATA_ELEMENT_UID)}, ${dv(`(${dose})::text`)})`;
}

/** Metadata rows: attributes (5, or more when asked), programs, stages, data elements, org units. */
export function metadataSql(opts: { attributes?: number; orgUnits?: number } = {}): string {
  const nAttr = Math.max(ATTRIBUTES.length, wholeNumber(opts.attributes ?? ATTRIBUTES.length, "attributes"));
  const orgUnits = wholeNumber(opts.orgUnits ?? DEFAULT_ORG_UNITS, "orgUnits", 1);
  const attrs = Array.from({ length: nAttr }, (_, i) => attributeFixture(i + 1));
  const p = Object.values(PROGRAMS);
  const ps = Object.values(PROGRAM_STAGES);
  const de = Object.values(DATA_ELEMENTS);
  return [
    `INSERT INTO trackedentityattribute (trackedentityattributeid, uid, name, valuetype) VALUES\n  ${attrs
      .map((a) => `(${a.id}, ${sqlString(a.uid)}, ${sqlString(a.name)}, ${sqlString(a.valueType)})`)
      .join(",\n  ")};`,
    `INSERT INTO program (programid, uid, name, type) VALUES\n  ${p.map((x) => `(${x.id}, ${sqlString(x.uid)}, ${sqlString(x.name)}, ${sqlString(x.type)})`).join(",\n  ")};`,
    `INSERT INTO programstage (programstageid, uid, name, programid) VALUES\n  ${ps.map((x) => `(${x.id}, ${sqlString(x.uid)}, ${sqlString(x.name)}, ${x.programId})`).join(",\n  ")};`,
    `INSERT INTO dataelement (dataelementid, uid, name) VALUES\n  ${de.map((x) => `(${x.id}, ${sqlString(x.uid)}, ${sqlString(x.name)})`).join(",\n  ")};`,
    `INSERT INTO organisationunit (organisationunitid, uid, name)
SELECT g, 'OU' || lpad(g::text, 9, '0'), 'Health facility ' || g FROM generate_series(1, ${orgUnits}) g;`,
  ].join("\n") + "\n";
}

/**
 * SQL (for one psql session, not in a transaction block) that fills a database created with
 * dhis2SchemaSql(era): metadata, then `trackedEntities` tracked entities with one value per seeded
 * attribute, `eventsPerEntity` QR-code stage events per entity, `singleEvents` event-program events,
 * sequences moved past the seeded ids, VACUUM ANALYZE. Set-based (INSERT ... SELECT FROM
 * generate_series) and deterministic (setseed, serial plan, rows in id order). Tables stay logged;
 * foreign-key triggers are skipped during the load (session_replication_role = replica, as
 * pg_restore --disable-triggers does): the rows are consistent by construction.
 *
 * Values: first/last names = a name from FIRST_NAMES/LAST_NAMES + two random syllables
 * ("Aminakoru"); phone '+2547' + 8 digits; national id 8 digits, unique; village + number;
 * QR code 'QR-' + 8 digits. UIDs: tracked entities 'T' + 10 digits (their id), tracker events
 * 'E' + 10 digits, single events 'S' + 10 digits, org units 'OU' + 9 digits.
 */
export function seedSql(era: SchemaEra, opts: SeedOptions): string {
  const t = eraTables(era);
  const c = seedCounts(opts);
  const nAttr = opts.attributes ?? ATTRIBUTES.length;
  const perEntity = opts.eventsPerEntity ?? 1;
  const seed = wholeNumber(Math.abs(opts.seed ?? 1), "seed");
  const setseed = ((seed % 2000) - 1000) / 1000; // [-1, 1)
  const attrs = Array.from({ length: nAttr }, (_, i) => attributeFixture(i + 1));
  const te = t.trackedEntityTable;
  const teId = t.trackedEntityColumn;
  const ev = t.eventIdColumn;
  const evDate = t.eventDateColumn;

  const out: string[] = [
    `-- seed data, era ${era}: ${c.trackedEntities} tracked entities × ${nAttr} attributes, ${c.trackerEvents} tracker events, ${c.singleEvents} single events`,
    `SET session_replication_role = replica;`,
    `SET synchronize_seqscans = off;`,
    `SET max_parallel_workers_per_gather = 0;`,
    `SELECT setseed(${setseed});`,
    metadataSql({ attributes: nAttr, orgUnits: c.orgUnits }),
  ];
  if (c.trackedEntities > 0) {
    out.push(`INSERT INTO ${te} (${teId}, uid, organisationunitid, created, lastupdated, deleted)
SELECT g, 'T' || lpad(g::text, 10, '0'), 1 + floor(random() * ${c.orgUnits})::int, ts, ts, false
  FROM generate_series(1::bigint, ${c.trackedEntities}::bigint) g
 CROSS JOIN LATERAL (SELECT timestamp '2021-01-01' + random() * interval '1095 days' AS ts) x;`);
  }
  if (c.trackedEntities > 0 && attrs.length > 0) {
    const values = attrs.map((a) => `(${a.id}::bigint, ${attributeValueSql(a)})`).join(",\n      ");
    out.push(`INSERT INTO trackedentityattributevalue (${teId}, trackedentityattributeid, value, created, lastupdated)
SELECT g, v.attr, v.value, now()::timestamp, now()::timestamp
  FROM generate_series(1::bigint, ${c.trackedEntities}::bigint) g
 CROSS JOIN LATERAL (VALUES
      ${values}
  ) v(attr, value);`);
  }
  if (c.trackerEvents > 0) {
    out.push(`INSERT INTO ${t.trackerEventTable} (${ev}, uid, programstageid, organisationunitid, ${evDate}, created, deleted, eventdatavalues)
SELECT id, 'E' || lpad(id::text, 10, '0'), ${PROGRAM_STAGES.qr.id}, x.organisationunitid, x.ts, x.ts, false, ${eventDataValuesSql("x.ts", "k")}
  FROM (SELECT (e.${teId} - 1) * ${perEntity} + k AS id, k, e.organisationunitid,
               e.created + random() * interval '180 days' AS ts
          FROM ${te} e CROSS JOIN generate_series(1, ${perEntity}) k
         WHERE e.${teId} <= ${c.trackedEntities}
         ORDER BY 1) x;`);
  }
  if (c.singleEvents > 0) {
    out.push(`INSERT INTO ${t.singleEventTable} (${ev}, uid, programstageid, organisationunitid, ${evDate}, created, deleted, eventdatavalues)
SELECT id, 'S' || lpad(id::text, 10, '0'), ${PROGRAM_STAGES.event.id}, x.ou, x.ts, x.ts, false, ${eventDataValuesSql("x.ts", "1")}
  FROM (SELECT ${c.trackerEvents}::bigint + g AS id, 1 + floor(random() * ${c.orgUnits})::int AS ou,
               timestamp '2021-01-01' + random() * interval '1095 days' AS ts
          FROM generate_series(1::bigint, ${c.singleEvents}::bigint) g) x;`);
  }
  out.push(`SELECT setval('${t.trackedEntitySequence}', ${Math.max(1, c.trackedEntities)});`);
  // event ids are unique across the event tables (single events follow the tracker events)
  for (const seq of new Set([t.trackerEventSequence, t.singleEventSequence])) {
    out.push(`SELECT setval('${seq}', ${Math.max(1, c.trackerEvents + c.singleEvents)});`);
  }
  out.push(`RESET session_replication_role;`, `RESET synchronize_seqscans;`, `RESET max_parallel_workers_per_gather;`);
  if (opts.vacuum ?? true) {
    out.push(`VACUUM ANALYZE;`);
  }
  return out.join("\n") + "\n";
}

/** SQL returning one line `table=count` per seeded table (for checking a seed). */
export function countRowsSql(era: SchemaEra): string {
  const t = eraTables(era);
  const tables = ["organisationunit", "trackedentityattribute", "program", "programstage", "dataelement", t.trackedEntityTable, "trackedentityattributevalue", ...t.eventTables];
  return tables.map((x) => `SELECT '${x}=' || count(*) FROM ${x};`).join("\n") + "\n";
}

/** Parses the output of countRowsSql (psql -At) into table → count. */
export function parseCounts(stdout: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of stdout.split("\n")) {
    const m = /^([a-z_]+)=(\d+)$/.exec(line.trim());
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}
