/**
 * The host firewall (nftables) of a node: the flows into it, by source; everything else arriving
 * is dropped. Rendered from templates/common/nftables.conf.hbs, also for the LXD host.
 */
import type { Plan } from "../../plan";
import { natGateway, PORTS } from "../../plan/topology";
import { renderTemplate } from "../../render/engine";
import { sourceAddress } from "../flows";
import type { Flow, HostNode } from "../types";

export interface FirewallRule {
  /** nftables match of the sources ("ip saddr { ... } "), empty for anywhere. */
  readonly match: string;
  readonly port: number;
  readonly purpose: string;
  /** Admin SSH from outside: new connections limited per source address (SSH_RATE_PER_MINUTE, SSH_BURST). */
  readonly limitNew?: boolean;
}

/** "ip saddr { a, b } " for the given addresses/CIDRs, split by family. */
export function setMatch(sources: readonly string[]): string {
  const v4 = sources.filter((s) => !s.includes(":"));
  const v6 = sources.filter((s) => s.includes(":"));
  if (v4.length && v6.length) throw new Error("a rule mixes IPv4 and IPv6 sources; split it");
  const list = v4.length ? v4 : v6;
  if (list.length === 0) return "";
  return `${v4.length ? "ip" : "ip6"} saddr { ${list.join(", ")} } `;
}

/**
 * New admin SSH connections per source address: this many per minute, after a burst of SSH_BURST.
 * Generous, because `pulumi up` opens one connection per command, and through the bastion every
 * server's commands arrive at the proxy from the same admin address; enough to make connection
 * floods and key guessing (already useless: keys only) slow and visible.
 */
export const SSH_RATE_PER_MINUTE = 120;
export const SSH_BURST = 240;

/** The rate limit statement of a rule: per source address, in the set of its family. */
function newConnectionLimit(rule: FirewallRule): string {
  const family = rule.match.startsWith("ip6 ") ? "6" : "4";
  return `ct state new add @ssh_new${family} { ip${family === "6" ? "6" : ""} saddr limit rate ${SSH_RATE_PER_MINUTE}/minute burst ${SSH_BURST} packets }`;
}

/** The firewall file's text for a host. Rules marked limitNew get a per-source limit on new connections. */
export function firewallText(plan: Plan, host: { hostname: string; role: string; address: string }, rules: readonly FirewallRule[], extraRules: readonly string[] = [], nat?: { network: string }): string {
  const withLimits = rules.map((r) => ({ ...r, limit: r.limitNew ? newConnectionLimit(r) : "" }));
  const limited = withLimits.some((r) => r.limit);
  return renderTemplate("common/nftables.conf.hbs", {
    stack: plan.config.stack, hostname: host.hostname, role: host.role, address: host.address, extraRules, rules: withLimits, nat: nat ?? false,
    sshLimit: limited ? { rate: `${SSH_RATE_PER_MINUTE} per minute`, burst: SSH_BURST } : false,
  });
}

/** nftables rules for one node: the flows into it, by source. */
export function nodeFirewall(plan: Plan, node: HostNode, flows: readonly Flow[]): string {
  const rules = flows.filter((f) => f.to === node.name).map((f) => {
    let match = "";
    if (f.from.kind === "admin") match = setMatch(plan.config.admin.allowedCidrs);
    else if (f.from.kind === "node" || f.from.kind === "onDemand") match = setMatch([sourceAddress(plan.topology, f.from)!]);
    return { match, port: f.port, purpose: f.purpose, limitNew: f.from.kind === "admin" && f.port === PORTS.ssh };
  });
  const nat = natGateway(plan.config, plan.topology) === node.name ? { network: plan.config.networkCidr } : undefined;
  return firewallText(plan, node, rules, [], nat);
}
