/**
 * The LXD platform's objects: one container per node with the plan's limits and fixed address,
 * a storage volume of its own for each data volume of a role (PostgreSQL's data), and ports 80/443
 * of the LXD host forwarded to the proxy container. Pure: scripts rendered from templates/lxd/;
 * the component (components/platforms/lxd.ts) runs them on the LXD host (this machine, or a
 * server over SSH).
 *
 * The LXD server set-up (templates/lxd-host/) makes the bridge, the pool, the profile and the image
 * these refer to.
 */
import type { Plan } from "../plan";
import { PORTS, allNodes, lxdBridge, type Node } from "../plan/topology";
import { lxdImageAlias, type OsId } from "../os/images";
import { roleOf } from "../roles/registry";
import type { HostPlan } from "./hosts";
import type { DataVolume } from "../roles/types";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { renderTemplate, TEMPLATE_DIR } from "./engine";

/** Names templates/lxd-host/setup-lxd.sh and image.sh give (keep them in step). */
export const LXD = {
  pool: "dhis2",
  profile: "dhis2",
} as const;

/** Container name of a node: dhis2-<stack>-<node>, e.g. dhis2-local-database. */
export function containerName(stack: string, node: string): string {
  return `dhis2-${stack}-${node}`;
}

/** Storage volume of a data volume of the stack: dhis2-<stack>-<key>, e.g. dhis2-local-pgdata. */
export function dataVolumeName(stack: string, key: string): string {
  return `dhis2-${stack}-${key}`;
}

/** Storage volume of the database's data. */
export function databaseVolumeName(stack: string): string {
  return dataVolumeName(stack, "pgdata");
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
  /** The storage volumes it mounts (./lxdDataVolumes). */
  readonly volumes: readonly string[];
  /** The image of its system (dhis2-debian-NN); another one replaces the container. */
  readonly base: string;
  /** The script that creates or updates the container (stdin of bash on the LXD host). */
  readonly script: string;
}

/** LXD's limits for a role budget: whole CPUs visible, a share of them, memory in MB. */
export function lxdLimits(node: Node): { cpuCount: number; cpuAllowance: string; memory: string } {
  const cpuCount = Math.max(1, Math.ceil(node.budget.cpus));
  const share = Math.max(1, Math.min(100, Math.round((node.budget.cpus / cpuCount) * 100)));
  return { cpuCount, cpuAllowance: `${share}%`, memory: `${node.budget.memoryMb}MB` };
}

export interface LxdDataVolume extends DataVolume {
  /** The node whose container mounts it. */
  readonly node: string;
  /** The storage volume's name. */
  readonly volume: string;
  /** The script that creates (or takes over) the volume. */
  readonly script: string;
}

/** The storage volumes of the roles' data volumes, one per (node, volume). */
export function lxdDataVolumes(plan: Plan): LxdDataVolume[] {
  const stack = plan.config.stack;
  return allNodes(plan.topology).flatMap((node) => roleOf(node).dataVolumes({ plan, node }).map((v) => {
    const volume = dataVolumeName(stack, v.key);
    return {
      ...v,
      node: node.name,
      volume,
      script: renderTemplate("lxd/volume.sh.hbs", { stack, pool: LXD.pool, volume, purpose: v.purpose, purposeKey: v.key }),
    };
  }));
}

/** The stack's LXD network: the script that makes it (and puts its settings back), and the one that removes it. */
export function lxdNetwork(plan: Plan): { name: string; address: string; script: string; deleteScript: string } {
  const bridge = lxdBridge(plan.config);
  const ctx = { stack: plan.config.stack, bridge: bridge.name, address: bridge.address, dhcpRange: bridge.dhcpRange ?? "" };
  return { name: bridge.name, address: bridge.address, script: renderTemplate("lxd/network.sh.hbs", ctx), deleteScript: renderTemplate("lxd/network-delete.sh.hbs", ctx) };
}

/** Bump when the role image build (templates/lxd/role-image.sh.hbs) changes what goes into an image. */
const ROLE_IMAGE_BUILD = 1;
/** A role image is made again after this many days (its packages' updates then come with it). */
const ROLE_IMAGE_MAX_AGE_DAYS = 7;

export interface LxdRoleImage {
  readonly node: string;
  /** dhis2-role-<hash of the base image, the packages and the masked services>. */
  readonly alias: string;
  /** The script that makes it when it is missing or too old (stdin of bash on the LXD host). */
  readonly script: string;
}

/**
 * The package image of each node's container (docs/local.md, "Package images"): the base image with
 * the node's packages installed, made once per LXD host and reused by every container, of every
 * stack, whose package list is the same. Not for a node whose set-up adds an apt repository (its
 * packages are not all its system's): it starts from the system's image.
 */
export function lxdRoleImages(plan: Plan, hosts: readonly Pick<HostPlan, "host" | "role" | "packages" | "masked" | "repositories">[]): LxdRoleImage[] {
  const hostOf = (name: string) => {
    const h = hosts.find((x) => x.host === name);
    if (!h) throw new Error(`no rendered plan for ${name}`);
    return h;
  };
  // a node with packages from another repository than its system's starts from the system's image
  return allNodes(plan.topology).filter((node) => hostOf(node.name).repositories.length === 0).map((node) => {
    const h = hostOf(node.name);
    const base = lxdImageAlias(node.os);
    const key = JSON.stringify({ build: ROLE_IMAGE_BUILD, base, packages: h.packages, masked: h.masked });
    const alias = `dhis2-role-${crypto.createHash("sha256").update(key).digest("hex").slice(0, 12)}`;
    return {
      node: node.name,
      alias,
      script: renderTemplate("lxd/role-image.sh.hbs", {
        stack: plan.config.stack, alias, role: h.role, base, profile: LXD.profile, bridge: plan.config.lxd.bridge,
        packages: h.packages, masked: h.masked, maxAgeDays: ROLE_IMAGE_MAX_AGE_DAYS,
      }),
    };
  });
}

export function lxdContainers(plan: Plan, images: readonly LxdRoleImage[] = []): LxdContainerPlan[] {
  const { config, topology } = plan;
  const stack = config.stack;
  const volumes = lxdDataVolumes(plan);
  const forward = config.lxd.forward;
  return allNodes(topology).map((node) => {
    const name = containerName(stack, node.name);
    const limits = lxdLimits(node);
    const disks = volumes.filter((v) => v.node === node.name)
      .map((v) => ({ device: v.key, pool: LXD.pool, volume: v.volume, path: v.path, purpose: v.purpose }));
    const forwards = node.role === "proxy"
      ? [
          { device: "http", listenAddress: forward.address, listen: forward.http, connect: PORTS.http, purpose: "HTTP" },
          { device: "https", listenAddress: forward.address, listen: forward.https, connect: PORTS.https, purpose: "HTTPS" },
        ]
      : [];
    const script = renderTemplate("lxd/container.sh.hbs", {
      stack, name, role: node.role, hostname: node.hostname, image: images.find((i) => i.node === node.name)?.alias ?? lxdImageAlias(node.os), profile: LXD.profile,
      bridge: config.lxd.bridge, address: node.address, ...limits, disks, forwards,
    });
    return { node: node.name, name, address: node.address, ...limits, volumes: disks.map((d) => d.volume), base: lxdImageAlias(node.os), script };
  });
}

/**
 * The LXD server set-up as one script (stdin of bash): its helpers, the set-up (packages, daemon,
 * bridge, pool, profile), the image. Run over SSH on a server of isolation lxd; on this machine
 * scripts/lxd-host.sh runs the same files.
 */
export function lxdServerSetupScript(): string {
  return lxdHostScript(["lib.sh", "setup-lxd.sh", "image.sh"]);
}

/** The images of the systems the containers run (templates/lxd-host/image.sh, DHIS2_LXD_OS). */
export function lxdImagesScript(): string {
  return lxdHostScript(["lib.sh", "image.sh"]);
}

function lxdHostScript(files: readonly string[]): string {
  return files.map((f) => fs.readFileSync(path.join(TEMPLATE_DIR, "lxd-host", f), "utf8")).join("\n");
}

/** The systems of a stack's containers, each an LXD image on the LXD host. */
export function lxdSystems(plan: Plan): OsId[] {
  return [...new Set(allNodes(plan.topology).map((n) => n.os))].sort();
}
