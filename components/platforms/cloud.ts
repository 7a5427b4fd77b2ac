/**
 * Platforms `hcloud` and `aws`: the cloud resources of lib/platform/cloud.ts (CloudPlan), and how
 * to reach the servers afterwards. Cloud-init only bootstraps a server (admin user, keys, hardened
 * SSH); every role is then converged over SSH like on the other platforms, through the server with
 * the public address (the proxy in vm isolation, the LXD host in lxd isolation), which is the
 * bastion for every other one.
 *
 * Safe by construction:
 * - data volumes are separate resources, `protect`ed and retained on delete;
 * - a new server type or size is an in-place update (hcloud serverType, aws instanceType); a
 *   change of user-data or SSH keys is ignored (cloud-init ran once; the convergence applies
 *   changes), so neither ever replaces a server; the AMI found by lookup is not followed either;
 * - the public address is its own resource (Primary IP / Elastic IP), protected, so DNS survives
 *   a rebuild of the server.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as hcloud from "@pulumi/hcloud";
import type { Plan } from "../../lib/plan";
import { dataVolumeScript, deletionGuarded, hcloudNetworkZone, ruleSources, type CloudPlan, type CloudServer } from "../../lib/platform/cloud";
import type { HostStep } from "../converged-host";
import { SshHost, type Host, type SshConnection } from "../host";
import { FORMER, TOKENS, withFormerToken } from "../tokens";
import type { Platform } from ".";

export interface CloudPlatformArgs {
  readonly plan: Plan;
  /** lib/platform/cloud.ts planCloud(plan).cloud */
  readonly cloud: CloudPlan;
  /** The private key matching one of admin.sshKeys (a secret). */
  readonly privateKey: pulumi.Input<string>;
}

const labels = (plan: Plan, role: string) => ({ "dhis2-stack": plan.config.stack, "dhis2-role": role });

/** SSH hosts: the bastion directly, every other server through it. */
function sshHosts(plan: Plan, cloud: CloudPlan, publicAddress: pulumi.Output<string>, key: pulumi.Input<string>): Record<string, Host> {
  const user = plan.config.admin.user;
  const bastion: Omit<SshConnection, "bastion"> = { host: publicAddress, user, privateKey: key };
  return Object.fromEntries(cloud.servers.map((s) => [s.name,
    s.name === cloud.bastion ? new SshHost(s.name, bastion) : new SshHost(s.name, { host: s.privateAddress, user, privateKey: key, bastion })]));
}

function bootstrapStep(plan: Plan, server: CloudServer, cloud: CloudPlan, volumeId: pulumi.Output<string>): HostStep[] {
  if (!server.volume) return [];
  return [{ name: "data-volume", stdin: volumeId.apply((id) => dataVolumeScript(plan, server, cloud.cloud, id)) }];
}

/**
 * What both clouds give the deployment once their resources are declared: the servers (by
 * CloudServer name: proxy, database, ..., or "host"), their volume steps, the public address of
 * the proxy (vm) or the LXD server (lxd), SSH hosts through the bastion.
 */
abstract class CloudPlatform extends pulumi.ComponentResource implements Platform {
  public hosts: Readonly<Record<string, Host>> = {};
  public machines: Readonly<Record<string, pulumi.Resource>> = {};
  public bootstrap: Readonly<Record<string, readonly HostStep[]>> = {};
  public publicAddress: pulumi.Output<string> = pulumi.output("");
  public where: pulumi.Output<Record<string, string>> = pulumi.output<Record<string, string>>({});
  public bastion?: string;

  /** Record the servers, their volume steps and the public address; SSH hosts follow from them. */
  protected publish(args: CloudPlatformArgs, machines: Record<string, pulumi.Resource>, bootstrap: Record<string, HostStep[]>, publicAddress: pulumi.Output<string>): void {
    this.machines = machines;
    this.bootstrap = bootstrap;
    this.publicAddress = publicAddress;
    this.hosts = sshHosts(args.plan, args.cloud, publicAddress, pulumi.secret(args.privateKey));
    this.where = pulumi.output(Object.fromEntries(args.cloud.servers.map((x) => [x.name, `${x.choice.type.name} ${x.privateAddress}`])));
    this.bastion = args.cloud.isolation === "vm" ? "proxy" : undefined;
    this.registerOutputs({ publicAddress });
  }
}

export class HcloudPlatform extends CloudPlatform {

  constructor(name: string, args: CloudPlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    super(TOKENS.platform.hcloud, name, {}, withFormerToken(opts, FORMER.platform.hcloud));
    const { plan, cloud } = args;
    const stack = plan.config.stack;
    const child = { parent: this };
    const keys = plan.config.admin.sshKeys.map((k, i) => new hcloud.SshKey(`${name}-admin-key-${i}`, { name: `dhis2-${stack}-admin-${i}`, publicKey: k, labels: labels(plan, "admin") }, child));
    const network = new hcloud.Network(`${name}-network`, { name: `dhis2-${stack}`, ipRange: cloud.network.cidr, labels: labels(plan, "network") }, child);
    const subnet = new hcloud.NetworkSubnet(`${name}-subnet`, {
      networkId: network.id.apply(Number), type: "cloud", networkZone: hcloudNetworkZone(cloud.location), ipRange: cloud.network.cidr,
    }, child);
    const bastion = cloud.servers.find((s) => s.name === cloud.bastion)!;
    if (cloud.isolation === "vm") {
      // Hetzner networks have no NAT: the other servers reach the internet through the proxy
      new hcloud.NetworkRoute(`${name}-default-route`, { networkId: network.id.apply(Number), destination: "0.0.0.0/0", gateway: bastion.privateAddress }, { ...child, dependsOn: [subnet] });
    }
    const machines: Record<string, pulumi.Resource> = {};
    const bootstrap: Record<string, HostStep[]> = {};
    let publicAddress: pulumi.Output<string> = pulumi.output("");
    for (const s of cloud.servers) {
      // Hetzner's firewalls filter the public interface only; the private network is guarded by
      // each server's nftables (the same flows)
      const firewall = new hcloud.Firewall(`${name}-${s.name}-firewall`, {
        name: `dhis2-${stack}-${s.name}`,
        labels: labels(plan, s.name),
        rules: s.rules.filter((r) => r.source.kind !== "server").map((r) => ({
          direction: "in", protocol: "tcp", port: String(r.port), sourceIps: ruleSources(r).map((x) => ("cidr" in x ? x.cidr : `${x.address}/32`)), description: r.purpose,
        })),
      }, child);
      const ip = s.publicAddress
        ? new hcloud.PrimaryIp(`${name}-${s.name}-ipv4`, {
            name: `dhis2-${stack}-${s.name}`, type: "ipv4", autoDelete: false, location: cloud.location, labels: labels(plan, s.name),
          }, { ...child, protect: true })
        : undefined;
      const server = new hcloud.Server(`${name}-${s.name}`, {
        name: `dhis2-${stack}-${s.name}`,
        serverType: s.choice.type.name,
        image: s.image,
        location: cloud.location,
        sshKeys: keys.map((k) => k.id),
        userData: s.userData,
        networks: [{ networkId: network.id.apply(Number), ip: s.privateAddress }],
        publicNets: [{ ipv4Enabled: Boolean(ip), ipv4: ip?.id.apply(Number), ipv6Enabled: false }],
        firewallIds: [firewall.id.apply(Number)],
        labels: labels(plan, s.name),
        deleteProtection: deletionGuarded(s),
        rebuildProtection: deletionGuarded(s),
      }, { ...child, dependsOn: [subnet], ignoreChanges: ["userData", "sshKeys"] });
      machines[s.name] = server;
      if (ip) publicAddress = ip.ipAddress;
      if (s.volume) {
        const volume = new hcloud.Volume(`${name}-${s.volume.name}`, {
          name: s.volume.name, size: s.volume.sizeGb, location: cloud.location, deleteProtection: true, labels: labels(plan, "data"),
        }, { ...child, protect: true, retainOnDelete: true });
        machines[s.name] = new hcloud.VolumeAttachment(`${name}-${s.volume.name}-attachment`, {
          serverId: server.id.apply(Number), volumeId: volume.id.apply(Number), automount: false,
        }, child);
        bootstrap[s.name] = bootstrapStep(plan, s, cloud, volume.id);
      }
    }
    this.publish(args, machines, bootstrap, publicAddress);
  }
}

export class AwsPlatform extends CloudPlatform {

  constructor(name: string, args: CloudPlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    super(TOKENS.platform.aws, name, {}, withFormerToken(opts, FORMER.platform.aws));
    const { plan, cloud } = args;
    const stack = plan.config.stack;
    const tags = (role: string) => ({ Name: `dhis2-${stack}-${role}`, ...labels(plan, role) });
    const provider = new aws.Provider(`${name}-provider`, { region: cloud.location as aws.Region, defaultTags: { tags: { "dhis2-stack": stack } } }, { parent: this });
    const child = { parent: this, provider };
    const zone = `${cloud.location}a`;
    const vpc = new aws.ec2.Vpc(`${name}-vpc`, { cidrBlock: cloud.network.cidr, enableDnsSupport: true, enableDnsHostnames: true, tags: tags("network") }, child);
    const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id, tags: tags("network") }, child);
    const publicSubnet = new aws.ec2.Subnet(`${name}-public`, { vpcId: vpc.id, cidrBlock: cloud.network.publicSubnet!, availabilityZone: zone, mapPublicIpOnLaunch: false, tags: tags("public") }, child);
    const publicRoutes = new aws.ec2.RouteTable(`${name}-public-routes`, { vpcId: vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }], tags: tags("public") }, child);
    new aws.ec2.RouteTableAssociation(`${name}-public-routes`, { subnetId: publicSubnet.id, routeTableId: publicRoutes.id }, child);
    let privateSubnet: aws.ec2.Subnet | undefined;
    if (cloud.isolation === "vm") {
      // the servers without a public address reach the internet through a NAT gateway
      const natIp = new aws.ec2.Eip(`${name}-nat-ip`, { domain: "vpc", tags: tags("nat") }, child);
      const nat = new aws.ec2.NatGateway(`${name}-nat`, { allocationId: natIp.id, subnetId: publicSubnet.id, tags: tags("nat") }, { ...child, dependsOn: [igw] });
      privateSubnet = new aws.ec2.Subnet(`${name}-private`, { vpcId: vpc.id, cidrBlock: cloud.network.privateSubnet!, availabilityZone: zone, mapPublicIpOnLaunch: false, tags: tags("private") }, child);
      const privateRoutes = new aws.ec2.RouteTable(`${name}-private-routes`, { vpcId: vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: nat.id }], tags: tags("private") }, child);
      new aws.ec2.RouteTableAssociation(`${name}-private-routes`, { subnetId: privateSubnet.id, routeTableId: privateRoutes.id }, child);
    }
    const keyPair = new aws.ec2.KeyPair(`${name}-admin-key`, { keyName: `dhis2-${stack}-admin`, publicKey: plan.config.admin.sshKeys[0]!, tags: tags("admin") }, child);
    // each server's system's AMI, looked up once per image
    const amis = new Map<string, pulumi.Output<string>>();
    const amiOf = (s: CloudServer): pulumi.Output<string> => {
      if (s.image.startsWith("ami-")) return pulumi.output(s.image);
      if (!amis.has(s.image)) {
        amis.set(s.image, aws.ec2.getAmiOutput({ owners: [s.amiOwner!], mostRecent: true, filters: [{ name: "name", values: [s.image] }, { name: "architecture", values: ["x86_64"] }] }, { parent: this, provider }).id);
      }
      return amis.get(s.image)!;
    };

    // one security group per server, one ingress rule resource per source (AWS best practice)
    const groups = Object.fromEntries(cloud.servers.map((s) => [s.name, new aws.ec2.SecurityGroup(`${name}-${s.name}-sg`, {
      vpcId: vpc.id, name: `dhis2-${stack}-${s.name}`, description: `DHIS2 ${stack} ${s.name}: only the flows of the deployment plan`, tags: tags(s.name),
    }, child)]));
    for (const s of cloud.servers) {
      const group = groups[s.name]!;
      new aws.vpc.SecurityGroupEgressRule(`${name}-${s.name}-egress`, { securityGroupId: group.id, ipProtocol: "-1", cidrIpv4: "0.0.0.0/0", description: "outgoing: packages, mail relay, between servers" }, child);
      s.rules.forEach((r, i) => {
        const sources: Omit<aws.vpc.SecurityGroupIngressRuleArgs, "securityGroupId" | "ipProtocol">[] = ruleSources(r).map((x) =>
          !("cidr" in x) ? { referencedSecurityGroupId: groups[x.server]!.id } : x.cidr.includes(":") ? { cidrIpv6: x.cidr } : { cidrIpv4: x.cidr });
        sources.forEach((src, j) => new aws.vpc.SecurityGroupIngressRule(`${name}-${s.name}-in-${i}-${j}`, {
          securityGroupId: group.id, ipProtocol: "tcp", fromPort: r.port, toPort: r.port, description: r.purpose, ...src,
        }, child));
      });
    }

    const machines: Record<string, pulumi.Resource> = {};
    const bootstrap: Record<string, HostStep[]> = {};
    let publicAddress: pulumi.Output<string> = pulumi.output("");
    for (const s of cloud.servers) {
      const instance = new aws.ec2.Instance(`${name}-${s.name}`, {
        ami: amiOf(s),
        instanceType: s.choice.type.name,
        subnetId: (s.subnet === "public" ? publicSubnet : privateSubnet!).id,
        privateIp: s.privateAddress,
        vpcSecurityGroupIds: [groups[s.name]!.id],
        keyName: keyPair.keyName,
        userData: s.userData,
        userDataReplaceOnChange: false,
        rootBlockDevice: { volumeType: "gp3", volumeSize: s.rootDiskGb, encrypted: true },
        metadataOptions: { httpTokens: "required", httpEndpoint: "enabled" },
        disableApiTermination: deletionGuarded(s),
        tags: tags(s.name),
      }, { ...child, ignoreChanges: ["userData", "ami", "keyName"] });
      machines[s.name] = instance;
      if (s.publicAddress) {
        const eip = new aws.ec2.Eip(`${name}-${s.name}-ip`, { domain: "vpc", tags: tags(s.name) }, { ...child, protect: true });
        machines[s.name] = new aws.ec2.EipAssociation(`${name}-${s.name}-ip`, { allocationId: eip.id, instanceId: instance.id }, child);
        publicAddress = eip.publicIp;
      }
      if (s.volume) {
        const volume = new aws.ebs.Volume(`${name}-${s.volume.name}`, {
          availabilityZone: zone, size: s.volume.sizeGb, type: "gp3", encrypted: true, tags: tags("data"),
        }, { ...child, protect: true, retainOnDelete: true });
        machines[s.name] = new aws.ec2.VolumeAttachment(`${name}-${s.volume.name}-attachment`, {
          deviceName: "/dev/sdf", instanceId: instance.id, volumeId: volume.id, stopInstanceBeforeDetaching: true,
        }, { ...child, dependsOn: s.publicAddress ? [machines[s.name]!] : [] });
        bootstrap[s.name] = bootstrapStep(plan, s, cloud, volume.id);
      }
    }
    this.publish(args, machines, bootstrap, publicAddress);
  }
}
