/**
 * Fixed locations and names on the hosts (Debian/Ubuntu layout), shared by the roles, the
 * convergence and the tests. One place, so that a path a role writes and a path a check reads
 * cannot drift apart.
 */

export const PATHS = {
  nginxConf: "/etc/nginx/nginx.conf",
  nginxSites: "/etc/nginx/dhis2",
  /** The proxy's locations of on-demand instances, one file each (scripts/instance.ts; docs/instances.md). */
  nginxOnDemand: "/etc/nginx/dhis2-ondemand",
  htpasswd: "/etc/nginx/dhis2-monitoring.htpasswd",
  tlsDir: (hostname: string) => `/etc/ssl/dhis2/${hostname}`,
  /** Where certbot puts its certificates; a deploy hook copies them into tlsDir (tls.mode letsencrypt). */
  letsencryptDir: (hostname: string) => `/etc/letsencrypt/live/${hostname}`,
  acmeWebroot: "/var/www/letsencrypt",
  certificateHook: "/usr/local/sbin/dhis2-install-certificate",
  postgresConfDir: (version: number) => `/etc/postgresql/${version}/main`,
  postgresSslCert: "/etc/ssl/certs/ssl-cert-snakeoil.pem",
  postgresSslKey: "/etc/ssl/private/ssl-cert-snakeoil.key",
  /** Reloads PostgreSQL, and restarts it when a changed setting needs a restart. */
  postgresApply: "/usr/local/sbin/dhis2-postgresql-apply",
  dhis2Home: "/opt/dhis2",
  catalinaBase: "/opt/dhis2/tomcat",
  catalinaHome: "/opt/tomcat",
  javaHome: "/usr/lib/jvm/dhis2-jdk",
  glowrootDir: "/opt/glowroot",
  dhis2Unit: "/etc/systemd/system/dhis2.service",
  nftables: "/etc/nftables.conf",
  /** Host hardening (lib/roles/common/hardening.ts): network sysctls, kernel sysctls (servers only). */
  sysctlNetwork: "/etc/sysctl.d/60-dhis2-network.conf",
  sysctlKernel: "/etc/sysctl.d/61-dhis2-kernel.conf",
  coredump: "/etc/systemd/coredump.conf.d/60-dhis2.conf",
  coreLimits: "/etc/security/limits.d/60-dhis2.conf",
  shellProfile: "/etc/profile.d/60-dhis2-hardening.sh",
  modprobeBlacklist: "/etc/modprobe.d/60-dhis2-hardening.conf",
  /** The SSH hardening drop-in on servers reached over SSH (00-: read before cloud-init's 50-*.conf). */
  sshdDropIn: "/etc/ssh/sshd_config.d/00-dhis2.conf",
  muninConf: "/etc/munin/munin.conf",
  /** Daily reminder of the alerts that still last (munin itself mails on change of state only). */
  muninReminder: "/etc/cron.d/dhis2-munin-reminder",
  muninLimits: "/usr/share/munin/munin-limits",
  muninNodeConf: "/etc/munin/munin-node.conf",
  muninPluginConf: "/etc/munin/plugin-conf.d/dhis2",
  muninPlugins: "/etc/munin/plugins",
  /** Where Debian's PostgreSQL writes its server log (pg_ctlcluster), rotated by logrotate. */
  postgresLogDir: "/var/log/postgresql",
  /** munin's own update run (what its cron job runs every 5 minutes) and the lock it holds meanwhile. */
  muninCron: "/usr/bin/munin-cron",
  muninUpdateLock: "/var/run/munin/munin-update.lock",
  postfixDir: "/etc/postfix",
  forwardingSysctl: "/etc/sysctl.d/90-dhis2-forwarding.conf",
  /** Sends a test alert through the host's send-only mail set-up. */
  alertTest: "/usr/local/sbin/dhis2-alert-test",
  /** The host's health check (templates/host/status.sh.hbs), and its timer that mails on a change. */
  status: "/usr/local/sbin/dhis2-status",
  statusService: "/etc/systemd/system/dhis2-status.service",
  statusTimer: "/etc/systemd/system/dhis2-status.timer",
  /** The backups (templates/backup/): configuration, state, the commands and their timer. */
  backupConf: "/etc/dhis2-backup",
  backupState: "/var/lib/dhis2-backup",
  backupCommand: "/usr/local/sbin/dhis2-backup",
  restoreCommand: "/usr/local/sbin/dhis2-restore",
  backupService: "/etc/systemd/system/dhis2-backup.service",
  backupTimer: "/etc/systemd/system/dhis2-backup.timer",
  backupMuninPlugin: "/etc/munin/plugins/dhis2_backup_age",
  /** The DHIS2 file store: on the instance's data volume, linked as DHIS2_HOME/files. */
  dhis2DataDir: "/var/lib/dhis2",
  dhis2FileStore: "/var/lib/dhis2/files",
  maintenance: "/usr/local/sbin/dhis2-maintenance",
  maintenanceApt: "/etc/apt/apt.conf.d/51dhis2-maintenance-window",
  maintenanceService: "/etc/systemd/system/dhis2-maintenance.service",
  maintenanceTimer: "/etc/systemd/system/dhis2-maintenance.timer",
  /** Where local artifacts (a WAR, an archive, a certificate) land on a host before they are moved into place. */
  incoming: "/var/lib/dhis2-toolkit/incoming",
} as const;

/** The system user DHIS2 runs as (never root). */
export const SERVICE_USER = "dhis";
/** nginx's stub_status, on loopback only (munin's nginx plugins read it). */
export const STUB_STATUS_PORT = 8090;
/** User name of the login in front of /munin and /glowroot. */
export const MONITORING_USER = "monitoring";

/** Certificate paths nginx uses for a host name (the same in every TLS mode). */
export function certificatePaths(hostname: string): { certificate: string; key: string } {
  // every mode serves from the toolkit's directory: a self-signed certificate first, then the
  // provided one or Let's Encrypt's (copied in by certbot's deploy hook)
  const dir = PATHS.tlsDir(hostname);
  return { certificate: `${dir}/fullchain.pem`, key: `${dir}/privkey.pem` };
}

/** Path an instance's glowroot UI is served at, behind the proxy. */
export function glowrootPath(instance: string): string {
  return `/glowroot/${instance}`;
}

/** The WAR's file name under webapps/: ROOT.war for "/", else the path's name. */
export function warFileName(path: string): string {
  return path === "/" ? "ROOT.war" : `${path.slice(1)}.war`;
}

/** Where a local artifact is copied to on a host before a step moves it into place. */
export function stagedPath(what: string): string {
  return `${PATHS.incoming}/${what}`;
}
