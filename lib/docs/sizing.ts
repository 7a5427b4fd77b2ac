/**
 * The generated part of docs/sizing.md: the full plan of the guidance's reference server
 * (32 CPUs / 32 GB / SSD) in both isolation modes. `npm run docs:sizing` rewrites it; a test fails
 * when the document and the code disagree.
 */
import { loadDeployment } from "../load";
import { tuningReport } from "../render/report";

export const BEGIN = "<!-- BEGIN GENERATED: npm run docs:sizing -->";
export const END = "<!-- END GENERATED -->";

const common = {
  platform: "existing",
  domain: "dhis2.health.example.org",
  postgresVersion: 16,
  instances: [{ name: "production", version: "2.42.1", path: "/" }],
  admin: { sshKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHJ0d3Bvb2xleGFtcGxla2V5Zm9yZG9jc29ubHkx admin@example.org"], allowedCidrs: ["196.12.4.0/24"] },
  alerts: { recipients: ["dhis2-admins@health.example.org"], smtp: { host: "smtp.health.example.org" } },
};

/** The reference in both isolation modes, as stack configs. */
export const REFERENCE_STACKS: Record<string, Record<string, unknown>> = {
  "reference-vm": {
    ...common,
    isolation: "vm",
    sizes: { database: { cpus: 32, memoryGb: 32, disk: "ssd", diskGb: 1000 }, instance: { cpus: 32, memoryGb: 32 } },
    servers: { proxy: { address: "10.10.20.2" }, database: { address: "10.10.20.20" }, monitor: { address: "10.10.20.30" }, instances: { production: { address: "10.10.20.11" } } },
  },
  "reference-lxd": {
    ...common,
    isolation: "lxd",
    network: { cidr: "10.10.20.0/24" },
    sizes: { host: { cpus: 32, memoryGb: 32, disk: "ssd", diskGb: 1000 } },
    servers: { host: { address: "10.10.20.5" } },
  },
};

export function sizingDocSection(): string {
  const parts = [BEGIN, ""];
  for (const [name, raw] of Object.entries(REFERENCE_STACKS)) {
    const { plan } = loadDeployment(name, raw, name);
    parts.push(`### ${name === "reference-vm" ? "A server per role (isolation vm): 32 CPU / 32 GB / SSD database server and DHIS2 server" : "One 32 CPU / 32 GB / SSD server running LXD containers (isolation lxd)"}`);
    parts.push("");
    parts.push(tuningReport(plan));
    parts.push("");
  }
  parts.push(END);
  return parts.join("\n");
}

/** Replace the generated section of a document's text (the section starts with its BEGIN marker). */
export function replaceGenerated(doc: string, section: string): string {
  const begin = section.split("\n")[0]!;
  const a = doc.indexOf(begin);
  const b = doc.indexOf(END);
  if (a === -1 || b === -1) throw new Error(`markers ${begin} / ${END} not found`);
  return doc.slice(0, a) + section + doc.slice(b + END.length);
}
