/**
 * Cloud platforms (lib/platform/cloud.ts and components/cloud.ts): the resources of hcloud and aws
 * in both isolation modes, checked on the plan directly and on the components with Pulumi mocks
 * (the providers' APIs cannot be reached here).
 */
import { isSecret, optionsRecorder, plain, recorded, settle, valueOf, MOCK_PUBLIC_IPV4, MOCK_AMI, type RecordedResource } from "../support/pulumi-mocks";
import test from "ava";
import type { Plan } from "../../lib/plan";
import { cloudChanges, planCloud, type CloudPlan } from "../../lib/platform/cloud";
import { Dhis2Deployment } from "../../components/deployment";
import { cloudStack, load, withGeneratedSecrets } from "../support/stacks";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nS3NT1NEL\n-----END OPENSSH PRIVATE KEY-----\n";

function stack(platform: "hcloud" | "aws", isolation: "vm" | "lxd", opts: { cpus?: number; memoryGb?: number; instances?: number } = {}): Record<string, unknown> {
  const raw = cloudStack({ isolation, cpus: opts.cpus ?? 32, memoryGb: opts.memoryGb ?? (isolation === "lxd" ? 64 : 32), instances: opts.instances ?? 2 });
  return { ...raw, platform, admin: { ...(raw.admin as object), privateKey: KEY } };
}
const planOf = (raw: Record<string, unknown>): Plan => load(raw, "ke-prod").plan;
const cloudOf = (raw: Record<string, unknown>): CloudPlan => planCloud(planOf(raw)).cloud!;

/** Deploy with mocks under a unique name; the resources and their options. */
async function deploy(prefix: string, raw: Record<string, unknown>) {
  const rec = optionsRecorder();
  const d = new Dhis2Deployment(prefix, { plan: withGeneratedSecrets(planOf(raw)) }, { transformations: [rec.transformation] });
  await settle();
  const mine = recorded.filter((r) => r.name.startsWith(`${prefix}-`));
  const ofType = (type: string) => mine.filter((r) => r.type === type);
  const opts = (name: string) => rec.seen.find((s) => s.name === name)?.opts ?? {};
  return { d, mine, ofType, opts };
}
const inputs = <T>(r: RecordedResource | undefined): T => r!.inputs as T;

// ---------------------------------------------------------------------------------- the plan

test("vm: nothing is open to the internet but the proxy's 80 and 443; SSH only from the admin networks to the proxy", (t) => {
  for (const platform of ["hcloud", "aws"] as const) {
    const c = cloudOf(stack(platform, "vm"));
    for (const s of c.servers) {
      for (const r of s.rules) {
        if (r.source.kind === "anywhere") t.true(s.name === "proxy" && [80, 443].includes(r.port), `${platform} ${s.name}:${r.port} open to anywhere`);
        if (r.port === 22) {
          if (s.name === "proxy") t.deepEqual(r.source, { kind: "cidrs", cidrs: ["196.12.4.0/24"] });
          else t.like(r.source, { kind: "server", server: "proxy" }, `${platform} ${s.name}: SSH only through the bastion`);
        }
      }
      t.is(s.publicAddress, s.name === "proxy", `${platform} ${s.name}: public address`);
    }
    const db = c.servers.find((s) => s.name === "database")!;
    t.deepEqual(db.rules.filter((r) => r.port === 5432).map((r) => r.source.kind === "server" && r.source.server).sort(), ["production", "staging"]);
    t.deepEqual(db.rules.filter((r) => r.port === 4949).map((r) => r.source.kind === "server" && r.source.server), ["monitor"]);
  }
});

test("aws vm: the proxy in the public subnet (after AWS's reserved addresses), every other server in the private one", (t) => {
  const c = cloudOf(stack("aws", "vm"));
  t.deepEqual(c.network, { cidr: "10.231.20.0/24", publicSubnet: "10.231.20.0/25", privateSubnet: "10.231.20.128/25" });
  t.deepEqual(Object.fromEntries(c.servers.map((s) => [s.name, `${s.subnet} ${s.privateAddress}`])), {
    proxy: "public 10.231.20.10", production: "private 10.231.20.139", staging: "private 10.231.20.140", database: "private 10.231.20.148", monitor: "private 10.231.20.158",
  });
  const e = t.throws(() => planOf({ ...stack("aws", "vm"), network: { cidr: "10.231.20.0/26" } }));
  t.regex(e!.message, /dhis2:network\.cidr: must have a prefix from \/16 to \/25 on aws/);
});

test("lxd: one server with the public address (80, 443 from anywhere, 22 from the admins), LXD's state on the data volume", (t) => {
  for (const platform of ["hcloud", "aws"] as const) {
    const c = cloudOf(stack(platform, "lxd"));
    t.is(c.servers.length, 1);
    const [h] = c.servers;
    t.like(h, { name: "host", publicAddress: true, volume: { mount: "/var/lib/lxd", sizeGb: 200 } });
    t.deepEqual(h!.rules.map((r) => `${r.port} ${r.source.kind}`), ["80 anywhere", "443 anywhere", "22 cidrs"]);
    t.is(c.network.cidr, "10.231.21.0/24", "the servers' network never overlaps the LXD bridge");
    t.is(h!.choice.type.name, platform === "hcloud" ? "ccx53" : "c6a.8xlarge");
  }
});

test("a size change updates servers in place: the database server and its volume are never replaced", (t) => {
  for (const platform of ["hcloud", "aws"] as const) {
    const small = cloudOf(stack(platform, "vm", { cpus: 8, memoryGb: 16 }));
    for (const [cpus, memoryGb] of [[16, 32], [32, 32], [32, 64], [48, 128]] as const) {
      const big = { ...stack(platform, "vm", { cpus, memoryGb }) };
      (big.sizes as Record<string, Record<string, number>>).database!.diskGb = 400;
      const changes = cloudChanges(small, cloudOf(big));
      t.deepEqual(changes.filter((c) => c.action !== "update"), [], `${platform} ${cpus}/${memoryGb}`);
      t.deepEqual(changes.find((c) => c.resource === "server database")?.changed, ["serverType"]);
      t.deepEqual(changes.find((c) => c.resource === "volume dhis2-ke-prod-pgdata")?.changed, ["sizeGb"]);
    }
  }
});

test("a change of user-data never replaces a server; another image or location does (and says so)", (t) => {
  const before = cloudOf(stack("hcloud", "vm"));
  const newKeys = { ...stack("hcloud", "vm"), admin: { ...(stack("hcloud", "vm").admin as object), sshKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMoreKeysForTheNewAdministratorOfTheMinistry admin2@moh.example.org"] } };
  const after = cloudOf(newKeys);
  t.not(before.servers[0]!.userData, after.servers[0]!.userData);
  t.deepEqual(cloudChanges(before, after), []);
  const otherImage = cloudOf({ ...stack("hcloud", "vm"), cloud: { image: "ubuntu-24.04" } });
  t.true(cloudChanges(before, otherImage).every((c) => c.action === "replace" && c.changed.includes("image")));
  const aws = cloudOf(stack("aws", "vm"));
  t.true(cloudChanges(aws, cloudOf({ ...stack("aws", "vm"), cloud: { location: "af-south-1" } })).every((c) => c.action === "replace"));
});

// ----------------------------------------------------------------------------- hcloud, mocks

test.serial("hcloud vm: network with the proxy as the default route, a server, firewall and address per role, the data volume", async (t) => {
  const { ofType } = await deploy("hv", stack("hcloud", "vm"));
  t.is(ofType("hcloud:index/network:Network").length, 1);
  t.like(inputs(ofType("hcloud:index/networkSubnet:NetworkSubnet")[0]), { ipRange: "10.231.20.0/24", networkZone: "eu-central", type: "cloud" });
  t.like(inputs(ofType("hcloud:index/networkRoute:NetworkRoute")[0]), { destination: "0.0.0.0/0", gateway: "10.231.20.2" });
  const servers = ofType("hcloud:index/server:Server");
  t.deepEqual(servers.map((s) => s.name).sort(), ["hv-hcloud-database", "hv-hcloud-monitor", "hv-hcloud-production", "hv-hcloud-proxy", "hv-hcloud-staging"]);
  t.is(ofType("hcloud:index/firewall:Firewall").length, 5);
  t.is(ofType("hcloud:index/primaryIp:PrimaryIp").length, 1);
  t.is(ofType("hcloud:index/sshKey:SshKey").length, 1);
  // the database's data (200 GB) and each instance's file store (its 50 GB disk), protected
  const volumes = ofType("hcloud:index/volume:Volume").map((v) => inputs<{ size: number; location: string; deleteProtection: boolean }>(v));
  t.deepEqual(volumes.map((v) => v.size).sort((a, b) => b - a), [200, 50, 50]);
  for (const v of volumes) t.like(v, { location: "fsn1", deleteProtection: true });
  t.is(ofType("hcloud:index/volumeAttachment:VolumeAttachment").length, 3);
  for (const s of servers) {
    const i = inputs<{ serverType: string; image: string; networks: { ip: string }[]; publicNets: { ipv4Enabled: boolean; ipv6Enabled: boolean }[]; userData: string }>(s);
    t.is(i.image, "debian-12");
    t.regex(i.userData, /^#cloud-config/);
    t.deepEqual(i.publicNets, [{ ipv4Enabled: s.name === "hv-hcloud-proxy", ...(s.name === "hv-hcloud-proxy" ? { ipv4: i.publicNets[0]!.ipv4Enabled && (i.publicNets[0] as { ipv4?: number }).ipv4 } : {}), ipv6Enabled: false }]);
  }
  t.is(inputs<{ serverType: string }>(servers.find((s) => s.name === "hv-hcloud-database")).serverType, "ccx53");
});

test.serial("hcloud vm firewalls: rules only for the public flows, nothing to 0.0.0.0/0 but the proxy's 80/443", async (t) => {
  const { ofType } = await deploy("hf", stack("hcloud", "vm"));
  for (const f of ofType("hcloud:index/firewall:Firewall")) {
    const rules = inputs<{ rules: { port: string; sourceIps: string[]; direction: string }[] }>(f).rules;
    for (const r of rules) {
      t.is(r.direction, "in");
      if (r.sourceIps.includes("0.0.0.0/0")) t.true(f.name === "hf-hcloud-proxy-firewall" && ["80", "443"].includes(r.port), `${f.name} ${r.port}`);
    }
    if (f.name === "hf-hcloud-proxy-firewall") t.deepEqual(rules.map((r) => `${r.port} ${r.sourceIps.join(",")}`), ["80 0.0.0.0/0,::/0", "443 0.0.0.0/0,::/0", "22 196.12.4.0/24"]);
    else t.deepEqual(rules, [], `${f.name}: no public traffic at all`);
  }
});

test.serial("hcloud: data volume and public address protected, the volume retained; servers ignore user-data and key changes", async (t) => {
  const { opts, ofType } = await deploy("ho", stack("hcloud", "vm"));
  t.like(opts("ho-hcloud-dhis2-ke-prod-pgdata"), { protect: true, retainOnDelete: true });
  t.like(opts("ho-hcloud-proxy-ipv4"), { protect: true });
  for (const s of ofType("hcloud:index/server:Server")) {
    t.deepEqual(opts(s.name).ignoreChanges, ["userData", "sshKeys"]);
    t.is(opts(s.name).replaceOnChanges, undefined);
  }
  const primaryIp = inputs<Record<string, unknown>>(ofType("hcloud:index/primaryIp:PrimaryIp")[0]);
  t.like(primaryIp, { autoDelete: false, type: "ipv4" });
  // the official provider warns that assigneeType is only required together with assigneeId
  t.false("assigneeType" in primaryIp, "no assigneeType without assigneeId");
  // the DHIS2 encryption passwords are no resource a destroy could delete: they live in the stack
  // file (dhis2:generated), which npm run secrets never overwrites
  t.false(recorded.some((r) => r.name.startsWith("ho-") && /encryption-password/.test(r.name)));
});

test.serial("hcloud vm: roles converged over SSH, the proxy's public address directly, every other server through it", async (t) => {
  const { mine, d } = await deploy("hs", stack("hcloud", "vm"));
  const conn = (name: string) => plain<{ host: string; user: string; proxy?: { host: string } }>(mine.find((r) => r.name === name)!.inputs.connection);
  t.like(conn("hs-proxy-setup"), { host: MOCK_PUBLIC_IPV4.hcloud, user: "dhis2admin" });
  t.is(conn("hs-proxy-setup").proxy, undefined);
  t.like(conn("hs-database-setup"), { host: "10.231.20.20", proxy: { host: MOCK_PUBLIC_IPV4.hcloud } });
  t.like(conn("hs-staging-start"), { host: "10.231.20.12", proxy: { host: MOCK_PUBLIC_IPV4.hcloud } });
  for (const r of mine.filter((x) => x.type === "command:remote:Command")) t.true(isSecret(r.inputs.connection), r.name);
  const volumeStep = mine.find((r) => r.name === "hs-database-data-volume")!;
  t.regex(String(volumeStep.inputs.stdin), /\/dev\/disk\/by-id\/scsi-0HC_Volume_\d+/);
  t.regex(String(volumeStep.inputs.stdin), /\/var\/lib\/postgresql ext4 defaults,nofail/);
  t.is(await valueOf(d.publicAddress), MOCK_PUBLIC_IPV4.hcloud);
  const proxyNft = mine.find((r) => r.name === "hs-proxy-file-etc-nftables.conf")!;
  t.regex(String(proxyNft.inputs.stdin), /ip saddr 10\.231\.20\.0\/24 ip daddr != 10\.231\.20\.0\/24 masquerade/);
  t.notRegex(String(mine.find((r) => r.name === "hs-database-file-etc-nftables.conf")!.inputs.stdin), /masquerade/);
});

test.serial("hcloud lxd: one server and its volume; LXD set up over SSH; the containers made and reached with lxc on it", async (t) => {
  const { ofType, mine } = await deploy("hl", stack("hcloud", "lxd"));
  t.is(ofType("hcloud:index/server:Server").length, 1);
  t.is(ofType("hcloud:index/networkRoute:NetworkRoute").length, 0);
  const lxdSetup = mine.find((r) => r.name === "hl-lxd-setup")!;
  t.regex(String(lxdSetup.inputs.create), /^sudo env DHIS2_CACHE_DIR='\/var\/cache\/dhis2-toolkit' \/bin\/sh -c/);
  t.regex(String(lxdSetup.inputs.stdin), /The LXD server set-up/);
  const container = mine.find((r) => r.name === "hl-lxd-database-container")!;
  t.is(container.type, "command:remote:Command");
  t.regex(String(container.inputs.stdin), /lxc init dhis2-role-[0-9a-f]{12} "\$name" --profile dhis2/);
  const inDb = mine.find((r) => r.name === "hl-database-setup")!;
  t.regex(String(inDb.inputs.create), /^sudo \/bin\/sh -c 'lxc exec '\\''dhis2-ke-prod-database'\\''/);
  t.like(plain<{ host: string }>(inDb.inputs.connection), { host: MOCK_PUBLIC_IPV4.hcloud });
  t.regex(String(mine.find((r) => r.name === "hl-host-data-volume")!.inputs.stdin), /\/var\/lib\/lxd ext4/);
  t.regex(String(mine.find((r) => r.name === "hl-host-file-etc-nftables.conf")!.inputs.stdin), /tcp dport 443 accept/);
});

// -------------------------------------------------------------------------------- aws, mocks

test.serial("aws vm: VPC, public and private subnets, internet and NAT gateways, an instance and security group per role, encrypted gp3 volume", async (t) => {
  const { ofType } = await deploy("av", stack("aws", "vm"));
  t.like(inputs(ofType("aws:ec2/vpc:Vpc")[0]), { cidrBlock: "10.231.20.0/24" });
  t.deepEqual(ofType("aws:ec2/subnet:Subnet").map((s) => inputs<{ cidrBlock: string }>(s).cidrBlock).sort(), ["10.231.20.0/25", "10.231.20.128/25"]);
  t.is(ofType("aws:ec2/internetGateway:InternetGateway").length, 1);
  t.is(ofType("aws:ec2/natGateway:NatGateway").length, 1);
  const instances = ofType("aws:ec2/instance:Instance");
  t.is(instances.length, 5);
  for (const i of instances) {
    const x = inputs<{ ami: string; userDataReplaceOnChange: boolean; rootBlockDevice: { encrypted: boolean; volumeType: string }; metadataOptions: { httpTokens: string }; associatePublicIpAddress?: boolean }>(i);
    t.is(x.ami, MOCK_AMI);
    t.false(x.userDataReplaceOnChange);
    t.like(x.rootBlockDevice, { encrypted: true, volumeType: "gp3" });
    t.is(x.metadataOptions.httpTokens, "required");
    t.is(x.associatePublicIpAddress, undefined);
  }
  const ebs = ofType("aws:ebs/volume:Volume").map((v) => inputs<{ size: number }>(v));
  t.deepEqual(ebs.map((v) => v.size).sort((a, b) => b - a), [200, 50, 50], "the database's data and each instance's file store");
  for (const v of ebs) t.like(v, { type: "gp3", encrypted: true, availabilityZone: "eu-west-1a" });
  t.like(inputs(ofType("aws:ec2/volumeAttachment:VolumeAttachment")[0]), { deviceName: "/dev/sdf" });
  t.is(ofType("aws:ec2/eip:Eip").length, 2, "the proxy's address and the NAT gateway's");
  t.is(ofType("aws:ec2/securityGroup:SecurityGroup").length, 5);
});

test.serial("aws security groups: one ingress rule resource per source; 0.0.0.0/0 and ::/0 only on the proxy's 80/443; SSH from the admin CIDR to the proxy only", async (t) => {
  const { ofType } = await deploy("ar", stack("aws", "vm"));
  const rules = ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").map((r) => ({ name: r.name, ...inputs<{ fromPort: number; toPort: number; cidrIpv4?: string; cidrIpv6?: string; referencedSecurityGroupId?: string; securityGroupId: string }>(r) }));
  const open = rules.filter((r) => r.cidrIpv4 === "0.0.0.0/0" || r.cidrIpv6 === "::/0");
  t.deepEqual(open.map((r) => `${r.name.split("-in-")[0]} ${r.fromPort} ${r.cidrIpv4 ?? r.cidrIpv6}`).sort(), ["ar-aws-proxy 443 0.0.0.0/0", "ar-aws-proxy 443 ::/0", "ar-aws-proxy 80 0.0.0.0/0", "ar-aws-proxy 80 ::/0"]);
  const ssh = rules.filter((r) => r.fromPort === 22);
  t.deepEqual(ssh.filter((r) => r.cidrIpv4).map((r) => `${r.name.split("-in-")[0]} ${r.cidrIpv4}`), ["ar-aws-proxy 196.12.4.0/24"]);
  t.true(ssh.filter((r) => !r.cidrIpv4).every((r) => r.referencedSecurityGroupId === "ar-aws-proxy-sg-id"), "SSH to the others only from the proxy's group");
  const db = rules.filter((r) => r.securityGroupId === "ar-aws-database-sg-id" && r.fromPort === 5432);
  t.deepEqual(db.map((r) => r.referencedSecurityGroupId).sort(), ["ar-aws-production-sg-id", "ar-aws-staging-sg-id"]);
  for (const r of rules) t.is(r.fromPort, r.toPort);
  t.is(ofType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").length, 5);
});

test.serial("aws: the data volume protected and retained, the Elastic IP protected; instances ignore user-data, AMI and key changes", async (t) => {
  const { opts, ofType } = await deploy("ao", stack("aws", "vm"));
  t.like(opts("ao-aws-dhis2-ke-prod-pgdata"), { protect: true, retainOnDelete: true });
  t.like(opts("ao-aws-proxy-ip"), { protect: true });
  for (const i of ofType("aws:ec2/instance:Instance")) t.deepEqual(opts(i.name).ignoreChanges, ["userData", "ami", "keyName"]);
  t.true(inputs<{ disableApiTermination: boolean }>(ofType("aws:ec2/instance:Instance").find((i) => i.name === "ao-aws-database")).disableApiTermination);
});

test.serial("aws vm: the database's data volume mounted by its NVMe id before PostgreSQL is installed; outputs", async (t) => {
  const { mine, d } = await deploy("am", stack("aws", "vm"));
  const step = mine.find((r) => r.name === "am-database-data-volume")!;
  t.regex(String(step.inputs.stdin), /nvme-Amazon_Elastic_Block_Store_amawsdhis2keprodpgdataid /);
  t.is(await valueOf(d.publicAddress), MOCK_PUBLIC_IPV4.aws);
  t.deepEqual(await valueOf(d.urls), { production: "https://dhis2.example.org", staging: "https://dhis2.example.org/staging" });
  t.like(await valueOf(d.machines), { database: "c6a.8xlarge 10.231.20.148", proxy: "t3.medium 10.231.20.10" });
  t.like(plain<{ host: string; proxy: { host: string } }>(mine.find((r) => r.name === "am-database-setup")!.inputs.connection), { host: "10.231.20.148", proxy: { host: MOCK_PUBLIC_IPV4.aws } });
});

test.serial("aws lxd: one instance in the public subnet with its Elastic IP; no private subnet or NAT gateway", async (t) => {
  const { ofType } = await deploy("al", stack("aws", "lxd"));
  t.is(ofType("aws:ec2/instance:Instance").length, 1);
  t.is(ofType("aws:ec2/subnet:Subnet").length, 1);
  t.is(ofType("aws:ec2/natGateway:NatGateway").length, 0);
  t.like(inputs(ofType("aws:ec2/instance:Instance")[0]), { privateIp: "10.231.21.10", instanceType: "c6a.8xlarge" });
  t.is(ofType("aws:ec2/eip:Eip").length, 1);
});

test.serial("existing lxd: one server over SSH runs LXD; its host key pinned", async (t) => {
  const hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHJ0d3Bvb2xleGFtcGxla2V5Zm9yZG9jc29ubHkx";
  const raw = { ...stack("hcloud", "lxd"), platform: "existing", servers: { host: { address: "196.12.4.20", hostKey } } };
  const { mine } = await deploy("el", raw);
  t.is(mine.filter((r) => r.type.startsWith("hcloud:") || r.type.startsWith("aws:")).length, 0);
  const c = plain<{ host: string; hostKey: string }>(mine.find((r) => r.name === "el-lxd-setup")!.inputs.connection);
  t.like(c, { host: "196.12.4.20", hostKey });
  t.truthy(mine.find((r) => r.name === "el-lxd-proxy-container"));
});
