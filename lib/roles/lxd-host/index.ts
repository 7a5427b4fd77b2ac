/**
 * Role `lxd-host`: the server that runs every role in LXD containers (isolation lxd on a cloud or
 * an existing server): its own firewall — HTTP and HTTPS (forwarded to the proxy container), SSH
 * from the admins' networks, DNS and DHCP for the containers on the bridge. LXD itself is set up by
 * templates/lxd-host/ (run by the platform over SSH).
 */
import type { Plan } from "../../plan";
import { PORTS } from "../../plan/topology";
import { file, type RenderedFile } from "../../render/file";
import { PATHS } from "../../render/paths";
import { firewallText, setMatch } from "../common/firewall";
import { sshdDropIn } from "../common/ssh";
import { NOTHING, type HostNode, type Role, type RoleContext } from "../types";

/** The LXD server as a host of the deployment (isolation lxd on servers the toolkit manages). */
export function lxdHostNode(plan: Plan): HostNode | undefined {
  const { config, topology } = plan;
  if (config.isolation !== "lxd" || config.platform === "local") return undefined;
  return { name: "host", role: "lxd-host", hostname: "dhis2-host", address: topology.gateway ?? "", os: config.os.default };
}

function files({ plan, node }: RoleContext): RenderedFile[] {
  const { config, topology } = plan;
  const bridge = config.lxd.bridge;
  const bridgeRules = [
    `iifname "${bridge}" udp dport { 53, 67 } accept comment "LXD bridge: DNS and DHCP for the containers"`,
    `iifname "${bridge}" tcp dport 53 accept comment "LXD bridge: DNS"`,
  ];
  const rules = [
    { match: "", port: PORTS.http, purpose: "HTTP, forwarded to the proxy container" },
    { match: "", port: PORTS.https, purpose: "HTTPS, forwarded to the proxy container" },
    { match: setMatch(config.admin.allowedCidrs), port: PORTS.ssh, purpose: "admin SSH", limitNew: true },
    { match: setMatch([topology.monitor.address]), port: PORTS.muninNode, purpose: "munin master polls the host" },
  ];
  return [
    file(PATHS.nftables, firewallText(plan, { ...node, role: "LXD host" }, rules, bridgeRules), "0755", "root", "root", "nft -f /etc/nftables.conf"),
    sshdDropIn(plan, node),
  ];
}

export const lxdHost: Role = {
  ...NOTHING,
  name: "lxd-host",
  packages: () => ["nftables", "ca-certificates", "curl"],
  files,
};
