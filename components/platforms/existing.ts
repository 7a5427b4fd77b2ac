/**
 * Platform `existing`: servers a data centre hands over (seed 002). Isolation `lxd`: the one
 * server (`servers.host`) that runs the containers, reached directly. Isolation `vm`: one per role,
 * reached over SSH as the admin user with sudo. The proxy is the bastion: the toolkit connects to
 * it directly (`servers.proxy.address`) and to every other server through it, which is what the
 * host firewalls allow (admin networks → proxy:22, proxy → the others:22). Host keys are pinned
 * when the stack gives them (`servers.<role>.hostKey`).
 *
 * Nothing is created or deleted on the servers by this component itself: it only says how to
 * reach them; the roles are converged on them like everywhere else.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ServerInput } from "../../lib/config/schema";
import type { Plan } from "../../lib/plan";
import { allNodes } from "../../lib/plan/topology";
import type { HostStep } from "../converged-host";
import { SshHost, type Host, type SshConnection } from "../host";
import { FORMER, TOKENS, withFormerToken } from "../tokens";
import type { Platform } from ".";

export interface ExistingPlatformArgs {
  /** The deployment plan (platform existing). */
  readonly plan: Plan;
  /** The private key matching one of admin.sshKeys (a secret). */
  readonly privateKey: pulumi.Input<string>;
}

export class ExistingPlatform extends pulumi.ComponentResource implements Platform {
  /** How to reach each node (vm), or the LXD server as "host" (lxd). */
  public readonly hosts: Readonly<Record<string, Host>>;
  /** Nothing to wait for: the servers exist. */
  public readonly machines: Readonly<Record<string, pulumi.Resource | undefined>> = {};
  public readonly bootstrap: Readonly<Record<string, readonly HostStep[]>> = {};
  /** user@address of each node, as the toolkit connects. */
  public readonly where: pulumi.Output<Record<string, string>>;
  public readonly publicAddress: pulumi.Output<string> = pulumi.output("");
  /** vm: every server is reached through the proxy. */
  public readonly bastion?: string;

  constructor(name: string, args: ExistingPlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    super(TOKENS.platform.existing, name, {}, withFormerToken(opts, FORMER.platform.existing));
    const { plan } = args;
    const { config } = plan;
    if (config.platform !== "existing" || !config.servers) {
      throw new pulumi.ResourceError("ExistingPlatform needs platform existing and dhis2:servers", this);
    }
    const servers = config.servers;
    const serverOf = (node: string): ServerInput | undefined =>
      node === "host" ? servers.host
        : node === "proxy" || node === "database" || node === "monitor" ? servers[node] : servers.instances?.[node];
    const key = pulumi.secret(args.privateKey);
    const connection = (node: string): Omit<SshConnection, "bastion"> => {
      const s = serverOf(node);
      if (!s) throw new pulumi.ResourceError(`dhis2:servers has no server for ${node}`, this);
      return { host: s.address, user: s.user ?? config.admin.user, port: s.port ?? 22, privateKey: key, hostKey: s.hostKey };
    };
    const hosts: Record<string, Host> = {};
    const shown: Record<string, string> = {};
    if (config.isolation === "lxd") {
      // one server running the containers: reached directly
      const c = connection("host");
      hosts.host = new SshHost("host", c);
      shown.host = `${String(c.user)}@${String(c.host)}`;
    }
    const bastion = config.isolation === "vm" ? connection("proxy") : undefined;
    for (const node of bastion ? allNodes(plan.topology) : []) {
      const c = connection(node.name);
      hosts[node.name] = new SshHost(node.name, node.name === "proxy" ? c : { ...c, bastion: bastion! });
      shown[node.name] = `${String(c.user)}@${String(c.host)}${node.name === "proxy" ? "" : ` (through ${String(bastion!.host)})`}`;
    }
    this.hosts = hosts;
    this.where = pulumi.output(shown);
    this.bastion = bastion ? "proxy" : undefined;
    this.registerOutputs({ connections: this.where });
  }
}
