/** Platform, isolation, domain and the private network. */
import * as ipaddr from "ipaddr.js";
import { DEFAULTS } from "../defaults";
import type { DeploymentConfig, Isolation, Platform } from "../model";
import { PLATFORM_RULES, type PlatformRules } from "../platforms";
import type { StackConfigInput } from "../schema";
import type { Problems } from "./problems";

export interface PlatformChoice {
  readonly platform: Platform;
  readonly isolation: Isolation;
  readonly rules: PlatformRules;
  readonly domain?: string;
  readonly networkCidr: string;
}

function checkPrivateNetwork(cidr: string, report: (m: string) => void): void {
  if (cidr.includes(":")) return report("must be an IPv4 network (the private addresses of the roles)");
  const [addr, prefix] = ipaddr.parseCIDR(cidr);
  if (addr.kind() !== "ipv4" || (addr as ipaddr.IPv4).range() !== "private") return report("must be a private IPv4 range (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16)");
  if (prefix < 16 || prefix > 26) report("must have a prefix from /16 to /26 (the address plan uses .2 to .40 of the network)");
}

export function validatePlatform(c: StackConfigInput, p: Problems): PlatformChoice {
  const platform = c.platform ?? DEFAULTS.platform;
  const rules = PLATFORM_RULES[platform];
  const isolation = c.isolation ?? rules.isolations[0]!;
  if (!rules.isolations.includes(isolation)) p.add(["isolation"], `${rules.isolationWhy}: allowed: ${rules.isolations.join(", ")}`, isolation);

  const domain = c.domain ?? rules.defaultDomain;
  if (!domain) p.add(["domain"], "is required for platform " + platform + ": the public DNS name of the proxy, e.g. dhis2.health.go.ke");

  const networkCidr = c.network?.cidr ?? DEFAULTS.networkCidr;
  checkPrivateNetwork(networkCidr, (m) => p.add(["network", "cidr"], m, networkCidr));
  if (platform === "aws" && isolation === "vm" && /\/(2[6-9]|3\d)$/.test(networkCidr)) {
    p.add(["network", "cidr"], "must have a prefix from /16 to /25 on aws: it is split into a public subnet (the proxy, the NAT gateway) and a private one (the other servers)", networkCidr);
  }
  return { platform, isolation, rules, domain, networkCidr };
}

/** dhis2:lxd: the containers' bridge; on this machine, the address and ports forwarded to the proxy. */
export function validateLxd(c: StackConfigInput, { platform, isolation, rules }: PlatformChoice, p: Problems): DeploymentConfig["lxd"] {
  const lxd = c.lxd ?? {};
  if (c.lxd && isolation !== "lxd") p.add(["lxd"], "applies to isolation lxd only (the containers' network on the LXD host)", c.lxd);
  if (lxd.forward && !rules.forwardChoice) {
    p.add(["lxd", "forward"], `applies to platform local only: on platform ${platform} the LXD server forwards its public ports 80 and 443 to the proxy`, lxd.forward);
  }
  const forward = { ...DEFAULTS.lxdForward, ...lxd.forward };
  if (forward.http === forward.https) p.add(["lxd", "forward", "https"], `must differ from dhis2:lxd.forward.http (${forward.http})`, forward.https);
  if (forward.address.includes(":")) p.add(["lxd", "forward", "address"], "must be an IPv4 address of this machine (0.0.0.0: all of them, 127.0.0.1: this machine only)", forward.address);
  return { bridge: lxd.bridge ?? DEFAULTS.lxdBridge, forward };
}
