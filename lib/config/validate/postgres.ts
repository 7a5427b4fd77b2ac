/** PostgreSQL: the major version (from the database node's system or PostgreSQL's apt repository), durability. */
import { OS_IMAGES, type OsId } from "../../os/images";
import { DEFAULTS } from "../defaults";
import type { DeploymentConfig } from "../model";
import type { StackConfigInput } from "../schema";
import { nodeOs, type OsChoices } from "./os";
import type { Problems } from "./problems";

/**
 * The PostgreSQL major (default: the one the database node's system packages) and the database
 * node's system: where nodes are made per stack, one that packages the major; otherwise the
 * system named, with the major from the PostgreSQL project's apt repository when it lacks it.
 */
export function validatePostgres(c: StackConfigInput, oses: OsChoices, p: Problems): DeploymentConfig["postgres"] & { os: OsId } {
  const version = c.postgresVersion ?? OS_IMAGES[oses.named.database ?? oses.default].postgres[0] ?? DEFAULTS.postgresVersion;
  const { os, native } = nodeOs(oses, oses.named.database, (o) => o.postgres.includes(version));
  if (!native) {
    p.warn(`PostgreSQL ${version} comes from the PostgreSQL project's apt repository: ${OS_IMAGES[os].name}, the database's system, does not package it (dhis2:sources.postgresql; the database server must reach it or a mirror).`);
  }
  if (version === 13) {
    p.warn(`dhis2:postgresVersion 13: PostgreSQL 13 reached end of life in November 2025 and gets no more security fixes; accepted because the COVAX guidance names it, but plan the upgrade to 16 (the default).`);
  }
  const synchronousCommit = c.postgres?.synchronousCommit ?? DEFAULTS.synchronousCommit;
  const walWriterDelayMs = c.postgres?.walWriterDelayMs ?? DEFAULTS.walWriterDelayMs;
  if (synchronousCommit === "off") {
    p.warn(`dhis2:postgres.synchronousCommit off: a crash of the database server can lose the commits of the last ${3 * walWriterDelayMs} ms (3 × walWriterDelayMs); the database stays consistent. Keep "on" unless you accept that loss.`);
  } else if (c.postgres?.walWriterDelayMs !== undefined && c.postgres.walWriterDelayMs > 1000) {
    p.warn(`dhis2:postgres.walWriterDelayMs ${c.postgres.walWriterDelayMs} only matters with synchronousCommit off.`);
  }
  const logMinDurationStatementMs = c.postgres?.logMinDurationStatementMs ?? DEFAULTS.logMinDurationStatementMs;
  if (logMinDurationStatementMs >= 0 && logMinDurationStatementMs < 1000) {
    p.warn(`dhis2:postgres.logMinDurationStatementMs ${logMinDurationStatementMs}: every statement slower than ${logMinDurationStatementMs} ms is logged with its text; on a busy DHIS2 that is most analytics and tracker queries, and the log grows by gigabytes a day. Use it only while looking for a problem (default ${DEFAULTS.logMinDurationStatementMs}, -1 turns the log off).`);
  }
  return { version, synchronousCommit, walWriterDelayMs, reservedConnections: c.postgres?.reservedConnections ?? DEFAULTS.reservedConnections, logMinDurationStatementMs, from: native ? "distribution" : "pgdg", os };
}
