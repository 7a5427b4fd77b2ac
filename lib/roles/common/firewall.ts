/**
 * The host firewall (nftables) of a node: the flows into it, by source; everything else arriving
 * is dropped. Rendered from templates/common/nftables.conf.hbs, also for the LXD host.
 */
import type { Plan } from "../../plan";
import { natGateway } from "../../plan/topology";
import { renderTemplate } from "../../render/engine";
import { sourceAddress } from "../flows";
import type { Flow, HostNode } from "../types";

export interface FirewallRule {
  /** nftables match of the sources ("ip saddr { ... } "), empty for anywhere. */
  readonly match: string;
  readonly port: number;
  readonly purpose: string;
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

/** The firewall file's text for a host. */
export function firewallText(plan: Plan, host: { hostname: string; role: string; address: string }, rules: readonly FirewallRule[], extraRules: readonly string[] = [], nat?: { network: string }): string {
  return renderTemplate("common/nftables.conf.hbs", {
    stack: plan.config.stack, hostname: host.hostname, role: host.role, address: host.address, extraRules, rules, nat: nat ?? false,
  });
}

/** nftables rules for one node: the flows into it, by source. */
export function nodeFirewall(plan: Plan, node: HostNode, flows: readonly Flow[]): string {
  const rules = flows.filter((f) => f.to === node.name).map((f) => {
    let match = "";
    if (f.from.kind === "admin") match = setMatch(plan.config.admin.allowedCidrs);
    else if (f.from.kind === "node") match = setMatch([sourceAddress(plan.topology, f.from)!]);
    return { match, port: f.port, purpose: f.purpose };
  });
  const nat = natGateway(plan.config, plan.topology) === node.name ? { network: plan.config.networkCidr } : undefined;
  return firewallText(plan, node, rules, [], nat);
}
