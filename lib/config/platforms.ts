/**
 * What each platform allows and needs, in one table: validation reads it instead of asking
 * "is this the local platform?" in many places. Adding a platform: a row here, its components
 * (components/platforms/) and its line in their registry.
 */
import { LOCAL_IMAGE, type OsImage } from "../os/images";
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
  /** The OS image every role runs on, when the platform fixes it (the local containers). */
  readonly image?: OsImage;
  /** It creates servers from types (sizes.*.serverType, dhis2:cloud). */
  readonly serverTypes: boolean;
  /** The servers are handed over (dhis2:servers). */
  readonly handedOver: boolean;
  /** Unattended security upgrades on its hosts (servers update themselves; containers are rebuilt). */
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
    image: LOCAL_IMAGE,
    serverTypes: false,
    handedOver: false,
    unattendedUpgrades: false,
    forwardChoice: true,
  },
  existing: { ...SERVERS, isolations: ["vm", "lxd"], serverTypes: false, handedOver: true },
  hcloud: { ...SERVERS, isolations: ["vm", "lxd"], serverTypes: true, handedOver: false },
  aws: { ...SERVERS, isolations: ["vm", "lxd"], serverTypes: true, handedOver: false },
};
