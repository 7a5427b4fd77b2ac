/**
 * Tracker search indexes (seed 000): pg_trgm + btree_gin, one partial trigram GIN index per
 * searched tracked entity attribute, one trigram expression index per event data element searched
 * by part of its value, and one btree expression index per event data element looked up by its
 * whole value (`=`, which a trigram index serves only by scanning its matches, and PostgreSQL 13
 * not at all), in the table and column names of the instance's DHIS2 version.
 *
 * The SQL (templates/database/tracker-search-indexes.sql.hbs) resolves UIDs to internal ids
 * itself, so the same stack works on every copy of a database (production, staging, training).
 * It runs on the database host as the postgres superuser, wrapped by a script that waits for DHIS2
 * to create its schema (templates/database/tracker-search-indexes.sh.hbs).
 */
import type { EventSearch } from "../../config/model";
import type { TrackerSchemaNames } from "../../dhis2/compat";
import type { InstancePlan, Plan } from "../../plan";
import { renderTemplate } from "../../render/engine";

export interface SearchIndexTarget {
  readonly instance: string;
  readonly database: string;
  readonly schema: TrackerSchemaNames;
  /** Tracked entity attribute UIDs. */
  readonly attributes: readonly string[];
  /** (program stage, data element) UID pairs, each searched by part of its value, the whole value, or both. */
  readonly eventDataElements: readonly EventSearch[];
  /** For messages and comments: stack name, index of the instance in dhis2:instances, DHIS2 version. */
  readonly stack?: string;
  readonly instanceIndex?: number;
  readonly version?: string;
}

/** Prefix of every index the toolkit manages; no other index is ever dropped. */
export const INDEX_PREFIX = "in_toolkit_";

/** Index names the toolkit gives (ids are DHIS2's internal ids of the database at hand). */
export const indexName = {
  attribute: (attributeId: number | string) => `${INDEX_PREFIX}teav_trgm_${attributeId}`,
  eventDataElement: (table: string, dataElementId: number | string) => `${INDEX_PREFIX}${table}_trgm_${dataElementId}`,
  /** The btree index of exact lookups of an event data element's value. */
  eventDataElementExact: (table: string, dataElementId: number | string) => `${INDEX_PREFIX}${table}_eq_${dataElementId}`,
};

const UID = /^[A-Za-z][A-Za-z0-9]{10}$/;
const IDENT = /^[a-z_][a-z0-9_]*$/;

/** SQL expression (in the context of `program p`) naming the event table of a program stage. */
function eventTableSql(schema: TrackerSchemaNames): string {
  if (schema.era === "split-events") return "CASE WHEN p.type = 'WITH_REGISTRATION' THEN 'trackerevent' ELSE 'singleevent' END";
  return `'${schema.eventTables[0]}'::text`;
}

function check(target: SearchIndexTarget): void {
  // the values end up inside SQL text: accept only what validation already guarantees
  for (const u of [...target.attributes, ...target.eventDataElements.flatMap((e) => [e.programStage, e.dataElement])]) {
    if (!UID.test(u)) throw new Error(`not a DHIS2 UID: ${JSON.stringify(u)}`);
  }
  for (const e of target.eventDataElements) {
    if (!["contains", "exact", "both"].includes(e.search)) throw new Error(`not a search kind: ${JSON.stringify(e.search)}`);
  }
  for (const name of [target.instance, target.database]) {
    if (!IDENT.test(name)) throw new Error(`not a safe identifier: ${JSON.stringify(name)}`);
  }
}

/** The psql script that brings the instance's search indexes to the listed set. */
export function searchIndexSql(target: SearchIndexTarget): string {
  check(target);
  return renderTemplate("database/tracker-search-indexes.sql.hbs", {
    stack: target.stack ?? "-",
    instance: target.instance,
    index: target.instanceIndex ?? "?",
    database: target.database,
    version: target.version ?? "",
    era: target.schema.era,
    trackedEntityColumn: target.schema.trackedEntityColumn,
    eventTablesText: target.schema.eventTables.join(" / "),
    eventTableSql: eventTableSql(target.schema),
    attributes: target.attributes,
    eventDataElements: target.eventDataElements,
  });
}

export interface SearchIndexScriptOptions {
  /** How many times to look for DHIS2's schema before giving up (default 90). */
  readonly attempts?: number;
  /** Seconds between attempts (default 10: 15 minutes in all). */
  readonly delaySeconds?: number;
}

/** The bash script run as postgres on the database host: wait for the schema, then the SQL. */
export function searchIndexScript(target: SearchIndexTarget, opts: SearchIndexScriptOptions = {}): string {
  return renderTemplate("database/tracker-search-indexes.sh.hbs", {
    stack: target.stack ?? "-",
    instance: target.instance,
    database: target.database,
    attempts: opts.attempts ?? 90,
    delaySeconds: opts.delaySeconds ?? 10,
    waitFor: ["trackedentityattribute", target.schema.attributeValueTable, "programstage", "dataelement", ...target.schema.eventTables],
    sql: searchIndexSql(target),
  });
}

/** The target of one instance of a plan. */
export function searchIndexTarget(plan: Plan, instance: InstancePlan): SearchIndexTarget {
  return {
    stack: plan.config.stack,
    instance: instance.config.name,
    instanceIndex: plan.instances.indexOf(instance),
    database: instance.database,
    version: instance.config.runtime.display,
    schema: instance.config.runtime.schema,
    attributes: instance.config.trackerSearch.attributes,
    eventDataElements: instance.config.trackerSearch.eventDataElements,
  };
}
