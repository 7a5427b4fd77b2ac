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
import { OS_IMAGES, type OsId } from "../os/images";
import { CURRENCY, DEFAULT_LOCATION, VOLUME_PRICE_PER_GB, type Cloud, type TypeChoice } from "../plan/server-types";

export { DEFAULT_LOCATION };
/**
 * A server's image: dhis2:cloud.image when set (one image for every server), else the official
 * image of the node's system (lib/os/images.ts): hcloud's image name, or on aws the newest AMI of
 * the system's publisher (Debian 136693071363, Canonical 099720109477) matching its name.
 */
export function serverImage(cloud: Cloud, os: OsId, override?: string): { image: string; amiOwner?: string } {
  const img = OS_IMAGES[os];
  if (override) return { image: override, ...(cloud === "aws" && !override.startsWith("ami-") ? { amiOwner: img.awsAmi.owner } : {}) };
  return cloud === "hcloud" ? { image: img.hcloudImage } : { image: img.awsAmi.name, amiOwner: img.awsAmi.owner };
}
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
  /** Its system's image (./serverImage): an hcloud image name, an AMI name pattern with its owner, or an AMI id. */
  readonly image: string;
  readonly amiOwner?: string;
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
  /** The servers' images, for the report. */
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
  if (f.from.kind === "onDemand") return { port: f.port, source: { kind: "cidrs", cidrs: [plan.topology.onDemand!] }, purpose: f.purpose };
  const server = f.from.name;
  return { port: f.port, source: { kind: "server", server, address: addresses[server] ?? sourceAddress(plan.topology, f.from)! }, purpose: f.purpose };
}

export function planCloud(plan: Plan): { cloud?: CloudPlan; problems: ConfigProblem[] } {
  const { config, topology, sizing } = plan;
  if (config.platform !== "hcloud" && config.platform !== "aws") return { problems: [] };
  const cloud: Cloud = config.platform;
  const location = config.cloud.location ?? DEFAULT_LOCATION[cloud];
  const problems: ConfigProblem[] = [];
  // the types were chosen with the plan (lib/plan/machines.ts), which tuned every node to its type
  const choice = (node: string): TypeChoice => {
    const m = plan.machines.find((x) => x.node === node);
    if (!m) throw new Error(`the plan chose no server type for ${node}`);
    return m.choice;
  };

  if (config.isolation === "lxd") {
    const host = sizing.host!;
    const network = serverNetworkFor(config.networkCidr);
    const subnets = cloud === "aws" ? awsSubnets(network) : undefined;
    const address = subnets ? addressAt(subnets.public, AWS_PROXY_OFFSET) : addressAt(network, 2);
        const server: CloudServer = {
      name: "host",
      hostname: "dhis2-host",
      choice: choice("host"),
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
      ...serverImage(cloud, config.os.default, config.cloud.image),
    };
    return {
      problems,
      cloud: {
        cloud, isolation: "lxd", location, image: server.image,
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
    return {
      name: n.name,
      hostname: n.hostname,
      choice: choice(n.name),
      privateAddress: n.address,
      subnet: n.role === "proxy" ? "public" : "private",
      publicAddress: n.role === "proxy",
      userData: userDataFor(plan, n)!,
      rules: flows.filter((f) => f.to === n.name).map((f) => ruleFrom(plan, f, addresses)),
      volume: volume ? { name: `dhis2-${config.stack}-${volume.key}`, sizeGb: n.budget.diskGb, mount: volume.path } : undefined,
      // an instance server's root disk stays as it was before its file store got a volume: a
      // root disk cannot shrink in place (EBS), and it still holds the WAR, the JDK and the logs
      rootDiskGb: volume && n.role !== "instance" ? 40 : n.budget.diskGb,
      ...serverImage(cloud, n.os, config.cloud.image),
    };
  });
  const subnets = cloud === "aws" ? awsSubnets(config.networkCidr) : undefined;
  return {
    problems,
    cloud: {
      cloud, isolation: "vm", location, image: [...new Set(servers.map((x) => x.image))].join(", "),
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
