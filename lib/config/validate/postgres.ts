/** PostgreSQL: the major version (and what the platform's image packages), durability. */
import { DEFAULTS } from "../defaults";
import type { DeploymentConfig } from "../model";
import type { StackConfigInput } from "../schema";
import type { PlatformChoice } from "./platform";
import type { Problems } from "./problems";

export function validatePostgres(c: StackConfigInput, { platform, rules }: PlatformChoice, p: Problems): DeploymentConfig["postgres"] {
  const image = rules.image;
  const version = c.postgresVersion ?? image?.postgres[0] ?? DEFAULTS.postgresVersion;
  if (image && !image.postgres.includes(version)) {
    p.add(["postgresVersion"], `platform "${platform}" runs the roles in ${image.name} containers, which package PostgreSQL ${image.postgres.join(", ")} only: allowed: ${image.postgres.join(", ")}`, version);
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
  return { version, synchronousCommit, walWriterDelayMs, reservedConnections: c.postgres?.reservedConnections ?? DEFAULTS.reservedConnections, logMinDurationStatementMs };
}
