/**
 * SSH hardening of the servers the toolkit reaches over SSH (clouds and existing servers; not
 * containers, not this machine): keys only, no root login, only the admin user. The drop-in is
 * checked by sshd itself (`sshd -t`) before ssh is reloaded, so a broken file never locks anyone
 * out. New connections are rate-limited by the host firewall (./firewall.ts).
 */
import type { Plan } from "../../plan";
import { file, type RenderedFile } from "../../render/file";
import { PATHS } from "../../render/paths";
import { renderTemplate } from "../../render/engine";
import type { HostNode } from "../types";

/** Whether the node is a server of its own, reached over SSH (not an LXD container, not the local machine). */
export function isSshServer(plan: Plan, node: HostNode): boolean {
  if (plan.config.platform === "local") return false;
  return plan.config.isolation === "vm" || node.role === "lxd-host";
}

export function sshdDropIn(plan: Plan, node: HostNode): RenderedFile {
  return file(PATHS.sshdDropIn, renderTemplate("common/sshd.conf.hbs", {
    stack: plan.config.stack, hostname: node.hostname, adminUser: plan.config.admin.user,
  }), "0644", "root", "root", "sshd -t && systemctl reload ssh");
}
