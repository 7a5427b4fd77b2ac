/**
 * The stacks of the end-to-end run. Each has its own LXD network, bridge and (for the local
 * platform) its own ports on 127.0.0.1, so the run never touches a `local` stack deployed on the
 * same machine (10.231.20.0/24 on dhis2br0, ports 80 and 443).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseDocument } from "yaml";
import { lxdStack, ROOT, type E2eStack } from "./harness";

import type { Artifacts } from "./standin";
/** The run's stand-ins: DHIS2's WAR and glowroot's archive (tests/e2e/standin). */
export type { Artifacts } from "./standin";

export const stackFile = (name: string) => path.join(ROOT, "stacks", `Pulumi.${name}.yaml`);

/** The LXD stack `e2e`: the local stack with the stand-ins, on its own network and ports. */
export const MAIN = {
  name: "e2e",
  network: "10.231.40.0/24",
  bridge: "dhis2e2e0",
  forward: { address: "127.0.0.1", http: 10080, https: 10443 },
  smtp: { host: "10.231.40.1", port: 2525 },
} as const;

export function mainStack(): E2eStack {
  return lxdStack(MAIN.name, MAIN.forward);
}

/**
 * stacks/Pulumi.e2e.yaml: stacks/Pulumi.local.yaml with the stand-ins, its own network, bridge and
 * ports, PostgreSQL 17 (Debian 13) and the training instance on DHIS2 2.44's embedded server.
 */
export function writeMainStack(artifacts: Artifacts): void {
  const doc = parseDocument(fs.readFileSync(path.join(ROOT, "stacks", "Pulumi.local.yaml"), "utf8"));
  doc.commentBefore = " Written by tests/e2e: the local stack with the end-to-end test's STAND-INS (not DHIS2, not glowroot), on its own network and ports.";
  const instances = doc.getIn(["config", "dhis2:instances"]) as { items: unknown[] };
  instances.items.forEach((_, i) => doc.setIn(["config", "dhis2:instances", i, "war"], artifacts.war));
  // PostgreSQL 17 (the database container on Debian 13), and training on DHIS2 2.44's embedded server
  doc.setIn(["config", "dhis2:postgresVersion"], 17);
  doc.setIn(["config", "dhis2:instances", 1, "version"], "2.44.0");
  doc.setIn(["config", "dhis2:instances", 1, "war"], artifacts.warEmbedded);
  doc.setIn(["config", "dhis2:monitoring"], doc.createNode({ glowrootArchive: artifacts.glowroot }));
  doc.setIn(["config", "dhis2:network"], doc.createNode({ cidr: MAIN.network }));
  doc.setIn(["config", "dhis2:lxd"], doc.createNode({ bridge: MAIN.bridge, forward: MAIN.forward }));
  doc.setIn(["config", "dhis2:alerts", "smtp"], doc.createNode({ host: MAIN.smtp.host, port: MAIN.smtp.port, security: "none" }));
  fs.writeFileSync(stackFile(MAIN.name), doc.toString());
}

export function setDatabaseMemory(name: string, gb: number): void {
  const doc = parseDocument(fs.readFileSync(stackFile(name), "utf8"));
  doc.setIn(["config", "dhis2:sizes", "database"], doc.createNode({ memoryGb: gb }));
  fs.writeFileSync(stackFile(name), doc.toString());
}

/** Write a stack file from its dhis2: keys (a plain object). */
export function writeStack(name: string, comment: string, config: Record<string, unknown>): void {
  const doc = parseDocument("config: {}\n");
  doc.commentBefore = ` Written by tests/e2e: ${comment}`;
  doc.set("config", doc.createNode(config));
  fs.writeFileSync(stackFile(name), doc.toString());
}
