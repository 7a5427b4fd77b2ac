/**
 * The local platform's LXD objects: one container per role with the plan's limits and fixed
 * address, a separate storage volume for PostgreSQL's data, and ports 80/443 of the LXD host
 * forwarded to the proxy container. Pure: scripts rendered from templates/lxd/; the component
 * (components/lxd.ts) runs them on the LXD host (this machine, or a server over SSH).
 *
 * scripts/lxd-setup.sh makes the bridge, the pool, the profile and the image these refer to.
 */
import type { Plan } from "../plan";
import { LXD_BRIDGE, PORTS, allNodes, type Node } from "../plan/topology";
import { renderTemplate } from "./engine";
import { LOCAL_IMAGE } from "./packages";

/** Names scripts/lxd-setup.sh gives (keep the two in step). */
export const LXD = {
  bridge: LXD_BRIDGE,
  pool: "dhis2",
  profile: "dhis2",
  image: LOCAL_IMAGE.alias,
} as const;

/** Where PostgreSQL keeps its clusters on Debian: the data volume is mounted here. */
export const POSTGRES_DATA_PATH = "/var/lib/postgresql";

/** Container name of a node: dhis2-<stack>-<node>, e.g. dhis2-local-database. */
export function containerName(stack: string, node: string): string {
  return `dhis2-${stack}-${node}`;
}

/** Storage volume of the database's data. */
export function databaseVolumeName(stack: string): string {
  return `dhis2-${stack}-pgdata`;
}

export interface LxdContainerPlan {
  readonly node: string;
  readonly name: string;
  readonly address: string;
  readonly cpuCount: number;
  /** limits.cpu.allowance: the CPU share under contention, e.g. "75%". */
  readonly cpuAllowance: string;
  /** limits.memory, e.g. "3648MB". */
  readonly memory: string;
  readonly volumes: readonly string[];
  /** The script that creates or updates the container (stdin of bash on the LXD host). */
  readonly script: string;
}

/** LXD's limits for a role budget: whole CPUs visible, a share of them, memory in MB. */
export function lxdLimits(node: Node): { cpuCount: number; cpuAllowance: string; memory: string } {
  const cpuCount = Math.max(1, Math.ceil(node.budget.cpus));
  const share = Math.max(1, Math.min(100, Math.round((node.budget.cpus / cpuCount) * 100)));
  return { cpuCount, cpuAllowance: `${share}%`, memory: `${node.budget.memoryMb}MB` };
}

export function lxdContainers(plan: Plan): LxdContainerPlan[] {
  const { config, topology } = plan;
  const stack = config.stack;
  return allNodes(topology).map((node) => {
    const name = containerName(stack, node.name);
    const limits = lxdLimits(node);
    const disks = node.role === "database"
      ? [{ device: "pgdata", pool: LXD.pool, volume: databaseVolumeName(stack), path: POSTGRES_DATA_PATH, purpose: "PostgreSQL data" }]
      : [];
    const forwards = node.role === "proxy"
      ? [
          { device: "http", listenAddress: "0.0.0.0", listen: PORTS.http, connect: PORTS.http, purpose: "HTTP" },
          { device: "https", listenAddress: "0.0.0.0", listen: PORTS.https, connect: PORTS.https, purpose: "HTTPS" },
        ]
      : [];
    const script = renderTemplate("lxd/container.sh.hbs", {
      stack, name, role: node.role, hostname: node.hostname, image: LXD.image, profile: LXD.profile,
      address: node.address, ...limits, disks, forwards,
    });
    return { node: node.name, name, address: node.address, ...limits, volumes: disks.map((d) => d.volume), script };
  });
}

/** The script that creates (or takes over) the database's data volume. */
export function databaseVolumeScript(plan: Plan): string {
  return renderTemplate("lxd/volume.sh.hbs", {
    stack: plan.config.stack, pool: LXD.pool, volume: databaseVolumeName(plan.config.stack), purpose: "PostgreSQL data", purposeKey: "pgdata",
  });
}
