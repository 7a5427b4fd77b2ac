/** The defaults of the stack keys (docs/configuration.md lists each with its key). */
import type { Platform } from "./model";

export const DEFAULTS = {
  platform: "local" as Platform,
  postgresVersion: 16,
  networkCidr: "10.231.20.0/24",
  localDomain: "dhis2.local",
  adminUser: "dhis2admin",
  synchronousCommit: "on" as const,
  walWriterDelayMs: 200,
  reservedConnections: 20,
  /** Data path upgrades (PostgreSQL, Tomcat, the JDK): Sunday 03:00 server time. */
  maintenanceWindow: "Sun 03:00",
  /**
   * Analytics rate limit per client address: one dashboard sends a request per item at once
   * (40 and more), and whole offices share one NAT address.
   */
  analyticsRatePerSecond: 20,
  analyticsBurst: 100,
  /** Slow-query log threshold, as dhis2-server-tools: 300 s. */
  logMinDurationStatementMs: 300_000,
  smtpPort: { starttls: 587, tls: 465, none: 25 },
  glowrootVersion: "0.14.2",
  thresholds: {
    diskWarningPercent: 80, diskCriticalPercent: 90, loadWarningPerCpu: 1.5, loadCriticalPerCpu: 3,
    pingSlowMs: 2000, certificateWarningDays: 21, certificateCriticalDays: 7,
  },
  /** The guidance's reference server (seed 000): 32 CPUs, 32 GB, SSD. */
  referenceHost: { cpus: 32, memoryGb: 32, disk: "ssd" as const, diskGb: 500 },
  /** A DHIS2 server: the reference size; its disk holds the WAR, logs and file store only. */
  vmInstance: { cpus: 32, memoryGb: 32, disk: "ssd" as const, diskGb: 50 },
  vmProxy: { cpus: 2, memoryGb: 4, disk: "ssd" as const, diskGb: 40 },
  vmMonitor: { cpus: 2, memoryGb: 4, disk: "ssd" as const, diskGb: 80 },
  maxInstances: 9,
  backup: { schedule: "*-*-* 01:30", retention: { daily: 7, weekly: 4, monthly: 12 }, maxAgeHours: 26 },
  /** isolation lxd: the LXD bridge of the containers, and this machine's ports forwarded to the proxy (local). */
  lxdBridge: "dhis2br0",
  lxdForward: { address: "0.0.0.0", http: 80, https: 443 },
  /** The PostgreSQL project's apt repository and its signing key (ACCC4CF8). */
  postgresqlRepository: {
    url: "https://apt.postgresql.org/pub/repos/apt",
    key: "https://www.postgresql.org/media/keys/ACCC4CF8.asc",
    fingerprint: "B97B0AFCAA1A47F044F244A07FCC7D46ACCC4CF8",
  },
  /** Eclipse Adoptium's apt repository (Temurin JDKs) and its signing key. */
  jdkRepository: {
    url: "https://packages.adoptium.net/artifactory/deb",
    key: "https://packages.adoptium.net/artifactory/api/gpg/key/public",
    fingerprint: "3B04D753C9050D9A5D343F39843C48A565F8F04B",
  },
} as const;

/** Paths the proxy itself serves on the main domain. */
export const RESERVED_PATHS = ["/munin", "/glowroot", "/.well-known", "/nginx_status"] as const;

export function glowrootArchiveUrl(version: string): string {
  return `https://github.com/glowroot/glowroot/releases/download/v${version}/glowroot-${version}-dist.zip`;
}
