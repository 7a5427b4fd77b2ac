/**
 * Isolation lxd on a server of its own (existing, hcloud, aws): the server's own set-up and
 * firewall first (role lxd-host), then LXD on it (templates/lxd-host/ over SSH), then every role in
 * a container on it, exactly as on this machine (LxdPlatform with the server as LXD host).
 */
import * as pulumi from "@pulumi/pulumi";
import type { Plan } from "../../lib/plan";
import type { HostPlan } from "../../lib/render/hosts";
import { lxdServerSetupScript } from "../../lib/render/lxd";
import { ConvergedHost, RUN_SCRIPT } from "../converged-host";
import type { Platform } from ".";
import { LxdPlatform } from "./lxd";

/** The LXD containers of a plan on the one server a server platform gives (its host "host"). */
export function onLxdServer(name: string, plan: Plan, hostPlans: readonly HostPlan[], servers: Platform, parent: pulumi.ComponentResource): Platform {
  const hostPlan = hostPlans.find((h) => h.role === "lxd-host");
  if (!hostPlan) throw new pulumi.ResourceError("isolation lxd on servers: no LXD server in the rendered hosts", parent);
  const child = { parent };
  const server = servers.hosts.host;
  if (!server) throw new pulumi.ResourceError("isolation lxd: the platform gives no LXD server (host)", parent);
  const machine = servers.machines.host;
  const host = new ConvergedHost(`${name}-host`, {
    host: server,
    plan: hostPlan,
    // the LXD server's files hold no secret
    fillSecrets: (text) => pulumi.secret(text),
    bootstrap: servers.bootstrap.host ?? [],
    dependsOn: machine ? [machine] : [],
  }, child);
  const lxd = server.command(`${name}-lxd-setup`, {
    create: RUN_SCRIPT,
    stdin: lxdServerSetupScript(),
    environment: { DHIS2_CACHE_DIR: "/var/cache/dhis2-toolkit" },
  }, { ...child, dependsOn: [host.ready] });
  const containers = new LxdPlatform(`${name}-lxd`, { plan, hosts: hostPlans, lxdHost: server, dependsOn: [lxd], cacheDir: "/var/cache/dhis2-toolkit" }, child);
  return { hosts: containers.hosts, machines: containers.machines, bootstrap: {}, where: containers.where, publicAddress: servers.publicAddress };
}
