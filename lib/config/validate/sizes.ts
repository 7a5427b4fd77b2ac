/** Sizes: the one LXD host, or a server per role; what applies to which isolation and platform. */
import { DEFAULTS } from "../defaults";
import type { HostSize, RequestedSize } from "../model";
import type { RoleSizeInput, StackConfigInput } from "../schema";
import type { PlatformChoice } from "./platform";
import type { Problems } from "./problems";

export interface Sizes {
  /** lxd isolation: the one host. */
  readonly host?: HostSize;
  readonly proxy: RequestedSize;
  readonly database: RequestedSize;
  readonly monitor: RequestedSize;
  /** A role's size with the isolation's defaults: a server per role gets the default server size. */
  readonly withDefault: (s: RoleSizeInput | undefined, d: HostSize) => RequestedSize;
}

const ROLES = ["proxy", "database", "monitor", "instance"] as const;

export function validateSizes(c: StackConfigInput, { platform, isolation, rules }: PlatformChoice, p: Problems): Sizes {
  const sizes = c.sizes ?? {};
  if (isolation === "vm" && sizes.host) p.add(["sizes", "host"], "applies to isolation lxd only (the one server running every container); with isolation vm, size each role under sizes.proxy, sizes.database, sizes.monitor, sizes.instance");
  if (isolation === "lxd") {
    for (const role of ROLES) {
      const s = sizes[role];
      if (s?.serverType) p.add(["sizes", role, "serverType"], "applies to isolation vm only: in lxd isolation roles are containers on sizes.host", s.serverType);
      if (s?.disk) p.add(["sizes", role, "disk"], "applies to isolation vm only: in lxd isolation every container uses the disk of sizes.host", s.disk);
    }
  }
  if (!rules.serverTypes && isolation === "vm") {
    for (const role of ROLES) {
      const s = sizes[role];
      if (s?.serverType) p.add(["sizes", role, "serverType"], `applies to platforms hcloud and aws only, not ${platform}`, s.serverType);
    }
  }
  const host = isolation === "lxd"
    ? {
        cpus: sizes.host?.cpus ?? DEFAULTS.referenceHost.cpus,
        memoryGb: sizes.host?.memoryGb ?? DEFAULTS.referenceHost.memoryGb,
        disk: sizes.host?.disk ?? DEFAULTS.referenceHost.disk,
        diskGb: sizes.host?.diskGb ?? DEFAULTS.referenceHost.diskGb,
      }
    : undefined;
  const withDefault = (s: RoleSizeInput | undefined, d: HostSize): RequestedSize => isolation === "vm" ? { ...d, ...s } : { ...s };
  return {
    host,
    proxy: withDefault(sizes.proxy, DEFAULTS.vmProxy),
    database: withDefault(sizes.database, DEFAULTS.referenceHost),
    monitor: withDefault(sizes.monitor, DEFAULTS.vmMonitor),
    withDefault,
  };
}
