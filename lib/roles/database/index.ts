/**
 * Role `database`: PostgreSQL tuned to the memory, CPUs and disk it gets (lib/plan/postgres.ts),
 * listening on its private address with TLS; one database and one role per DHIS2 instance,
 * reachable only from that instance's host with scram over TLS; postgis, pg_trgm and btree_gin;
 * after everything started, each instance's tracker search indexes (./search-indexes.ts).
 * Opens 5432 to each instance. Templates: templates/database/.
 */
import { OS_IMAGES, type OsId } from "../../os/images";
import type { Plan } from "../../plan";
import { hostCidr, PORTS } from "../../plan/topology";
import { humanMb } from "../../plan/units";
import { renderTemplate } from "../../render/engine";
import { file, type RenderedFile } from "../../render/file";
import { PATHS } from "../../render/paths";
import { sqlLiteral } from "../../render/shell";
import { flow, fromNode } from "../flows";
import { NOTHING, type AptSource, type Role, type RoleContext } from "../types";
import { searchIndexScript, searchIndexTarget } from "./search-indexes";

function files({ plan }: RoleContext): RenderedFile[] {
  const { config, topology, sizing } = plan;
  const dir = PATHS.postgresConfDir(plan.postgres.version);
  const db = topology.database;
  return [
    file(PATHS.postgresApply, renderTemplate("database/apply-settings.sh.hbs", {
      stack: config.stack, version: plan.postgres.version,
    }), "0755", "root", "root"),
    file(`${dir}/conf.d/dhis2.conf`, renderTemplate("database/postgresql.conf.hbs", {
      stack: config.stack,
      version: plan.postgres.version,
      cpus: sizing.database.cpus,
      memory: humanMb(sizing.database.memoryMb),
      disk: sizing.database.disk,
      isolation: config.isolation,
      listenAddresses: `localhost,${db.address}`,
      port: PORTS.postgres,
      sslCertFile: PATHS.postgresSslCert,
      sslKeyFile: PATHS.postgresSslKey,
      settings: plan.postgres.settings,
    }), "0644", "postgres", "postgres", PATHS.postgresApply),
    file(`${dir}/pg_hba.conf`, renderTemplate("database/pg_hba.conf.hbs", {
      stack: config.stack,
      version: plan.postgres.version,
      instances: plan.instances.map((i) => ({ name: i.config.name, database: i.database, user: i.databaseUser, cidr: hostCidr(i.node.address) })),
      onDemand: topology.onDemand ?? false,
    }), "0640", "postgres", "postgres", "systemctl reload postgresql"),
    file(`${PATHS.muninPlugins}/dhis2_postgresql_log`, renderTemplate("database/munin-postgresql-log.sh.hbs", {
      stack: config.stack,
      logDir: PATHS.postgresLogDir,
      threshold: plan.postgres.settings.find((s) => s.name === "log_min_duration_statement")?.value ?? "-1",
    }), "0755", "root", "root", "systemctl restart munin-node"),
  ];
}

/**
 * Creates each instance's role (with its password) and database, with postgis, pg_trgm and
 * btree_gin. Holds the passwords: run it with the SQL on stdin, as a secret.
 */
export function databasesSql(plan: Plan, passwords: Readonly<Record<string, string>>): string {
  return renderTemplate("database/databases.sql.hbs", {
    stack: plan.config.stack,
    instances: plan.instances.map((i) => {
      const pw = passwords[i.config.name];
      if (!pw) throw new Error(`no database password for instance ${i.config.name}`);
      return {
        name: i.config.name,
        database: i.database,
        user: i.databaseUser,
        // the pool plus a few for DHIS2's own side connections and an admin
        connectionLimit: i.jvm.poolMaxSize + 5,
        passwordLiteral: sqlLiteral(pw),
      };
    }),
  });
}

/** The PostgreSQL project's apt repository (dhis2:sources.postgresql) for a major the system lacks. */
function postgresRepository(plan: Plan, os: OsId): AptSource {
  const repo = plan.config.sources.postgresql;
  return {
    name: "postgresql", purpose: `PostgreSQL ${plan.postgres.version} (${OS_IMAGES[os].name} does not package it)`,
    url: repo.url, suite: `${OS_IMAGES[os].codename}-pgdg`, component: "main", key: repo.key, fingerprint: repo.fingerprint,
  };
}

/** Where PostgreSQL keeps its clusters on Debian: the data volume is mounted here. */
export const POSTGRES_DATA_PATH = "/var/lib/postgresql";

export const database: Role = {
  ...NOTHING,
  name: "database",
  dataVolumes: () => [{ key: "pgdata", path: POSTGRES_DATA_PATH, purpose: "PostgreSQL data" }],
  // contrib (pg_trgm, btree_gin) is part of postgresql-N; the postgresql-contrib metapackage would
  // pull in the system's default major beside it
  packages: ({ plan }) => {
    const v = plan.postgres.version;
    return [`postgresql-${v}`, `postgresql-${v}-postgis-3`, "ssl-cert", "libdbd-pg-perl"];
  },
  files,
  setup: ({ plan, node }) => ({
    repositories: plan.config.postgres.from === "pgdg" ? [postgresRepository(plan, node.os)] : [],
    preflight: renderTemplate("database/preflight.sh.hbs", { version: plan.postgres.version, dataPath: POSTGRES_DATA_PATH }),
    section: renderTemplate("database/setup.sh.hbs", {
      version: plan.postgres.version, dataPath: POSTGRES_DATA_PATH, backupCommand: PATHS.backupCommand, sslKey: PATHS.postgresSslKey, sslCert: PATHS.postgresSslCert,
    }),
  }),
  services: () => ["postgresql"],
  statusChecks: ({ plan }) => [
    `check_service postgresql@${plan.postgres.version}-main`,
    `if pg_isready -q; then emit ok postgresql "accepts connections"; else emit fail postgresql "does not accept connections (pg_isready)"; fi`,
    `check_disk ${POSTGRES_DATA_PATH} ${plan.config.monitoring.thresholds.diskWarningPercent} ${plan.config.monitoring.thresholds.diskCriticalPercent}`,
  ],
  startChecks: () => [renderTemplate("database/ready.sh.hbs", {}).trimEnd()],
  steps: ({ plan }, inputs) => [
    { name: "databases", phase: "after", command: "runuser -u postgres -- psql -X -q -f -", script: databasesSql(plan, inputs.databasePasswords), secret: true },
  ],
  muninPluginSettings: () => [renderTemplate("database/munin-plugins.conf.hbs", { port: PORTS.postgres })],
  // post-provision: pg_trgm, btree_gin and the trigram indexes of each instance, once DHIS2 made its schema
  postProvision: ({ plan }) => plan.instances.map((i) => ({ name: `tracker-search-indexes-${i.config.name}.sh`, content: searchIndexScript(searchIndexTarget(plan, i)), runAs: "postgres" })),
  flows: ({ topology, instances }) => [
    ...instances.map((i) => flow(fromNode(i.node), topology.database, PORTS.postgres, `database of ${i.config.name}`)),
    ...(topology.onDemand ? [flow({ kind: "onDemand" }, topology.database, PORTS.postgres, "databases of on-demand instances")] : []),
  ],
};
