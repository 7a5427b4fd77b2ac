/**
 * cloud-init user-data for a server the toolkit creates (hcloud, aws): bootstrap only (the admin
 * user and its keys, hardened SSH, security updates). Everything else is converged over SSH like
 * on every other platform.
 */
import type { Plan } from "../plan";
import { renderTemplate } from "./engine";

export function cloudInitUserData(plan: Plan, hostname: string, bastion?: string): string {
  const { config } = plan;
  return renderTemplate("cloud-init/user-data.hbs", {
    stack: config.stack, hostname, domain: config.domain, adminUser: config.admin.user, sshKeys: config.admin.sshKeys, bastion: bastion ?? false,
  });
}

/**
 * The user-data of a host, if the toolkit creates its server (hcloud, aws): every server in vm
 * isolation, only the LXD server in lxd isolation. Servers without a public address get the proxy
 * as their SSH bastion.
 */
export function userDataFor(plan: Plan, host: { readonly role: string; readonly hostname: string }): string | undefined {
  const { config, topology } = plan;
  if (config.platform !== "hcloud" && config.platform !== "aws") return undefined;
  const isServer = config.isolation === "vm" || host.role === "lxd-host";
  if (!isServer) return undefined;
  const reachedDirectly = host.role === "proxy" || host.role === "lxd-host";
  return cloudInitUserData(plan, host.hostname, reachedDirectly ? undefined : topology.proxy.address);
}
