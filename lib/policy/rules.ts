/**
 * The rules of the policy pack (policy/), as pure functions: each looks at one resource as the
 * Pulumi engine shows it to a policy (type, logical name, input properties, protect flag) or at
 * the stack's configuration, and returns what is wrong (empty when nothing is). lib/policy/pack.ts
 * turns them into @pulumi/policy policies; tests/policy.test.ts runs them on what the components
 * create for every example stack, and on stacks and resources that break each rule.
 *
 * They guard what validation and the components already do (a second, independent check that a
 * code change or a hand-edited resource cannot slip past): nothing but the proxy's 80/443 open to
 * the internet, SSH only from the admin networks, no public address on the database or the
 * instances, data volumes protected, no self-signed certificate outside a test stack, no secret in
 * plain text in the stack file.
 */
import * as ipaddr from "ipaddr.js";
import * as YAML from "yaml";

/** A resource as a policy sees it. */
export interface ResourceView {
  readonly type: string;
  /** Logical name, e.g. dhis2-hcloud-proxy-firewall. */
  readonly name: string;
  readonly props: Readonly<Record<string, unknown>>;
  readonly protect: boolean;
}

/** What the rules need of the stack's configuration. */
export interface StackFacts {
  /** dhis2:admin.allowedCidrs. */
  readonly adminCidrs: readonly string[];
  readonly tlsMode: string;
  /** dhis2:testStack. */
  readonly testStack: boolean;
}

const WORLD = new Set(["0.0.0.0/0", "::/0"]);
const PUBLIC_PORTS = new Set([80, 443]);
const SSH = 22;
/** The nodes that face the internet: the proxy, or in lxd isolation the server that runs its container. */
const FACING = "(proxy|host)";

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === "number" ? v : typeof v === "string" && /^\d+$/.test(v) ? Number(v) : undefined);

/** One ingress rule, whatever the cloud calls it. */
interface Ingress {
  readonly where: string;
  readonly fromPort?: number;
  readonly toPort?: number;
  readonly sources: readonly string[];
  /** The rule belongs to the internet-facing node. */
  readonly facing: boolean;
}

function ingressRules(r: ResourceView): Ingress[] {
  if (r.type === "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") {
    const sources = [str(r.props.cidrIpv4), str(r.props.cidrIpv6)].filter((x): x is string => Boolean(x));
    return [{ where: r.name, fromPort: num(r.props.fromPort), toPort: num(r.props.toPort), sources, facing: new RegExp(`-${FACING}-in-\\d+-\\d+$`).test(r.name) }];
  }
  if (r.type === "hcloud:index/firewall:Firewall") {
    const rules = Array.isArray(r.props.rules) ? (r.props.rules as Record<string, unknown>[]) : [];
    return rules.filter((x) => x.direction !== "out").map((x, i) => {
      const port = str(x.port) ?? "";
      const [from, to] = port.includes("-") ? port.split("-").map(Number) : [Number(port), Number(port)];
      const sources = Array.isArray(x.sourceIps) ? (x.sourceIps as unknown[]).filter((s): s is string => typeof s === "string") : [];
      return { where: `${r.name} rule ${i} (port ${port || "any"})`, fromPort: Number.isFinite(from) ? from : undefined, toPort: Number.isFinite(to) ? to : undefined, sources, facing: new RegExp(`-${FACING}-firewall$`).test(r.name) };
    });
  }
  return [];
}

const covers = (x: Ingress, port: number) => x.fromPort === undefined || x.toPort === undefined || (x.fromPort <= port && port <= x.toPort);

/** Nothing but the proxy's 80 and 443 is open to the whole internet. */
export function internetIngress(r: ResourceView): string[] {
  return ingressRules(r).flatMap((x) => {
    if (!x.sources.some((s) => WORLD.has(s))) return [];
    const single = x.fromPort !== undefined && x.fromPort === x.toPort && PUBLIC_PORTS.has(x.fromPort);
    if (x.facing && single) return [];
    return [`${x.where}: open to the whole internet (${x.sources.filter((s) => WORLD.has(s)).join(", ")}) on ${x.fromPort === x.toPort ? `port ${x.fromPort ?? "any"}` : `ports ${x.fromPort}-${x.toPort}`}; only the proxy's 80 and 443 may be`];
  });
}

function within(source: string, cidrs: readonly string[]): boolean {
  try {
    const [addr, bits] = ipaddr.parseCIDR(source.includes("/") ? source : `${source}/${source.includes(":") ? 128 : 32}`);
    return cidrs.some((c) => {
      try {
        const range = ipaddr.parseCIDR(c);
        return addr.kind() === range[0].kind() && bits >= range[1] && addr.match(range);
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

/** SSH only from the admin networks (dhis2:admin.allowedCidrs); between servers by security group. */
export function sshIngress(r: ResourceView, facts: Pick<StackFacts, "adminCidrs">): string[] {
  return ingressRules(r).filter((x) => covers(x, SSH)).flatMap((x) => {
    const outside = x.sources.filter((s) => !within(s, facts.adminCidrs));
    return outside.length ? [`${x.where}: SSH from ${outside.join(", ")}, outside dhis2:admin.allowedCidrs (${facts.adminCidrs.join(", ") || "none"})`] : [];
  });
}

/** No public address on the database, the monitor or the instances. */
export function publicAddress(r: ResourceView): string[] {
  const facing = (suffix: string) => new RegExp(`-${FACING}${suffix}$`).test(r.name);
  if (r.type === "hcloud:index/server:Server") {
    const nets = Array.isArray(r.props.publicNets) ? (r.props.publicNets as Record<string, unknown>[]) : [{ ipv4Enabled: true, ipv6Enabled: true }];
    const open = nets.some((n) => n.ipv4Enabled !== false || n.ipv6Enabled !== false);
    return open && !facing("") ? [`${r.name}: a public address (publicNets); only the proxy may have one`] : [];
  }
  if (r.type === "hcloud:index/primaryIp:PrimaryIp") return facing("-ipv4") ? [] : [`${r.name}: a public IP for a server other than the proxy`];
  if (r.type === "aws:ec2/eip:Eip" || r.type === "aws:ec2/eipAssociation:EipAssociation") {
    return facing("-ip") || /-nat-ip$/.test(r.name) ? [] : [`${r.name}: an Elastic IP for a server other than the proxy (or the NAT gateway)`];
  }
  if (r.type === "aws:ec2/instance:Instance" && r.props.associatePublicIpAddress === true && !facing("")) {
    return [`${r.name}: associatePublicIpAddress on a server other than the proxy`];
  }
  return [];
}

/** The data volumes (PostgreSQL's data, the DHIS2 file store) cannot be deleted by pulumi. */
export function dataVolumes(r: ResourceView): string[] {
  // an LXD storage volume is made by a command whose script creates it (templates/lxd/volume.sh.hbs)
  const script = [r.props.stdin, r.props.create].filter((x): x is string => typeof x === "string").join("\n");
  const lxdVolume = r.type.startsWith("command:") && /lxc storage volume create /.test(script);
  const cloudVolume = r.type === "hcloud:index/volume:Volume" || r.type === "aws:ebs/volume:Volume";
  if (!lxdVolume && !cloudVolume) return [];
  const out: string[] = [];
  if (!r.protect) out.push(`${r.name}: a data volume without protect: a pulumi destroy or a replacement could delete it`);
  if (r.type === "hcloud:index/volume:Volume" && r.props.deleteProtection !== true) out.push(`${r.name}: a Hetzner volume without deleteProtection`);
  return out;
}

/** A self-signed certificate only on a stack marked as a test stack. */
export function selfSigned(facts: Pick<StackFacts, "tlsMode" | "testStack">): string[] {
  return facts.tlsMode === "self-signed" && !facts.testStack
    ? ["dhis2:tls.mode is self-signed on a stack not marked as a test stack: browsers warn every user. Use letsencrypt or provided, or set dhis2:testStack: true for a test, training or demonstration stack"]
    : [];
}

/** Stack keys that hold secrets: they must be encrypted in the stack file (`secure:`). */
const SECRET_KEYS: readonly (readonly string[])[] = [
  ["hcloud:token"], ["aws:secretKey"], ["aws:token"],
  ["dhis2:admin", "privateKey"], ["dhis2:alerts", "smtp", "password"], ["dhis2:backup", "offsite", "secretAccessKey"],
];

/** Secrets in plain text in a stack file's text: each names its key and the command that encrypts it. */
export function plaintextSecrets(stackFileText: string): string[] {
  const doc = YAML.parse(stackFileText) as { config?: Record<string, unknown> } | null;
  const config = doc?.config ?? {};
  const at = (p: readonly string[]): unknown => p.slice(1).reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined), config[p[0]!]);
  const paths: string[][] = SECRET_KEYS.map((p) => [...p]);
  const generated = config["dhis2:generated"];
  if (generated && typeof generated === "object") for (const k of Object.keys(generated)) paths.push(["dhis2:generated", k]);
  return paths.filter((p) => typeof at(p) === "string").map((p) => {
    const key = p.length > 1 ? `${p[0]}.${p.slice(1).join(".")}` : p[0]!;
    return `${key} is in plain text in the stack file: pulumi config set --secret${p.length > 1 ? " --path" : ""} ${key} (the value on stdin)`;
  });
}
