/**
 * Topology: which role runs where, at which private address.
 *
 * Address plan (dhis2-server-tools' layout) in the stack's private network: proxy .2, DHIS2
 * instances .11 to .19, database .20, monitor .30; in lxd isolation the host's bridge is .1.
 * The network flows between the nodes are the roles' (lib/roles/flows.ts).
 */
import * as ipaddr from "ipaddr.js";
import type { DeploymentConfig } from "../config/model";
import type { OsId } from "../os/images";
import type { Role, RoleBudget, SizingPlan } from "./sizing";

export const PORTS = {
  http: 80,
  https: 443,
  ssh: 22,
  tomcat: 8080,
  glowroot: 4000,
  postgres: 5432,
  muninNode: 4949,
  /** The monitor's own web server for the munin pages, reached only by the proxy. */
  muninWeb: 8080,
} as const;


export const OFFSETS = { gateway: 1, proxy: 2, firstInstance: 11, database: 20, monitor: 30 } as const;

export interface Node {
  /** proxy, database, monitor, or the DHIS2 instance name. */
  readonly name: string;
  readonly role: Role;
  /** Host name inside the deployment, e.g. dhis2-proxy. */
  readonly hostname: string;
  /** Private address other roles reach it on. */
  readonly address: string;
  /** Address the toolkit connects to (SSH) when not the private one: existing servers. */
  readonly sshAddress?: string;
  readonly budget: RoleBudget;
  /** The operating system it runs (dhis2:os, dhis2:instances[].os). */
  readonly os: OsId;
}

export interface Topology {
  readonly networkCidr: string;
  /** lxd isolation: the address of the host on the bridge. */
  readonly gateway?: string;
  readonly proxy: Node;
  readonly database: Node;
  readonly monitor: Node;
  readonly instances: readonly Node[];
  /**
   * The addresses kept for on-demand instances (docs/instances.md), when the stack has them: a
   * CIDR the database and the proxy accept those instances from.
   */
  readonly onDemand?: string;
}

/** The address at `offset` in a network. */
export function addressAt(cidr: string, offset: number): string {
  const [addr, prefix] = ipaddr.parseCIDR(cidr);
  const size = 2 ** (32 - prefix);
  if (offset <= 0 || offset >= size - 1) throw new Error(`offset ${offset} does not fit ${cidr}`);
  return numberToBytes(bytesToNumber(addr.toByteArray()) + offset).join(".");
}

/** IPv4 address bytes ↔ an unsigned 32-bit number. */
const bytesToNumber = (b: number[]) => (((b[0]! << 24) >>> 0) + (b[1]! << 16) + (b[2]! << 8) + b[3]!) >>> 0;
const numberToBytes = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];

/**
 * On-demand instances (staging, training; scripts/instance.ts) get the addresses .48 to .63 of the
 * stack's network (a /28 below the DHCP half), on the local platform, where they are containers on
 * the stack's own bridge. A network smaller than /25 has no room for them.
 */
export const ON_DEMAND = { firstOffset: 48, slots: 16, prefix: 28 } as const;

/** The on-demand instances' CIDR of a stack, or undefined when it has none. */
export function onDemandRange(config: Pick<DeploymentConfig, "platform" | "networkCidr">): string | undefined {
  if (config.platform !== "local") return undefined;
  const [, prefix] = ipaddr.parseCIDR(config.networkCidr);
  if (prefix > 25) return undefined;
  return `${addressAt(config.networkCidr, ON_DEMAND.firstOffset)}/${ON_DEMAND.prefix}`;
}

/** The address of on-demand slot `slot` (0 to ON_DEMAND.slots - 1). */
export function onDemandAddress(cidr: string, slot: number): string {
  if (!Number.isInteger(slot) || slot < 0 || slot >= ON_DEMAND.slots) throw new Error(`on-demand slot ${slot} is not 0 to ${ON_DEMAND.slots - 1}`);
  return addressAt(cidr, ON_DEMAND.firstOffset + slot);
}

export function allNodes(t: Topology): Node[] {
  return [t.proxy, ...t.instances, t.database, t.monitor];
}

/**
 * The two halves of a network: on AWS (vm isolation) the proxy lives in the public half (with the
 * internet gateway and the NAT gateway) and every other server in the private half. AWS reserves
 * the first four addresses of each subnet, hence the proxy's offset of 10 there.
 */
export function awsSubnets(cidr: string): { public: string; private: string } {
  const [addr, prefix] = ipaddr.parseCIDR(cidr);
  const half = 2 ** (32 - prefix - 1);
  const base = addr.toString();
  const second = numberToBytes(bytesToNumber(addr.toByteArray()) + half).join(".");
  return { public: `${base}/${prefix + 1}`, private: `${second}/${prefix + 1}` };
}

/** Offset of the proxy in the public subnet on AWS (the first four addresses are AWS's). */
export const AWS_PROXY_OFFSET = 10;

/**
 * The network the cloud servers themselves are on in lxd isolation, where dhis2:network.cidr is the
 * LXD bridge inside the one server: the next network of the same size (10.231.20.0/24 →
 * 10.231.21.0/24), so that the two never overlap.
 */
export function serverNetworkFor(bridgeCidr: string): string {
  const [addr, prefix] = ipaddr.parseCIDR(bridgeCidr);
  const next = numberToBytes(bytesToNumber(addr.toByteArray()) + 2 ** (32 - prefix));
  return `${next.join(".")}/${prefix}`;
}

export function planTopology(config: DeploymentConfig, sizing: SizingPlan): Topology {
  const cidr = config.networkCidr;
  const servers = config.platform === "existing" && config.isolation === "vm" ? config.servers : undefined;
  const aws = config.platform === "aws" && config.isolation === "vm" ? awsSubnets(cidr) : undefined;
  const addressOf = (name: string, offset: number) =>
    aws ? (name === "proxy" ? addressAt(aws.public, AWS_PROXY_OFFSET) : addressAt(aws.private, offset)) : addressAt(cidr, offset);
  const node = (name: string, role: Role, offset: number, budget: RoleBudget, server?: { address: string; privateAddress?: string }): Node => ({
    name,
    os: role === "instance" ? config.instances.find((i) => i.name === name)!.os : config.os[role as "proxy" | "database" | "monitor"],
    role,
    hostname: `dhis2-${name}`,
    address: server ? server.privateAddress ?? server.address : addressOf(name, offset),
    sshAddress: server?.address,
    budget,
  });
  const proxy = node("proxy", "proxy", OFFSETS.proxy, sizing.proxy, servers?.proxy);
  const database = node("database", "database", OFFSETS.database, sizing.database, servers?.database);
  const monitor = node("monitor", "monitor", OFFSETS.monitor, sizing.monitor, servers?.monitor);
  const instances = config.instances.map((inst, i) =>
    node(inst.name, "instance", OFFSETS.firstInstance + i, sizing.instances[i]!, servers?.instances?.[inst.name]));

  return {
    networkCidr: cidr,
    gateway: config.isolation === "lxd" ? addressAt(cidr, OFFSETS.gateway) : undefined,
    proxy,
    database,
    monitor,
    instances,
    onDemand: onDemandRange(config),
  };
}

/**
 * The node that is the private servers' way out to the internet, if one is: the proxy on hcloud
 * in vm isolation (Hetzner networks have no NAT gateway; the network's default route points at
 * the proxy). On aws a NAT gateway does it; elsewhere the servers have their own way out.
 */
export function natGateway(config: DeploymentConfig, topology: Topology): string | undefined {
  return config.platform === "hcloud" && config.isolation === "vm" ? topology.proxy.name : undefined;
}

/** The one-address CIDR of an address (/32, or /128 for IPv6). */
export function hostCidr(address: string): string {
  return address.includes(":") ? `${address}/128` : `${address}/32`;
}

/** The LXD network of a stack's containers (isolation lxd): its bridge, gateway and DHCP range. */
export interface LxdBridge {
  readonly name: string;
  /** The bridge's own address with the prefix (the containers' gateway), e.g. 10.231.20.1/24. */
  readonly address: string;
  /**
   * Dynamic DHCP leases, only in the upper half of the network so that the plan's fixed
   * addresses (proxy .2, instances .11-.19, database .20, monitor .30) stay out of the pool;
   * none in networks smaller than /26.
   */
  readonly dhcpRange?: string;
}

export function lxdBridge(config: DeploymentConfig): LxdBridge {
  const [addr, prefix] = ipaddr.parseCIDR(config.networkCidr);
  const size = 2 ** (32 - prefix);
  const base = bytesToNumber(addr.toByteArray());
  return {
    name: config.lxd.bridge,
    address: `${addressAt(config.networkCidr, OFFSETS.gateway)}/${prefix}`,
    dhcpRange: size >= 64 ? `${numberToBytes(base + size / 2).join(".")}-${numberToBytes(base + size - 2).join(".")}` : undefined,
  };
}
