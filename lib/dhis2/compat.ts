/**
 * DHIS2 version → runtime compatibility.
 *
 * Source: ../docs/compatibility.md (DHIS2 install guide, dhis2-releases notes, dhis2-core poms and
 * Flyway migrations). One row per DHIS2 major release; everything the toolkit derives from the
 * DHIS2 version (JDK, servlet container, PostgreSQL range, table and column names used by the
 * tracker search index SQL) comes from this table and nowhere else.
 */
import * as semver from "semver";

export type ServletContainer = "tomcat9" | "tomcat10" | "embedded";
export type SchemaEra = "tei" | "trackedentity" | "split-events";

export interface TrackerSchemaNames {
  /** Era name used in docs and index names. */
  readonly era: SchemaEra;
  /** Table holding tracked entity attribute values. */
  readonly attributeValueTable: "trackedentityattributevalue";
  /** Column of that table referencing the tracked entity. */
  readonly trackedEntityColumn: "trackedentityinstanceid" | "trackedentityid";
  /** Tables holding events with their `eventdatavalues` jsonb column. */
  readonly eventTables: readonly string[];
}

export interface Dhis2Runtime {
  /** DHIS2 major release number as used by releases.dhis2.org, e.g. 40 for 2.40. */
  readonly major: number;
  /** Normalised version, e.g. "40.4.0" (semver of the new scheme; 2.40.4 → 40.4.0). */
  readonly version: string;
  /** Human form, e.g. "2.40.4". */
  readonly display: string;
  readonly jdkRecommended: number;
  readonly jdkMinimum: number;
  /** Containers DHIS2 supports for this release; the first is the default. */
  readonly servletContainers: readonly ServletContainer[];
  /** PostgreSQL majors accepted for this release (inclusive range). */
  readonly postgres: { readonly min: number; readonly max: number; readonly recommended: number };
  readonly schema: TrackerSchemaNames;
  /** Whether DHIS2 itself still publishes patch releases for this major. */
  readonly supported: boolean;
}

interface Row {
  readonly majors: readonly number[];
  readonly jdk: readonly [recommended: number, minimum: number];
  readonly containers: readonly ServletContainer[];
  readonly postgres: readonly [min: number, max: number, recommended: number];
  readonly era: SchemaEra;
  readonly supported: boolean;
}

const ROWS: readonly Row[] = [
  { majors: [35, 36, 37], jdk: [11, 11], containers: ["tomcat9"], postgres: [13, 14, 13], era: "tei", supported: false },
  { majors: [38, 39], jdk: [11, 11], containers: ["tomcat9"], postgres: [13, 14, 13], era: "tei", supported: false },
  { majors: [40], jdk: [17, 11], containers: ["tomcat9"], postgres: [13, 16, 14], era: "tei", supported: false },
  { majors: [41], jdk: [17, 17], containers: ["tomcat9"], postgres: [13, 16, 16], era: "trackedentity", supported: false },
  { majors: [42], jdk: [17, 17], containers: ["tomcat10"], postgres: [13, 17, 16], era: "trackedentity", supported: true },
  // 2.43: external Tomcat 10.1+ only (its embedded build does not start as released, DHIS2 docs)
  { majors: [43], jdk: [17, 17], containers: ["tomcat10"], postgres: [13, 17, 16], era: "split-events", supported: true },
  // 2.44: DHIS2's embedded server (java -jar, Java 17) by default, or an external Tomcat 10.1+
  { majors: [44], jdk: [17, 17], containers: ["embedded", "tomcat10"], postgres: [13, 17, 16], era: "split-events", supported: true },
];

const SCHEMAS: Record<SchemaEra, TrackerSchemaNames> = {
  tei: { era: "tei", attributeValueTable: "trackedentityattributevalue", trackedEntityColumn: "trackedentityinstanceid", eventTables: ["programstageinstance"] },
  trackedentity: { era: "trackedentity", attributeValueTable: "trackedentityattributevalue", trackedEntityColumn: "trackedentityid", eventTables: ["event"] },
  "split-events": { era: "split-events", attributeValueTable: "trackedentityattributevalue", trackedEntityColumn: "trackedentityid", eventTables: ["trackerevent", "singleevent"] },
};

/** Lowest and highest DHIS2 majors the toolkit knows. */
export const KNOWN_MAJORS = ROWS.flatMap((r) => r.majors);
export const LATEST_MAJOR = Math.max(...KNOWN_MAJORS);
/** JDK majors the toolkit can install. */
export const JDK_VERSIONS = [11, 17, 21] as const;

/** Old scheme "2.40.4[.1]" / "2.41", new scheme "40.4.0" (releases.dhis2.org). */
const OLD_SCHEME = /^2\.(\d{2})(?:\.(\d{1,3}))?(?:\.(\d{1,3}))?$/;
const NEW_SCHEME = /^(\d{2})\.(\d{1,3})\.(\d{1,3})$/;

export const DHIS2_VERSION_HELP =
  `a DHIS2 release such as "2.40.4", "2.41.3.1" or "42.1.0" (2.${Math.min(...KNOWN_MAJORS)} to 2.${LATEST_MAJOR})`;

export interface ParsedDhis2Version {
  readonly major: number;
  /** New-scheme semver, e.g. "40.4.1". */
  readonly version: string;
  /** Old-scheme display form, e.g. "2.40.4.1". */
  readonly display: string;
}

/** Parse a DHIS2 version string. Returns undefined for anything that is not a release the toolkit knows. */
export function parseDhis2Version(input: string): ParsedDhis2Version | undefined {
  const text = input.trim();
  const m = OLD_SCHEME.exec(text) ?? NEW_SCHEME.exec(text);
  if (!m) return undefined;
  const version = `${Number(m[1])}.${Number(m[2] ?? 0)}.${Number(m[3] ?? 0)}`;
  const parsed = semver.parse(version);
  if (!parsed || !KNOWN_MAJORS.includes(parsed.major)) return undefined;
  const display = parsed.patch > 0 ? `2.${parsed.major}.${parsed.minor}.${parsed.patch}` : `2.${parsed.major}.${parsed.minor}`;
  return { major: parsed.major, version: parsed.version, display };
}

/** Resolve everything the toolkit derives from a DHIS2 version. Throws for an unknown version (validate first). */
export function resolveDhis2Runtime(input: string): Dhis2Runtime {
  const parsed = parseDhis2Version(input);
  if (!parsed) throw new Error(`unknown DHIS2 version ${JSON.stringify(input)}: expected ${DHIS2_VERSION_HELP}`);
  const row = ROWS.find((r) => r.majors.includes(parsed.major));
  if (!row) throw new Error(`no compatibility row for DHIS2 2.${parsed.major}`);
  return {
    ...parsed,
    jdkRecommended: row.jdk[0],
    jdkMinimum: row.jdk[1],
    servletContainers: row.containers,
    postgres: { min: row.postgres[0], max: row.postgres[1], recommended: row.postgres[2] },
    schema: SCHEMAS[row.era],
    supported: row.supported,
  };
}

/** Default WAR download for a release: releases.dhis2.org/<major>/dhis2-stable-<version>.war. */
export function defaultWarUrl(runtime: Pick<Dhis2Runtime, "major" | "version">): string {
  return `https://releases.dhis2.org/${runtime.major}/dhis2-stable-${runtime.version}.war`;
}
