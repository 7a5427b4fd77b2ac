/**
 * The generated part of docs/platforms.md: the cloud servers the example stacks get (the 32 CPU /
 * 32 GB / SSD reference with a production and a training instance) on hcloud and aws, in both
 * isolation modes, with their monthly list prices. `npm run docs:platforms` rewrites it; a test
 * fails when the document and the code disagree.
 */
import * as path from "node:path";
import { loadDeployment, loadStackFile } from "../load";
import { planCloud } from "../platform/cloud";
import { cloudReport } from "../platform/report";
import { END } from "./sizing";

export const PLATFORMS_BEGIN = "<!-- BEGIN GENERATED: npm run docs:platforms -->";
const PROJECT = path.resolve(__dirname, "..", "..");

export function platformsDocSection(): string {
  const parts = [PLATFORMS_BEGIN, ""];
  for (const cloud of ["hcloud", "aws"] as const) {
    const vm = loadStackFile(PROJECT, `example-${cloud}`).plan;
    // the same reference as one server running the containers
    const raw = { ...vm.config };
    const lxd = loadDeployment(`example-${cloud}-lxd`, {
      platform: cloud, isolation: "lxd", domain: raw.domain, postgresVersion: raw.postgres.version,
      sizes: { host: { cpus: 32, memoryGb: 64, disk: "ssd", diskGb: 500 } },
      instances: raw.instances.map((i) => ({ name: i.name, version: i.runtime.display, ...(i.hostname !== raw.domain ? { hostname: i.hostname } : { path: i.path }) })),
      admin: { sshKeys: [...raw.admin.sshKeys], allowedCidrs: [...raw.admin.allowedCidrs] },
      alerts: { recipients: [...raw.alerts.recipients], smtp: { host: raw.alerts.smtp!.host } },
      cloud: { location: raw.cloud.location },
    }, `example-${cloud}-lxd`).plan;
    parts.push(`### ${cloud}: a server per role (stacks/Pulumi.example-${cloud}.yaml)`, "", cloudReport(planCloud(vm).cloud!), "");
    parts.push(`### ${cloud}: one server running LXD (the same stack with isolation lxd, a 32 CPU / 64 GB host)`, "", cloudReport(planCloud(lxd).cloud!), "");
  }
  parts.push(END);
  return parts.join("\n");
}
