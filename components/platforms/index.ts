/**
 * Platforms: where the hosts of a deployment come from. Every platform gives the deployment the
 * same things (Platform); the registry below picks one by `dhis2:platform`, and in isolation lxd on
 * servers (existing, hcloud, aws) puts the LXD containers on the one server it gives.
 *
 * Adding a platform: its component in this folder implementing Platform, its rules in
 * lib/config/platforms.ts, and a line in SERVER_PLATFORMS (or, like local, in createPlatform).
 */
import * as pulumi from "@pulumi/pulumi";
import type { Platform as PlatformName } from "../../lib/config/model";
import type { Plan } from "../../lib/plan";
import { planCloud, type CloudPlan } from "../../lib/platform/cloud";
import type { HostPlan } from "../../lib/render/hosts";
import type { HostStep } from "../converged-host";
import type { Host } from "../host";
import type * as CloudPlatforms from "./cloud";
import { ExistingPlatform } from "./existing";
import { LxdPlatform } from "./lxd";
import { onLxdServer } from "./lxd-server";

/** What every platform gives the deployment. */
export interface Platform {
  /** How to reach each host: by node name (proxy, database, monitor, instance names), or "host" for an LXD server. */
  readonly hosts: Readonly<Record<string, Host>>;
  /** What must exist before anything runs on a host (its container, server, volume attachment). */
  readonly machines: Readonly<Record<string, pulumi.Resource | undefined>>;
  /** Steps before a host's set-up (mounting its data volume). */
  readonly bootstrap: Readonly<Record<string, readonly HostStep[]>>;
  /** Where each node runs, as the stack's `machines` output shows it. */
  readonly where: pulumi.Output<Record<string, string>>;
  /** The public IPv4 to point the DNS names at (clouds); empty elsewhere. */
  readonly publicAddress: pulumi.Output<string>;
  /** The node every other one is reached through, when there is one. */
  readonly bastion?: string;
}

export interface PlatformArgs {
  readonly plan: Plan;
  /** Every host's rendered plan (the LXD server's set-up among them). */
  readonly hosts: readonly HostPlan[];
  /** The private key matching one of admin.sshKeys (a secret), for the platforms that use SSH. */
  readonly privateKey?: pulumi.Input<string>;
  /** hcloud, aws: the cloud plan (lib/platform/cloud.ts). Default: planned from `plan`. */
  readonly cloud?: CloudPlan;
}

/**
 * The cloud platforms, loaded only when a stack uses one: @pulumi/aws and @pulumi/hcloud take many
 * seconds to load, which every preview and up of a local or existing stack would otherwise pay.
 */
function clouds(): typeof CloudPlatforms {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require("./cloud") as typeof CloudPlatforms;
}

function cloudOf(args: PlatformArgs): CloudPlan {
  const cloud = args.cloud ?? planCloud(args.plan).cloud;
  if (!cloud) throw new Error(`no cloud plan for platform ${args.plan.config.platform}`);
  return cloud;
}

type ServerPlatformName = Exclude<PlatformName, "local">;

/** The platforms whose servers are reached over SSH: a server per role, or the one LXD server. */
const SERVER_PLATFORMS: Readonly<Record<ServerPlatformName, (name: string, args: PlatformArgs & { privateKey: pulumi.Input<string> }, opts: pulumi.ComponentResourceOptions) => Platform>> = {
  existing: (name, args, opts) => new ExistingPlatform(`${name}-servers`, { plan: args.plan, privateKey: args.privateKey }, opts),
  hcloud: (name, args, opts) => new (clouds().HcloudPlatform)(`${name}-hcloud`, { plan: args.plan, cloud: cloudOf(args), privateKey: args.privateKey }, opts),
  aws: (name, args, opts) => new (clouds().AwsPlatform)(`${name}-aws`, { plan: args.plan, cloud: cloudOf(args), privateKey: args.privateKey }, opts),
};

/** The platform of a plan, its resources children of `parent`. */
export function createPlatform(name: string, args: PlatformArgs, parent: pulumi.ComponentResource): Platform {
  const { config } = args.plan;
  if (config.platform === "local") return new LxdPlatform(`${name}-lxd`, { plan: args.plan, hosts: args.hosts }, { parent });
  if (args.privateKey === undefined) {
    throw new pulumi.ResourceError("dhis2:admin.privateKey: is required to reach the servers over SSH", parent);
  }
  const servers = SERVER_PLATFORMS[config.platform](name, { ...args, privateKey: args.privateKey }, { parent });
  if (config.isolation === "vm") return servers;
  return onLxdServer(name, args.plan, args.hosts, servers, parent);
}
