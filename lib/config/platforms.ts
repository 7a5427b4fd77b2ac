/**
 * What each platform allows and needs, in one table: validation reads it instead of asking
 * "is this the local platform?" in many places. Adding a platform: a row here, its components
 * (components/platforms/) and its line in their registry.
 */
import { LXD_OS_IDS, OS_IDS, type OsId } from "../os/images";
import type { Isolation, Platform, TlsMode } from "./model";

export interface PlatformRules {
  /** Isolations it supports, the first the default. */
  readonly isolations: readonly Isolation[];
  /** Why another isolation is refused (when only one is allowed). */
  readonly isolationWhy?: string;
  /** The toolkit reaches the servers over SSH with the admin's key (admin.sshKeys, allowedCidrs, privateKey). */
  readonly ssh: boolean;
  /** Monitoring alerts must reach someone: alerts.recipients is required. */
  readonly alertsRequired: boolean;
  /** A default domain (the local stack's); otherwise dhis2:domain is required. */
  readonly defaultDomain?: string;
  /** TLS modes it supports, the first the default, and why others are refused. */
  readonly tlsModes: readonly TlsMode[];
  readonly tlsWhy?: string;
  /** The operating systems its nodes may run (dhis2:os); isolation lxd narrows them to the LXD images'. */
  readonly oses: readonly OsId[];
  readonly osesWhy?: string;
  /**
   * A role whose system is not named in the stack gets one that packages what it needs (its
   * nodes are made per stack); otherwise it runs dhis2:os and installs the rest from dhis2:sources.
   */
  readonly nativeOsChoice: boolean;
  /** It creates servers from types (sizes.*.serverType, dhis2:cloud). */
  readonly serverTypes: boolean;
  /** The servers are handed over (dhis2:servers). */
  readonly handedOver: boolean;
  /** Unattended security upgrades on its hosts, the data path in the maintenance window (every platform: a local container lives as long as a server). */
  readonly unattendedUpgrades: boolean;
  /** This machine's address and ports forwarded to the proxy container are a choice (dhis2:lxd.forward); servers forward their public 80 and 443. */
  readonly forwardChoice: boolean;
}

const SERVERS = {
  ssh: true,
  alertsRequired: true,
  tlsModes: ["letsencrypt", "provided", "self-signed"],
  unattendedUpgrades: true,
  forwardChoice: false,
} as const;

export const PLATFORM_RULES: Readonly<Record<Platform, PlatformRules>> = {
  local: {
    isolations: ["lxd"],
    isolationWhy: `platform "local" runs every role in LXD containers on this machine`,
    ssh: false,
    alertsRequired: false,
    defaultDomain: "dhis2.local",
    tlsModes: ["self-signed", "provided"],
    tlsWhy: "the local platform is not reachable from the internet, so Let's Encrypt cannot validate it",
    oses: LXD_OS_IDS,
    osesWhy: `platform "local" runs Debian containers built on this machine`,
    nativeOsChoice: true,
    serverTypes: false,
    handedOver: false,
    unattendedUpgrades: true,
    forwardChoice: true,
  },
  // handed-over servers run what the data centre installed: dhis2:os says what that is
  existing: { ...SERVERS, isolations: ["vm", "lxd"], serverTypes: false, handedOver: true, oses: OS_IDS, nativeOsChoice: false },
  hcloud: { ...SERVERS, isolations: ["vm", "lxd"], serverTypes: true, handedOver: false, oses: OS_IDS, nativeOsChoice: false },
  aws: { ...SERVERS, isolations: ["vm", "lxd"], serverTypes: true, handedOver: false, oses: OS_IDS, nativeOsChoice: false },
};
