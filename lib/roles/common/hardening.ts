/**
 * Host hardening every node gets (judged by lynis in the end-to-end run, docs/security.md): the
 * network sysctls of a host that routes nothing (redirects, source routes, martians, reverse
 * path filter), the kernel's (servers only: a container shares its host's kernel), no core
 * dumps, an idle shell logout, a legal banner, no USB storage, FireWire or rarely used network
 * protocols, password rules for any account that gets a password later, per-user temporary
 * directories, and debsums to check installed files against their packages.
 * Templates: templates/common/.
 */
import type { Plan } from "../../plan";
import { file, type RenderedFile } from "../../render/file";
import { PATHS } from "../../render/paths";
import { renderTemplate } from "../../render/engine";
import type { HostNode } from "../types";
import { isSshServer } from "./ssh";

/** Packages of the hardening: per-user TMPDIR (pam_tmpdir), password quality (pam_pwquality), debsums. */
export const HARDENING_PACKAGES = ["libpam-tmpdir", "libpam-pwquality", "debsums"] as const;

/** Idle interactive shells end after this many seconds (TMOUT). */
export const SHELL_TIMEOUT_SECONDS = 900;

/** Whether the node routes for others: the LXD server forwards its containers' traffic. */
function routes(node: HostNode): boolean {
  return node.role === "lxd-host";
}

export function hardeningFiles(plan: Plan, node: HostNode): RenderedFile[] {
  const stack = plan.config.stack;
  const out = [
    file(PATHS.sysctlNetwork, renderTemplate("common/sysctl-network.conf.hbs", { stack, routes: routes(node) }), "0644", "root", "root",
      `sysctl -q -p ${PATHS.sysctlNetwork}`),
    file(PATHS.coredump, renderTemplate("common/coredump.conf.hbs", { stack }), "0644", "root", "root"),
    file(PATHS.coreLimits, renderTemplate("common/limits.conf.hbs", { stack }), "0644", "root", "root"),
    file(PATHS.shellProfile, renderTemplate("common/profile-hardening.sh.hbs", { stack, timeout: SHELL_TIMEOUT_SECONDS }), "0644", "root", "root"),
    file(PATHS.modprobeBlacklist, renderTemplate("common/modprobe-blacklist.conf.hbs", { stack }), "0644", "root", "root"),
    file("/etc/issue", renderTemplate("common/issue.hbs", { stack, domain: plan.config.domain }), "0644", "root", "root"),
    file("/etc/issue.net", renderTemplate("common/issue.hbs", { stack, domain: plan.config.domain }), "0644", "root", "root"),
  ];
  // the kernel's own settings where the node has a kernel of its own (a server, not a container);
  // a server that is itself a container (as in the end-to-end test) keeps its host's values
  if (isSshServer(plan, node)) {
    out.push(file(PATHS.sysctlKernel, renderTemplate("common/sysctl-kernel.conf.hbs", { stack }), "0644", "root", "root",
      `sysctl -q -p ${PATHS.sysctlKernel} || echo "$(hostname): some kernel settings of ${PATHS.sysctlKernel} were not applied (in a container the host kernel decides)" >&2`));
  }
  return out;
}

/** Its part of the set-up script: password ageing and hashing rounds in /etc/login.defs. */
export function hardeningSetup(plan: Plan): string {
  return renderTemplate("common/hardening-setup.sh.hbs", { stack: plan.config.stack });
}
