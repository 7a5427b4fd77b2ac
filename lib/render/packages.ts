/**
 * What each role installs from the distribution's packages (Debian 12 / Ubuntu 22.04+ names), and
 * what the local platform's container image offers.
 *
 * Pure data and functions: the host set-up script (templates/host/setup.sh.hbs) installs these
 * lists; validation refuses a stack that needs something the local image does not package.
 */
import type { ServletContainer } from "../dhis2/compat";
import type { Role } from "../plan/sizing";

/** The image every container of the local platform runs (scripts/lxd-setup.sh builds it). */
export const LOCAL_IMAGE = {
  name: "Debian 12",
  alias: "dhis2-debian-12",
  /** PostgreSQL majors Debian 12 packages (postgresql-15, postgresql-15-postgis-3). */
  postgres: [15] as readonly number[],
  /** OpenJDK majors Debian 12 packages. */
  jdks: [17] as readonly number[],
  /** Tomcat 10.1 (tomcat10-common) and the embedded server of DHIS2 2.43+; no Tomcat 9. */
  servletContainers: ["tomcat10", "embedded"] as readonly ServletContainer[],
} as const;

/** Packages every host gets: host firewall, munin-node, send-only postfix with a mail command. */
export const COMMON_PACKAGES = [
  "nftables",
  "munin-node",
  "libnet-cidr-perl", // munin-node's cidr_allow
  "postfix",
  "bsd-mailx", // the `mail` command munin's alerts use
  "ca-certificates",
  "curl",
] as const;

export interface RolePackageOptions {
  readonly postgresVersion: number;
  readonly jdk: number;
  readonly servletContainer: ServletContainer;
  readonly glowroot: boolean;
}

/** Distribution packages of one role, common ones first. */
export function rolePackages(role: Role, o: RolePackageOptions): string[] {
  const own: string[] = [];
  switch (role) {
    case "proxy":
      own.push("nginx", "openssl");
      break;
    case "database":
      own.push(`postgresql-${o.postgresVersion}`, `postgresql-${o.postgresVersion}-postgis-3`, "postgresql-contrib", "ssl-cert", "libdbd-pg-perl");
      break;
    case "instance":
      own.push(`openjdk-${o.jdk}-jre-headless`);
      // the distribution's Tomcat, whose own service stays masked (distributionTomcat): the
      // toolkit's dhis2.service runs it with this instance's CATALINA_BASE
      if (o.servletContainer === "tomcat10") own.push("tomcat10");
      if (o.servletContainer === "tomcat9") own.push("tomcat9");
      if (o.glowroot) own.push("unzip");
      break;
    case "monitor":
      own.push("munin", "nginx", "cron");
      break;
  }
  return [...COMMON_PACKAGES, ...own];
}

/**
 * The distribution's Tomcat: CATALINA_HOME (linked as /opt/tomcat), its default configuration
 * (web.xml, context.xml, ...) and its own service, which is masked before the package is
 * installed so that it never starts.
 */
export function distributionTomcat(container: ServletContainer): { home: string; defaults: string; service: string } | undefined {
  if (container !== "tomcat10" && container !== "tomcat9") return undefined;
  return { home: `/usr/share/${container}`, defaults: `/usr/share/${container}/etc`, service: `${container}.service` };
}

/** A server that runs the LXD containers (isolation lxd on a cloud or an existing server): its firewall; LXD comes from scripts/lxd-setup.sh. */
export function lxdHostPackages(): string[] {
  return ["nftables", "ca-certificates", "curl"];
}
