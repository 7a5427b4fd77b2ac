/**
 * Platform `local`, isolation `lxd`: every role in an LXD container on this machine
 * (dhis2-server-tools' layout), reached with `lxc exec`.
 *
 * - The database's data is an LXD storage volume of its own, protected and kept when the stack is
 *   destroyed: `pulumi destroy --exclude-protected` removes the containers and leaves the data;
 *   a later `pulumi up` takes the volume over again.
 * - A container's limits and address change in place (`lxc config set`); only another image
 *   replaces a container.
 * - Ports 80 and 443 of this machine reach the proxy container (LXD proxy devices); nothing else
 *   of the containers is reachable from outside the bridge.
 *
 * Needs the LXD set-up of scripts/lxd-setup.sh (bridge, pool, profile, image); `npm start` runs it.
 */
import * as pulumi from "@pulumi/pulumi";
import type { Plan } from "../lib/plan";
import { databaseVolumeName, databaseVolumeScript, lxdContainers, LXD } from "../lib/render/lxd";
import { RUN_SCRIPT } from "./converged-host";
import { LocalHost, LxdContainerHost, shellQuote, type Host } from "./host";

export interface LxdPlatformArgs {
  /** The deployment plan (isolation lxd). */
  readonly plan: Plan;
  /** The machine running LXD. Default: this machine (platform local). */
  readonly lxdHost?: Host;
  /** What must be ready on the LXD host first (its LXD set-up). Default: nothing. */
  readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** The roles as LXD containers on one machine: this one (platform local) or a server reached over SSH. */
export class LxdPlatform extends pulumi.ComponentResource {
  /** How to reach each node (proxy, database, monitor, instance names). */
  public readonly hosts: Readonly<Record<string, Host>>;
  /** The container of each node: what must exist before anything runs in it. */
  public readonly machines: Readonly<Record<string, pulumi.Resource>>;
  /** Container names by node. */
  public readonly containers: pulumi.Output<Record<string, string>>;
  /** The database's data volume (pool/name). */
  public readonly dataVolume: pulumi.Output<string>;

  constructor(name: string, args: LxdPlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dhis2:lxd:Platform", name, {}, opts);
    const { plan } = args;
    if (plan.config.isolation !== "lxd") throw new Error(`LxdPlatform needs isolation lxd, not ${plan.config.isolation}`);
    const lxdHost = args.lxdHost ?? new LocalHost("lxd-host");
    const volumeScript = databaseVolumeScript(plan);
    const volume = lxdHost.command(`${name}-pgdata-volume`, { create: RUN_SCRIPT, stdin: volumeScript }, {
      parent: this,
      dependsOn: args.dependsOn,
      // the data outlives the stack: never deleted by pulumi, even after `pulumi state unprotect`
      protect: true,
      retainOnDelete: true,
    });
    const hosts: Record<string, Host> = {};
    const machines: Record<string, pulumi.Resource> = {};
    const names: Record<string, string> = {};
    for (const c of lxdContainers(plan)) {
      machines[c.node] = lxdHost.command(`${name}-${c.node}-container`, {
        create: RUN_SCRIPT,
        stdin: c.script,
        // a container is replaced only when its image changes
        triggers: [LXD.image, c.name],
        delete: `lxc delete --force ${shellQuote(c.name)}`,
      }, {
        parent: this,
        dependsOn: c.volumes.length ? [volume] : args.dependsOn,
        replaceOnChanges: ["triggers"],
        deleteBeforeReplace: true,
      });
      hosts[c.node] = new LxdContainerHost(c.node, c.name, lxdHost);
      names[c.node] = c.name;
    }
    this.hosts = hosts;
    this.machines = machines;
    this.containers = pulumi.output(names);
    this.dataVolume = volume.stdout.apply(() => `${LXD.pool}/${databaseVolumeName(plan.config.stack)}`);
    this.registerOutputs({ containers: this.containers, dataVolume: this.dataVolume });
  }
}
