/**
 * Topology: which role runs where, at which private address, and which network flows are allowed.
 *
 * Address plan (dhis2-server-tools' layout) in the stack's private network: proxy .2, DHIS2
 * instances .11 to .19, database .20, monitor .30; in lxd isolation the host's bridge is .1.
 * The flow list is the single source for the host firewalls (nftables), the cloud firewalls and
 * the end-to-end flow checks: anything not listed is refused.
 */
import * as ipaddr from "ipaddr.js";
import type { DeploymentConfig } from "../config/model";
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

/** Name of the LXD bridge the containers are attached to (lxd isolation). */
export const LXD_BRIDGE = "dhis2br0";

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
}

export type FlowSource =
  | { readonly kind: "internet" }
  | { readonly kind: "admin" }
  | { readonly kind: "node"; readonly name: string };

export interface Flow {
  readonly from: FlowSource;
  /** Node name. */
  readonly to: string;
  readonly port: number;
  readonly purpose: string;
}

export interface Topology {
  readonly networkCidr: string;
  /** lxd isolation: the address of the host on the bridge. */
  readonly gateway?: string;
  readonly proxy: Node;
  readonly database: Node;
  readonly monitor: Node;
  readonly instances: readonly Node[];
  readonly flows: readonly Flow[];
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

  const flows: Flow[] = [];
  const allow = (from: FlowSource, to: Node, port: number, purpose: string) => flows.push({ from, to: to.name, port, purpose });
  const from = (n: Node): FlowSource => ({ kind: "node", name: n.name });

  allow({ kind: "internet" }, proxy, PORTS.http, "HTTP (redirect to HTTPS, ACME challenges)");
  allow({ kind: "internet" }, proxy, PORTS.https, "HTTPS");
  for (const inst of instances) {
    allow(from(proxy), inst, PORTS.tomcat, `DHIS2 ${inst.name} behind the proxy`);
    if (config.monitoring.glowroot) allow(from(proxy), inst, PORTS.glowroot, `glowroot UI of ${inst.name} behind the proxy`);
    allow(from(inst), database, PORTS.postgres, `database of ${inst.name}`);
  }
  allow(from(proxy), monitor, PORTS.muninWeb, "munin pages behind the proxy");
  for (const n of [proxy, ...instances, database, monitor]) {
    allow(from(monitor), n, PORTS.muninNode, "munin master polls munin-node");
  }
  if (config.isolation === "vm" && config.platform !== "local") {
    // SSH: admins reach the proxy only; the proxy is the bastion for every other server
    allow({ kind: "admin" }, proxy, PORTS.ssh, "admin SSH (bastion)");
    for (const n of [...instances, database, monitor]) allow(from(proxy), n, PORTS.ssh, "admin SSH through the bastion");
  }
  return {
    networkCidr: cidr,
    gateway: config.isolation === "lxd" ? addressAt(cidr, OFFSETS.gateway) : undefined,
    proxy,
    database,
    monitor,
    instances,
    flows,
  };
}

/** Flows into one node. */
export function flowsTo(t: Topology, name: string): Flow[] {
  return t.flows.filter((f) => f.to === name);
}

/** The private address of a flow's source (undefined for internet/admin). */
export function sourceAddress(t: Topology, s: FlowSource): string | undefined {
  return s.kind === "node" ? allNodes(t).find((n) => n.name === s.name)?.address : undefined;
}
