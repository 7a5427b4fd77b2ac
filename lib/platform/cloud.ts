/**
 * The cloud resources of a stack on hcloud or aws, as plain data: servers (type, address,
 * user-data), the private network, firewalls with one rule per flow, the data volume, the static
 * public address. Pure: components/cloud.ts turns it into provider resources, tests read it
 * directly, docs/platforms.md is made from it.
 *
 *   vm isolation   a server per role; only the proxy has a public address and is the SSH bastion
 *   lxd isolation  one server (the LXD host) with the public address; the roles are containers
 */
import type { ConfigProblem } from "../config/model";
import type { Plan } from "../plan";
import { allNodes, awsSubnets, PORTS, serverNetworkFor, AWS_PROXY_OFFSET, addressAt } from "../plan/topology";
import { userDataFor } from "../render/cloud-init";
import { renderTemplate } from "../render/engine";
import { sourceAddress } from "../roles/flows";
import { deploymentFlows, roleOf } from "../roles/registry";
import type { Flow } from "../roles/types";
import { chooseServerType, largestType, CURRENCY, VOLUME_PRICE_PER_GB, type Cloud, type TypeChoice } from "./server-types";

export const DEFAULT_LOCATION: Record<Cloud, string> = { hcloud: "fsn1", aws: "eu-west-1" };
/** Debian 12: hcloud's image name; on aws the official Debian AMI is looked up (owner 136693071363). */
export const DEFAULT_IMAGE: Record<Cloud, string> = { hcloud: "debian-12", aws: "debian-12-amd64-*" };
export const DEBIAN_AMI_OWNER = "136693071363";
/** Where the LXD server's data volume is mounted (lxd isolation): LXD's storage pool. */
export const LXD_DATA_MOUNT = "/var/lib/lxd";

export type RuleSource =
  | { readonly kind: "anywhere" }
  | { readonly kind: "cidrs"; readonly cidrs: readonly string[] }
  | { readonly kind: "server"; readonly server: string; readonly address: string };

export interface FirewallRule {
  readonly port: number;
  readonly source: RuleSource;
  readonly purpose: string;
}

/** The sources of a rule, one per cloud firewall entry: CIDRs (0.0.0.0/0 and ::/0 for anywhere) or a server. */
export function ruleSources(r: FirewallRule): ({ readonly cidr: string } | { readonly server: string; readonly address: string })[] {
  if (r.source.kind === "anywhere") return [{ cidr: "0.0.0.0/0" }, { cidr: "::/0" }];
  if (r.source.kind === "cidrs") return r.source.cidrs.map((cidr) => ({ cidr }));
  return [{ server: r.source.server, address: r.source.address }];
}

/** Hetzner network zone of a location. */
export function hcloudNetworkZone(location: string): string {
  if (location === "ash") return "us-east";
  if (location === "hil") return "us-west";
  if (location === "sin") return "ap-southeast";
  return "eu-central";
}

export interface CloudServer {
  /** proxy, database, monitor, an instance name; "host" in lxd isolation. */
  readonly name: string;
  readonly hostname: string;
  readonly choice: TypeChoice;
  readonly privateAddress: string;
  /** aws: the subnet it is in. */
  readonly subnet: "public" | "private";
  /** Only the proxy (vm) or the LXD host (lxd): a static public IPv4 (Primary IP / Elastic IP). */
  readonly publicAddress: boolean;
  /** cloud-init user-data: bootstrap only (admin user, SSH keys, hardened SSH, security updates). */
  readonly userData: string;
  /** Inbound rules of its firewall (cloud firewall / security group); everything else is dropped. */
  readonly rules: readonly FirewallRule[];
  /** The data volume: the one of the role (the database's clusters, vm), or the LXD server's storage pool (lxd). */
  readonly volume?: { readonly name: string; readonly sizeGb: number; readonly mount: string };
  readonly rootDiskGb: number;
}

/**
 * Servers the cloud must refuse to delete or rebuild by accident (hcloud delete/rebuild
 * protection, aws termination protection): the one with the data volume and the one with the
 * public address that DNS points at.
 */
export function deletionGuarded(server: CloudServer): boolean {
  return Boolean(server.volume) || server.publicAddress;
}

export interface CloudPlan {
  readonly cloud: Cloud;
  readonly isolation: "vm" | "lxd";
  readonly location: string;
  readonly image: string;
  /** The cloud private network (VPC) and, on aws, its two subnets. */
  readonly network: { readonly cidr: string; readonly publicSubnet?: string; readonly privateSubnet?: string };
  readonly servers: readonly CloudServer[];
  /** The server pulumi reaches directly; every other one through it. */
  readonly bastion: string;
  readonly monthly: { readonly servers: number; readonly volumes: number; readonly currency: string };
}

function ruleFrom(plan: Plan, f: Flow, addresses: Record<string, string>): FirewallRule {
  if (f.from.kind === "internet") return { port: f.port, source: { kind: "anywhere" }, purpose: f.purpose };
  if (f.from.kind === "admin") return { port: f.port, source: { kind: "cidrs", cidrs: plan.config.admin.allowedCidrs }, purpose: f.purpose };
  const server = f.from.name;
  return { port: f.port, source: { kind: "server", server, address: addresses[server] ?? sourceAddress(plan.topology, f.from)! }, purpose: f.purpose };
}

export function planCloud(plan: Plan): { cloud?: CloudPlan; problems: ConfigProblem[] } {
  const { config, topology, sizing } = plan;
  if (config.platform !== "hcloud" && config.platform !== "aws") return { problems: [] };
  const cloud: Cloud = config.platform;
  const location = config.cloud.location ?? DEFAULT_LOCATION[cloud];
  const image = config.cloud.image ?? DEFAULT_IMAGE[cloud];
  const problems: ConfigProblem[] = [];
  const choose = (role: string, key: string, cpus: number, memoryMb: number, override?: string): TypeChoice => {
    const memoryGb = Math.ceil(memoryMb / 1024);
    // dedicated CPUs for the roles whose latency users feel (seed 000)
    const need = { role, cpus: Math.ceil(cpus), memoryGb, dedicated: roleOf({ role }).dedicatedCpus, location, override };
    const c = chooseServerType(cloud, need);
    if (c) return c;
    const big = largestType(cloud, need.dedicated);
    // name the size that cannot be met: the CPUs if no type has that many, else the memory
    const cpusExist = chooseServerType(cloud, { ...need, memoryGb: 0 }) !== undefined;
    problems.push({ key: `${key}.${cpusExist ? "memoryGb" : "cpus"}`, value: cpusExist ? memoryGb : cpus, message: `no ${cloud} server type in ${location} has ${need.cpus} ${need.dedicated ? "dedicated " : ""}vCPUs and ${memoryGb} GB (the largest is ${big.name}: ${big.cpus} vCPU, ${big.memoryGb} GB): lower the size or set serverType` });
    return { type: big, why: "too small" };
  };

  if (config.isolation === "lxd") {
    const host = sizing.host!;
    const network = serverNetworkFor(config.networkCidr);
    const subnets = cloud === "aws" ? awsSubnets(network) : undefined;
    const address = subnets ? addressAt(subnets.public, AWS_PROXY_OFFSET) : addressAt(network, 2);
    const choice = choose("lxd-host", "dhis2:sizes.host", host.cpus, host.memoryGb * 1024, undefined);
    const server: CloudServer = {
      name: "host",
      hostname: "dhis2-host",
      choice,
      privateAddress: address,
      subnet: "public",
      publicAddress: true,
      userData: userDataFor(plan, { role: "lxd-host", hostname: "dhis2-host" })!,
      rules: [
        { port: PORTS.http, source: { kind: "anywhere" }, purpose: "HTTP, forwarded to the proxy container" },
        { port: PORTS.https, source: { kind: "anywhere" }, purpose: "HTTPS, forwarded to the proxy container" },
        { port: PORTS.ssh, source: { kind: "cidrs", cidrs: config.admin.allowedCidrs }, purpose: "admin SSH" },
      ],
      volume: { name: `dhis2-${config.stack}-data`, sizeGb: host.diskGb, mount: LXD_DATA_MOUNT },
      rootDiskGb: 40,
    };
    return {
      problems,
      cloud: {
        cloud, isolation: "lxd", location, image,
        network: { cidr: network, publicSubnet: subnets?.public, privateSubnet: subnets?.private },
        servers: [server], bastion: "host",
        monthly: monthly(cloud, [server]),
      },
    };
  }

  const addresses = Object.fromEntries(allNodes(topology).map((n) => [n.name, n.address]));
  const flows = deploymentFlows(plan);
  const servers: CloudServer[] = allNodes(topology).map((n) => {
    const volume = roleOf(n).dataVolumes({ plan, node: n })[0];
    const key = n.role === "instance" ? `dhis2:instances[${plan.instances.findIndex((i) => i.config.name === n.name)}].size` : `dhis2:sizes.${n.name}`;
    const choice = choose(n.role, key, n.budget.cpus, n.budget.memoryMb, n.budget.serverType);
    return {
      name: n.name,
      hostname: n.hostname,
      choice,
      privateAddress: n.address,
      subnet: n.role === "proxy" ? "public" : "private",
      publicAddress: n.role === "proxy",
      userData: userDataFor(plan, n)!,
      rules: flows.filter((f) => f.to === n.name).map((f) => ruleFrom(plan, f, addresses)),
      volume: volume ? { name: `dhis2-${config.stack}-${volume.key}`, sizeGb: n.budget.diskGb, mount: volume.path } : undefined,
      // an instance server's root disk stays as it was before its file store got a volume: a
      // root disk cannot shrink in place (EBS), and it still holds the WAR, the JDK and the logs
      rootDiskGb: volume && n.role !== "instance" ? 40 : n.budget.diskGb,
    };
  });
  const subnets = cloud === "aws" ? awsSubnets(config.networkCidr) : undefined;
  return {
    problems,
    cloud: {
      cloud, isolation: "vm", location, image,
      network: { cidr: config.networkCidr, publicSubnet: subnets?.public, privateSubnet: subnets?.private },
      servers, bastion: "proxy",
      monthly: monthly(cloud, servers),
    },
  };
}

function monthly(cloud: Cloud, servers: readonly CloudServer[]): CloudPlan["monthly"] {
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    servers: round(servers.reduce((a, s) => a + s.choice.type.monthly, 0)),
    volumes: round(servers.reduce((a, s) => a + (s.volume ? s.volume.sizeGb * VOLUME_PRICE_PER_GB[cloud] : 0), 0)),
    currency: CURRENCY[cloud],
  };
}

// ------------------------------------------------------------------------------------------------
// What a change does to the resources

/**
 * Provider properties that replace a resource when they change, as the providers document them
 * (REFERENCE.md): hcloud Server image/location/userData/sshKeys; aws Instance ami/subnet/keyName/
 * privateIp. The components ignore changes of user-data and keys (cloud-init only bootstraps a
 * server: a later change is applied by the convergence over SSH), so those never replace.
 */
export const REPLACING: Record<Cloud, Record<string, readonly string[]>> = {
  hcloud: { server: ["image", "location", "privateAddress"], volume: ["location"] },
  aws: { server: ["image", "subnet", "privateAddress", "location"], volume: ["location"] },
};
/** Changes the components tell the provider to ignore (never an update, never a replacement). */
export const IGNORED: Record<Cloud, readonly string[]> = { hcloud: ["userData", "sshKeys"], aws: ["userData", "keyName"] };

export interface ResourceChange {
  readonly resource: string;
  readonly changed: readonly string[];
  readonly action: "update" | "replace" | "create" | "delete";
}

interface Comparable { readonly resource: string; readonly kind: "server" | "volume"; readonly props: Record<string, unknown> }

function comparable(c: CloudPlan): Comparable[] {
  const out: Comparable[] = [];
  for (const s of c.servers) {
    out.push({ resource: `server ${s.name}`, kind: "server", props: {
      serverType: s.choice.type.name, image: c.image, location: c.location, privateAddress: s.privateAddress, subnet: s.subnet, userData: s.userData, rootDiskGb: s.rootDiskGb,
    } });
    if (s.volume) out.push({ resource: `volume ${s.volume.name}`, kind: "volume", props: { sizeGb: s.volume.sizeGb, location: c.location } });
  }
  return out;
}

/** What `pulumi up` would do to the cloud resources going from one plan to the next. */
export function cloudChanges(before: CloudPlan, after: CloudPlan): ResourceChange[] {
  const a = new Map(comparable(before).map((x) => [x.resource, x]));
  const b = new Map(comparable(after).map((x) => [x.resource, x]));
  const out: ResourceChange[] = [];
  for (const [name, x] of b) {
    const old = a.get(name);
    if (!old) { out.push({ resource: name, changed: [], action: "create" }); continue; }
    const changed = Object.keys(x.props).filter((k) => JSON.stringify(x.props[k]) !== JSON.stringify(old.props[k]) && !IGNORED[after.cloud].includes(k));
    if (changed.length === 0) continue;
    const replaces = changed.some((k) => REPLACING[after.cloud][x.kind]!.includes(k));
    out.push({ resource: name, changed, action: replaces ? "replace" : "update" });
  }
  for (const name of a.keys()) if (!b.has(name)) out.push({ resource: name, changed: [], action: "delete" });
  return out;
}

/** Device paths under which a cloud volume shows up on its server. */
export function volumeDevices(cloud: Cloud, volumeId: string): string[] {
  if (!/^[A-Za-z0-9-]+$/.test(volumeId)) throw new Error(`not a volume id: ${volumeId}`);
  return cloud === "hcloud"
    ? [`/dev/disk/by-id/scsi-0HC_Volume_${volumeId}`]
    // Nitro instances show EBS volumes as NVMe devices named by the volume id; older ones as xvdf
    : [`/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${volumeId.replace(/-/g, "")}`, "/dev/xvdf", "/dev/sdf"];
}

/** The bootstrap step that mounts a server's data volume (templates/host/data-volume.sh.hbs). */
export function dataVolumeScript(plan: Plan, server: CloudServer, cloud: Cloud, volumeId: string): string {
  if (!server.volume) throw new Error(`${server.name} has no data volume`);
  return renderTemplate("host/data-volume.sh.hbs", {
    stack: plan.config.stack,
    hostname: server.hostname,
    mount: server.volume.mount,
    purpose: server.name === "host" ? "LXD's containers and volumes, PostgreSQL's data among them" : "PostgreSQL's clusters",
    cloudInit: true,
    devices: volumeDevices(cloud, volumeId).join(" "),
  });
}
