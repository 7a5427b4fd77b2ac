/** The cloud servers of a stack as an administrator reads them: type, why, address, monthly list price. */
import { table } from "../render/report";
import type { CloudPlan } from "./cloud";
import { CURRENCY, PRICES_AS_OF, VOLUME_PRICE_PER_GB } from "../plan/server-types";

/** The cloud servers of a stack on hcloud or aws: type, why, address, monthly list price. */
export function cloudReport(cloud: CloudPlan): string {
  const cur = CURRENCY[cloud.cloud];
  const rows = cloud.servers.map((s) => [
    s.name, s.choice.type.name, s.choice.type.cpus, `${s.choice.type.memoryGb} GB`, s.choice.type.dedicated ? "dedicated" : "shared",
    `${s.privateAddress}${s.publicAddress ? " + static public IPv4" : ""}`,
    Number.isNaN(s.choice.type.monthly) ? "?" : `${s.choice.type.monthly.toFixed(2)} ${cur}`,
  ]);
  for (const s of cloud.servers.filter((x) => x.volume)) {
    rows.push([`${s.name} data volume`, cloud.cloud === "hcloud" ? "Volume" : "EBS gp3", "", `${s.volume!.sizeGb} GB`, "protected", s.volume!.mount, `${(s.volume!.sizeGb * VOLUME_PRICE_PER_GB[cloud.cloud]).toFixed(2)} ${cur}`]);
  }
  return [
    `${cloud.cloud} ${cloud.location}, image ${cloud.image}, network ${cloud.network.cidr}${cloud.network.publicSubnet ? ` (public ${cloud.network.publicSubnet}, private ${cloud.network.privateSubnet})` : ""}`,
    "",
    table(["server", "type", "vCPU", "memory", "CPUs", "address", "per month"], rows),
    "",
    `Total per month: ${(cloud.monthly.servers + cloud.monthly.volumes).toFixed(2)} ${cur} (servers ${cloud.monthly.servers.toFixed(2)}, volumes ${cloud.monthly.volumes.toFixed(2)}; ${PRICES_AS_OF[cloud.cloud]}; traffic, IPv4 and NAT gateway hours not included).`,
  ].join("\n");
}
