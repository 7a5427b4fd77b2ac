/**
 * Platform `local` (and the containers of isolation lxd on any server): every role in an LXD
 * container (dhis2-server-tools' layout), reached with `lxc exec`.
 *
 * - Each data volume of a role (PostgreSQL's data) is an LXD storage volume of its own, protected
 *   and kept when the stack is destroyed: `pulumi destroy --exclude-protected` removes the
 *   containers and leaves the data; a later `pulumi up` takes the volume over again.
 * - A container's limits and address change in place (`lxc config set`); only another image
 *   replaces a container.
 * - Ports 80 and 443 of the LXD host reach the proxy container (LXD proxy devices); nothing else
 *   of the containers is reachable from outside the bridge.
 *
 * Needs the LXD set-up of the LXD server set-up (templates/lxd-host/: bridge, pool, profile, image); on this machine `npm start` runs it (scripts/lxd-host.sh).
 */
import * as pulumi from "@pulumi/pulumi";
import type { Plan } from "../../lib/plan";
import type { HostPlan } from "../../lib/render/hosts";
import * as path from "node:path";
import { lxdContainers, lxdDataVolumes, lxdImagesScript, lxdNetwork, lxdRoleImages, lxdSystems, LXD } from "../../lib/render/lxd";
import { shellQuote } from "../../lib/render/shell";
import { RUN_SCRIPT, type HostStep } from "../converged-host";
import { LocalHost, LxdContainerHost, type Host } from "../host";
import { FORMER, TOKENS, withFormerToken } from "../tokens";
import type { Platform } from ".";

export interface LxdPlatformArgs {
  /** The deployment plan (isolation lxd). */
  readonly plan: Plan;
  /** Every host's rendered plan: the containers' package images follow their package lists. */
  readonly hosts: readonly HostPlan[];
  /** The machine running LXD. Default: this machine (platform local). */
  readonly lxdHost?: Host;
  /** What must be ready on the LXD host first (its LXD set-up). Default: nothing. */
  readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
  /** Where the LXD host caches the images it builds. Default: the project's .cache (this machine). */
  readonly cacheDir?: string;
}

/** The roles as LXD containers on one machine: this one (platform local) or a server reached over SSH. */
export class LxdPlatform extends pulumi.ComponentResource implements Platform {
  public readonly hosts: Readonly<Record<string, Host>>;
  /** The container of each node: what must exist before anything runs in it. */
  public readonly machines: Readonly<Record<string, pulumi.Resource>>;
  public readonly bootstrap: Readonly<Record<string, readonly HostStep[]>> = {};
  /** Container names by node. */
  public readonly where: pulumi.Output<Record<string, string>>;
  public readonly publicAddress: pulumi.Output<string> = pulumi.output("");
  /** The data volumes (pool/name). */
  public readonly dataVolumes: pulumi.Output<string[]>;

  constructor(name: string, args: LxdPlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    super(TOKENS.platform.lxd, name, {}, withFormerToken(opts, FORMER.platform.lxd));
    const { plan } = args;
    if (plan.config.isolation !== "lxd") throw new pulumi.ResourceError(`LxdPlatform needs isolation lxd, not ${plan.config.isolation}`, this);
    const lxdHost = args.lxdHost ?? new LocalHost("lxd-host");
    // the stack's own network: made first, removed after the containers (when nothing else uses it)
    const net = lxdNetwork(plan);
    const network = lxdHost.command(`${name}-network`, { create: RUN_SCRIPT, stdin: net.script, delete: `bash -c ${shellQuote(net.deleteScript)}` }, { parent: this, dependsOn: args.dependsOn });
    const volumes = lxdDataVolumes(plan).map((v) => ({
      ...v,
      resource: lxdHost.command(`${name}-${v.key}-volume`, { create: RUN_SCRIPT, stdin: v.script }, {
        parent: this,
        dependsOn: args.dependsOn,
        // the data outlives the stack: never deleted by pulumi, even after `pulumi state unprotect`
        protect: true,
        retainOnDelete: true,
      }),
    }));
    // the image of each system the containers run (built once per LXD host and cached)
    const cacheDir = args.cacheDir ?? path.resolve(".cache");
    const systems = lxdSystems(plan).map((os) => lxdHost.command(`${name}-system-${os}`, {
      create: RUN_SCRIPT, stdin: lxdImagesScript(), environment: { DHIS2_CACHE_DIR: cacheDir, DHIS2_LXD_OS: os },
    }, { parent: this, dependsOn: args.dependsOn }));
    // each container starts from a package image of its role (made once per LXD host, shared by stacks)
    const roleImages = lxdRoleImages(plan, args.hosts);
    const images = Object.fromEntries(roleImages.map((i) => [i.node, lxdHost.command(`${name}-${i.node}-image`, { create: RUN_SCRIPT, stdin: i.script }, { parent: this, dependsOn: [network, ...systems] })]));
    const hosts: Record<string, Host> = {};
    const machines: Record<string, pulumi.Resource> = {};
    const names: Record<string, string> = {};
    for (const c of lxdContainers(plan, roleImages)) {
      const mine = [...(images[c.node] ? [images[c.node]!] : systems), ...volumes.filter((v) => v.node === c.node).map((v) => v.resource)];
      machines[c.node] = lxdHost.command(`${name}-${c.node}-container`, {
        create: RUN_SCRIPT,
        stdin: c.script,
        // a container is replaced only when its system changes
        triggers: [c.base, c.name],
        delete: `lxc delete --force ${shellQuote(c.name)}`,
      }, {
        parent: this,
        dependsOn: [network, ...mine],
        replaceOnChanges: ["triggers"],
        deleteBeforeReplace: true,
      });
      hosts[c.node] = new LxdContainerHost(c.node, c.name, lxdHost);
      names[c.node] = c.name;
    }
    this.hosts = hosts;
    this.machines = machines;
    this.where = pulumi.output(names);
    this.dataVolumes = pulumi.all(volumes.map((v) => v.resource.stdout.apply(() => `${LXD.pool}/${v.volume}`)));
    this.registerOutputs({ containers: this.where, dataVolumes: this.dataVolumes });
  }
}
