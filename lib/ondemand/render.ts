/**
 * What an on-demand instance runs on the country's hosts (templates/ondemand/): its database on
 * the database server (made, seeded, scrubbed; dropped again), and its location on the proxy
 * (written, removed). Pure: scripts with secret placeholders, filled inside secret Outputs by the
 * component (components/ondemand.ts).
 */
import { PORTS } from "../plan/topology";
import { renderTemplate } from "../render/engine";
import { PATHS } from "../render/paths";
import { sqlLiteral } from "../render/shell";
import { localRepository } from "../roles/backup";
import { databasesSql } from "../roles/database";
import type { OnDemandPlan } from "./plan";
import type { Seed } from "./spec";

/** Where a --seed dump is copied to on the database server before the restore. */
export function seedDumpPath(name: string): string {
  return `/var/tmp/dhis2-ondemand-${name}.dump`;
}

export function seedText(seed: Seed, source: string): string {
  switch (seed.kind) {
    case "latest-backup": return `the latest backup of ${source}`;
    case "backup": return `backup ${seed.id} of ${source}`;
    case "dump": return `the dump ${seed.path}`;
    case "empty": return "empty (DHIS2 makes its schema on first start)";
  }
}

export interface OnDemandScripts {
  /** On the database server: role, database, seed, scrub. Holds secrets (placeholders). */
  readonly database: string;
  readonly databaseDrop: string;
  /** On the proxy. */
  readonly proxyAdd: string;
  readonly proxyRemove: string;
  /** The instance's public URL. */
  readonly url: string;
}

/**
 * The scripts of an instance; `passwords` are placeholders (or, in tests, values): its database
 * password and, when scrubbed, the training password every login gets.
 */
export function onDemandScripts(od: OnDemandPlan, passwords: { database: string; training?: string }): OnDemandScripts {
  const { spec, plan, instance, country } = od;
  const ctx = {
    name: spec.name, stack: plan.config.stack, from: spec.from, source: spec.source,
    database: instance.database, user: instance.databaseUser, scrub: spec.scrub,
  };
  const seed = spec.seed;
  const dbNode = country.topology.database;
  const scrubSql = spec.scrub
    ? renderTemplate("ondemand/scrub.sql.hbs", { ...ctx, passwordLiteral: sqlLiteral(passwords.training ?? "") })
    : "";
  const database = renderTemplate("ondemand/database.sh.hbs", {
    ...ctx,
    seedText: seedText(seed, spec.source),
    databasesSql: databasesSql(plan, { [spec.name]: passwords.database }).trimEnd(),
    restic: seed.kind === "latest-backup" || seed.kind === "backup",
    snapshot: seed.kind === "backup" ? seed.id : false,
    dumpPath: seed.kind === "dump" ? seedDumpPath(spec.name) : false,
    seeds: seed.kind !== "empty",
    backupConf: PATHS.backupConf, backupState: PATHS.backupState, localRepo: localRepository(dbNode),
    scrubSql: scrubSql.trimEnd(),
  });
  const dir = PATHS.nginxOnDemand;
  const file = `${dir}/${spec.name}.conf`;
  const path = instance.config.path;
  const hostname = country.config.domain;
  const location = renderTemplate("ondemand/location.conf.hbs", {
    ...ctx, version: instance.config.runtime.display, expires: spec.expires, hostname, path,
    address: instance.node.address, port: PORTS.tomcat, analyticsBurst: country.config.proxy.analyticsBurst,
  });
  return {
    database,
    databaseDrop: renderTemplate("ondemand/database-drop.sh.hbs", ctx),
    proxyAdd: renderTemplate("ondemand/proxy-add.sh.hbs", { ...ctx, dir, file, location: location.trimEnd(), hostname, path }),
    proxyRemove: renderTemplate("ondemand/proxy-remove.sh.hbs", { ...ctx, file, path }),
    url: `https://${hostname}${path}/`,
  };
}
