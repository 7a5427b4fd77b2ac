/**
 * The stack configuration of a DHIS2 deployment: every key under the `dhis2:` namespace of
 * `stacks/Pulumi.<stack>.yaml`, with its type and the values it allows.
 *
 * Shape checks live here (zod); checks that relate several keys (duplicate names, sizes that do
 * not fit, DHIS2 version against PostgreSQL version) live in ./validate.ts. docs/configuration.md
 * documents every key; keep the two in step.
 */
import { z } from "zod";
import * as ipaddr from "ipaddr.js";
import { DHIS2_VERSION_HELP, JDK_VERSIONS, parseDhis2Version } from "../dhis2/compat";
import { artifactSource, osChoice, osId, sources } from "./schema-sources";

export const PLATFORMS = ["local", "existing", "hcloud", "aws"] as const;
export const ISOLATIONS = ["lxd", "vm"] as const;
export const DISK_KINDS = ["ssd", "nvme", "hdd"] as const;
export const TLS_MODES = ["letsencrypt", "provided", "self-signed"] as const;
export const POSTGRES_VERSIONS = [13, 14, 15, 16, 17] as const;
export const SERVLET_CONTAINERS = ["tomcat9", "tomcat10", "embedded"] as const;
export const SMTP_SECURITY = ["starttls", "tls", "none"] as const;
/** How an event data element is searched: part of the value (trigram index), the whole value (btree), or both. */
export const EVENT_SEARCHES = ["contains", "exact", "both"] as const;

/** DHIS2 identifiers: 11 characters, a letter first, then letters and digits. */
export const UID_RE = /^[A-Za-z][A-Za-z0-9]{10}$/;
/** Instance names become container, database and role names: short lowercase DNS labels. */
export const INSTANCE_NAME_RE = /^[a-z][a-z0-9]{0,19}$/;
/** A DNS host name with at least one dot, lowercase. */
export const HOSTNAME_RE = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;
/** A URL path prefix for an instance: "/" or "/name" (lowercase letters, digits, dash). */
export const BASE_PATH_RE = /^\/(?:[a-z0-9][a-z0-9-]{0,39})?$/;
const SSH_KEY_RE = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(?:256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]{40,}={0,3}(?: \S.*)?$/;
const GLOWROOT_VERSION_RE = /^\d+\.\d+\.\d+$/;

/** A value given with `pulumi config set --secret`, as it appears in the stack file. */
const encryptedSecret = z.strictObject({ secure: z.string().min(1) });
/** A secret: the stack file holds it encrypted; `pulumi config` hands the program the plain text. */
export const secretString = z.union([z.string().min(1, { error: "must not be empty: set it with `pulumi config set --secret`" }), encryptedSecret], {
  error: "must be set with `pulumi config set --secret`",
});

const int = (min: number, max: number, what: string) => {
  const of = what ? ` of ${what}` : "";
  const unit = what ? ` ${what}` : "";
  return z.number({ error: `must be a whole number${of} from ${min} to ${max}` })
    .int({ error: `must be a whole number${of} from ${min} to ${max}` })
    .min(min, { error: `must be at least ${min}${unit} (allowed: ${min} to ${max})` })
    .max(max, { error: `must be at most ${max}${unit} (allowed: ${min} to ${max})` });
};

const cpus = z.number({ error: "must be a number of CPUs from 0.25 to 512" })
  .min(0.25, { error: "must be at least 0.25 CPUs (allowed: 0.25 to 512)" })
  .max(512, { error: "must be at most 512 CPUs (allowed: 0.25 to 512)" })
  .refine((n) => Number.isInteger(n * 4), { error: "CPUs are counted in quarters (e.g. 1, 1.5, 0.25)" });
const memoryGb = z.number({ error: "must be a number of GB of memory from 0.5 to 4096" })
  .min(0.5, { error: "must be at least 0.5 GB (allowed: 0.5 to 4096)" })
  .max(4096, { error: "must be at most 4096 GB (allowed: 0.5 to 4096)" })
  .refine((n) => Number.isInteger(n * 4), { error: "memory is counted in quarters of a GB (e.g. 2, 7.5, 0.25)" });
const diskGb = int(10, 65536, "GB");
const diskKind = z.enum(DISK_KINDS);

/** Size of a host (a server, a VM, or the one LXD host). */
export const hostSize = z.strictObject({
  cpus,
  memoryGb,
  disk: diskKind.optional(),
  diskGb: diskGb.optional(),
});
/** Share of a host given to one role (container limits in lxd isolation, server size in vm isolation). */
export const roleSize = z.strictObject({
  cpus: cpus.optional(),
  memoryGb: memoryGb.optional(),
  disk: diskKind.optional(),
  diskGb: diskGb.optional(),
  /** Cloud server type override (hcloud/aws), e.g. "ccx53" or "r6i.xlarge". */
  serverType: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,40}$/, { error: "must be a server/instance type name such as ccx53 or m6i.2xlarge" }).optional(),
});

const uid = z.string({ error: "must be a DHIS2 UID (11 characters: a letter, then letters or digits)" })
  .regex(UID_RE, { error: "must be a DHIS2 UID (11 characters: a letter, then letters or digits)" });

export const trackerSearch = z.strictObject({
  /** Tracked entity attribute UIDs searched by substring (names, phone numbers). */
  attributes: z.array(uid).optional(),
  /**
   * Event data elements searched by value (e.g. a QR code), with the program stage that holds
   * them; `search`: contains (a trigram index, the default), exact (a btree index: the whole value
   * looked up, as a scanned QR code) or both.
   */
  eventDataElements: z.array(z.strictObject({
    programStage: uid,
    dataElement: uid,
    search: z.enum(EVENT_SEARCHES, { error: `must be one of ${EVENT_SEARCHES.join(", ")}: contains (part of the value), exact (the whole value), both` }).optional(),
  })).optional(),
});

const dhis2Version = z.string({
  error: (issue) => (typeof issue.input === "number"
    ? `is the number ${issue.input}: YAML reads an unquoted version such as 2.40 as a number (2.4); write it in quotes, e.g. version: "2.40.4"; it must be ${DHIS2_VERSION_HELP}`
    : `must be ${DHIS2_VERSION_HELP}`),
})
  .refine((v) => parseDhis2Version(v) !== undefined, { error: `must be ${DHIS2_VERSION_HELP}` });

const hostname = z.string({ error: "must be a lowercase DNS name such as dhis2.example.org" })
  .regex(HOSTNAME_RE, { error: "must be a lowercase DNS name such as dhis2.example.org" });

export const instance = z.strictObject({
  name: z.string({ error: "must be a short lowercase name such as production, staging or training" })
    .regex(INSTANCE_NAME_RE, { error: "must be 1-20 lowercase letters or digits, starting with a letter (e.g. production, training2)" }),
  /** DHIS2 release. */
  version: dhis2Version,
  /** URL path on the stack's domain ("/" or "/name"); exclusive with hostname. */
  path: z.string().regex(BASE_PATH_RE, { error: 'must be "/" or "/name" (lowercase letters, digits, dashes; no trailing slash)' }).optional(),
  /** Own virtual host, e.g. training.dhis2.example.org; the instance is then served at "/". */
  hostname: hostname.optional(),
  /** WAR file: URL of a mirror or an absolute local path. Default: releases.dhis2.org. */
  war: artifactSource.optional(),
  /** Expected sha256 of the WAR (64 hex digits): checked on the host after the download, and on a local file before anything is touched. */
  warSha256: z.string({ error: "must be the WAR's sha256: 64 hexadecimal digits (sha256sum dhis2.war)" })
    .regex(/^[0-9a-fA-F]{64}$/, { error: "must be the WAR's sha256: 64 hexadecimal digits (sha256sum dhis2.war)" }).optional(),
  /** Java heap in MB; default derived from the instance's memory. */
  heapMb: int(512, 262144, "MB").optional(),
  /** DHIS2 connection.pool.max_size; default derived from the database CPUs. */
  connectionPoolMaxSize: int(5, 500, "connections").optional(),
  servletContainer: z.enum(SERVLET_CONTAINERS).optional(),
  jdk: z.union(JDK_VERSIONS.map((v) => z.literal(v)) as unknown as [z.ZodLiteral<11>, z.ZodLiteral<17>, z.ZodLiteral<21>], {
    error: `must be one of ${JDK_VERSIONS.join(", ")}`,
  }).optional(),
  size: roleSize.optional(),
  trackerSearch: trackerSearch.optional(),
  /** The system of the instance's server or container; default: dhis2:os (on LXD, one that packages what it needs). */
  os: osId.optional(),
});

const loadPerCpu = z.number({ error: "must be a load average per CPU above 0, at most 100 (e.g. 1.5)" })
  .positive({ error: "must be a load average per CPU above 0, at most 100 (e.g. 1.5)" })
  .max(100, { error: "must be a load average per CPU above 0, at most 100 (e.g. 1.5)" });

const email = z.email({ error: "must be an e-mail address such as ops@example.org" });

/** True for a strict address: dotted-quad IPv4 (no "10.1" or hex forms) or IPv6. */
export function isStrictIp(text: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(text) || (text.includes(":") && ipaddr.IPv6.isValid(text));
}

/** True for a CIDR whose address is its own network address (no host bits set). */
export function isNetworkCidr(text: string): boolean {
  const [addr, prefix] = text.split("/");
  if (addr === undefined || prefix === undefined || !/^\d{1,3}$/.test(prefix) || !isStrictIp(addr)) return false;
  try {
    const network = addr.includes(":") ? ipaddr.IPv6.networkAddressFromCIDR(text) : ipaddr.IPv4.networkAddressFromCIDR(text);
    return network.toString() === ipaddr.parse(addr).toString();
  } catch {
    return false;
  }
}

/** What is wrong with a text that is not a network CIDR (see isNetworkCidr). */
export function cidrProblem(text: string, allowed?: { min: number; max: number; what: string }): string {
  const [addr, prefix, ...rest] = text.split("/");
  if (addr === undefined || prefix === undefined || rest.length > 0 || !/^\d{1,3}$/.test(prefix) || !isStrictIp(addr)) {
    return "must be a CIDR: an address, a slash and a prefix length, such as 196.12.4.0/24 or 2001:db8::/32";
  }
  const max = addr.includes(":") ? 128 : 32;
  if (allowed && (Number(prefix) < allowed.min || Number(prefix) > allowed.max)) return `has prefix /${prefix}: allowed /${allowed.min} to /${allowed.max} for ${allowed.what}`;
  if (Number(prefix) > max) return `has prefix /${prefix}: allowed /0 to /${max} for an ${max === 32 ? "IPv4" : "IPv6"} network, e.g. 196.12.4.0/24`;
  try {
    const network = max === 32 ? ipaddr.IPv4.networkAddressFromCIDR(text) : ipaddr.IPv6.networkAddressFromCIDR(text);
    return `has host bits set: write the network address, ${network.toString()}/${prefix}`;
  } catch {
    return "must be a CIDR with no host bits set, such as 196.12.4.0/24 or 2001:db8::/32";
  }
}

const cidr = z.string({ error: "must be a CIDR such as 196.12.4.0/24" })
  .refine(isNetworkCidr, { error: (issue) => cidrProblem(String(issue.input)) });

/** network.cidr: the address plan uses .2 to .40 of it (see validate/platform.ts). */
const privateNetworkCidr = z.string({ error: "must be a CIDR such as 10.231.20.0/24" })
  .refine(isNetworkCidr, { error: (issue) => cidrProblem(String(issue.input), { min: 16, max: 26, what: "the deployment's private network, e.g. 10.231.20.0/24" }) });

const ipAddress = z.string({ error: "must be an IPv4 or IPv6 address" })
  .refine(isStrictIp, { error: "must be an IPv4 address (a.b.c.d) or an IPv6 address" });

const server = z.strictObject({
  /** Address the toolkit reaches the server on over SSH (through the proxy for all but the proxy). */
  address: ipAddress,
  /** Private address other roles use to reach it; default: address. */
  privateAddress: ipAddress.optional(),
  user: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, { error: "must be a Unix user name" }).optional(),
  port: int(1, 65535, "").optional(),
  /** Pinned SSH host key ("ssh-ed25519 AAAA..."). */
  hostKey: z.string().regex(SSH_KEY_RE, { error: "must be an SSH public host key line (ssh-ed25519 AAAA...)" }).optional(),
});

export const stackConfig = z.strictObject({
  platform: z.enum(PLATFORMS).optional(),
  isolation: z.enum(ISOLATIONS).optional(),
  /** Public DNS name of the proxy. */
  domain: hostname.optional(),
  /** A test, training or demonstration stack: the policy pack accepts test-only choices (a self-signed certificate). */
  testStack: z.boolean({ error: "must be true or false" }).optional(),
  /** Private network of the deployment (LXD bridge or cloud network), IPv4, /16 to /26. */
  network: z.strictObject({ cidr: privateNetworkCidr.optional() }).optional(),
  /** The operating system of every node, or a default and one per role (debian-12). */
  os: osChoice.optional(),
  /** Where software comes from when a node's system does not package it. */
  sources: sources.optional(),
  postgresVersion: z.union(POSTGRES_VERSIONS.map((v) => z.literal(v)) as unknown as [z.ZodLiteral<13>, ...z.ZodLiteral<number>[]], {
    error: `must be a PostgreSQL major version: ${POSTGRES_VERSIONS.join(", ")}`,
  }).optional(),
  sizes: z.strictObject({
    /** The one server that runs every container (lxd isolation only). */
    host: hostSize.optional(),
    proxy: roleSize.optional(),
    database: roleSize.optional(),
    monitor: roleSize.optional(),
    /** Default for every DHIS2 instance; an instance's own `size` wins. */
    instance: roleSize.optional(),
  }).optional(),
  postgres: z.strictObject({
    /** "on" (default) or "off": off loses up to 3 × walWriterDelayMs of commits in a crash. */
    synchronousCommit: z.enum(["on", "off"]).optional(),
    walWriterDelayMs: int(1, 10000, "ms").optional(),
    /** Extra connections beyond the instances' pools (admin, backup, monitoring). */
    reservedConnections: int(5, 200, "connections").optional(),
    /** Slow-query log: statements running longer than this are logged (log_min_duration_statement); -1 off. */
    logMinDurationStatementMs: int(-1, 86_400_000, "ms").optional(),
  }).optional(),
  instances: z.array(instance).min(1, { error: "must list at least one DHIS2 instance" }).optional(),
  maintenance: z.strictObject({
    /** When the data path (PostgreSQL, Tomcat, the JDK) may be upgraded and restarted: "Sun 03:00" or "daily 03:00", server time. */
    window: z.string({ error: 'must be a day and a time such as "Sun 03:00" (Mon to Sun, or daily; 24-hour server time)' })
      .regex(/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun|daily) ([01]\d|2[0-3]):[0-5]\d$/, { error: 'must be a day and a time such as "Sun 03:00" (Mon to Sun, or daily; 24-hour server time)' }).optional(),
  }).optional(),
  proxy: z.strictObject({
    /** Analytics requests per second per client address (nginx limit_req rate). */
    analyticsRatePerSecond: int(1, 1000, "requests per second").optional(),
    /** Analytics requests beyond the rate a client may send at once (limit_req burst, nodelay). */
    analyticsBurst: int(0, 10_000, "requests").optional(),
  }).optional(),
  tls: z.strictObject({
    mode: z.enum(TLS_MODES).optional(),
    /** ACME account e-mail (letsencrypt). */
    email: email.optional(),
    /** PEM certificate chain file on the machine running pulumi (provided). */
    certificateFile: z.string().regex(/^\//, { error: "must be an absolute file path" }).optional(),
    /** PEM private key file on the machine running pulumi (provided). */
    keyFile: z.string().regex(/^\//, { error: "must be an absolute file path" }).optional(),
  }).optional(),
  admin: z.strictObject({
    user: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, { error: "must be a Unix user name (lowercase, up to 32 characters)" }).optional(),
    sshKeys: z.array(z.string().regex(SSH_KEY_RE, { error: "must be an OpenSSH public key line (ssh-ed25519 AAAA... comment)" })).optional(),
    allowedCidrs: z.array(cidr).optional(),
    /** The private key pulumi connects with (a secret): `pulumi config set --path --secret dhis2:admin.privateKey < key` (stdin: never on a command line). */
    privateKey: secretString.optional(),
  }).optional(),
  alerts: z.strictObject({
    recipients: z.array(email).optional(),
    from: email.optional(),
    smtp: z.strictObject({
      host: z.union([hostname, ipAddress], { error: "must be the SMTP relay's DNS name or address" }),
      port: int(1, 65535, "").optional(),
      security: z.enum(SMTP_SECURITY).optional(),
      username: z.string().min(1, { error: "must not be empty: the relay's user name (or remove username and password)" }).optional(),
      password: secretString.optional(),
    }).optional(),
  }).optional(),
  monitoring: z.strictObject({
    glowroot: z.boolean().optional(),
    glowrootVersion: z.string().regex(GLOWROOT_VERSION_RE, { error: "must be a glowroot release such as 0.14.2" }).optional(),
    /** Glowroot dist zip: a mirror URL or an absolute local path. */
    glowrootArchive: artifactSource.optional(),
    thresholds: z.strictObject({
      diskWarningPercent: int(1, 99, "%").optional(),
      diskCriticalPercent: int(1, 100, "%").optional(),
      loadWarningPerCpu: loadPerCpu.optional(),
      loadCriticalPerCpu: loadPerCpu.optional(),
      /** An /api/ping answered slower than this is a warning (dhis2-status, mailed). */
      pingSlowMs: int(100, 60_000, "ms").optional(),
      certificateWarningDays: int(2, 90, "days").optional(),
      certificateCriticalDays: int(1, 60, "days").optional(),
    }).optional(),
  }).optional(),
  /** Scheduled, encrypted backups (restic) of each instance's database and file store (docs/backups.md). */
  backup: z.strictObject({
    enabled: z.boolean({ error: "must be true or false" }).optional(),
    /** systemd OnCalendar expression, e.g. "*-*-* 01:30". */
    schedule: z.string().regex(/^[A-Za-z0-9*:\/,.~ -]{1,60}$/, { error: "must be a systemd OnCalendar expression such as \"*-*-* 01:30\" or \"daily\"" }).optional(),
    retention: z.strictObject({
      daily: int(0, 365, "daily backups").optional(),
      weekly: int(0, 260, "weekly backups").optional(),
      monthly: int(0, 240, "monthly backups").optional(),
    }).optional(),
    /** A backup older than this many hours is an alert (the status check and munin's critical threshold). */
    maxAgeHours: int(2, 24 * 31, "hours").optional(),
    /** An S3-compatible object store that gets a copy of every backup. */
    offsite: z.strictObject({
      repository: z.string().regex(/^s3:https?:\/\/[A-Za-z0-9.-]+(:\d+)?\/[A-Za-z0-9._\/-]+$/, { error: "must be a restic S3 repository such as s3:https://fsn1.your-objectstorage.com/bucket/dhis2" }),
      accessKeyId: z.string().regex(/^[A-Za-z0-9+\/=_-]{3,128}$/, { error: "must be the object store's access key id" }),
      /** The secret key: `pulumi config set --path --secret dhis2:backup.offsite.secretAccessKey`. */
      secretAccessKey: secretString,
    }).optional(),
  }).optional(),
  /** platform existing: the servers handed over by the data centre. */
  servers: z.strictObject({
    /** lxd isolation: the one server that runs LXD. */
    host: server.optional(),
    proxy: server.optional(),
    database: server.optional(),
    monitor: server.optional(),
    /** vm isolation: one server per DHIS2 instance, keyed by instance name. */
    instances: z.record(z.string(), server).optional(),
  }).optional(),
  /**
   * The secrets the deployment generated for itself, encrypted (docs/security.md): written by
   * `npm run secrets`, never by hand; rotate one with `pulumi config set --secret --path`.
   */
  generated: z.record(z.string(), secretString).optional(),
  /** Fetch the WAR and glowroot URLs from the machine running pulumi before anything is created (default true). */
  checkUrls: z.boolean({ error: "must be true or false" }).optional(),
  /** The host verification after provisioning (CPUs, memory, disk latency, CPU steal). */
  hostCheck: z.strictObject({
    /** A node below its declared size, or a disk slower than its kind, fails `pulumi up` instead of warning (default false). */
    strict: z.boolean({ error: "must be true or false" }).optional(),
  }).optional(),
  /** isolation lxd: the LXD network of the containers and, on this machine, the ports forwarded to the proxy. */
  lxd: z.strictObject({
    /** The LXD bridge of the stack's containers (one per stack: two stacks on one LXD host need two). */
    bridge: z.string().regex(/^[a-z][a-z0-9-]{0,14}$/, { error: "must be an LXD network name: a lowercase letter, then up to 14 lowercase letters, digits or dashes (e.g. dhis2br0)" }).optional(),
    /** platform local: the address and ports of this machine forwarded to the proxy container. */
    forward: z.strictObject({
      address: ipAddress.optional(),
      http: int(1, 65535, "").optional(),
      https: int(1, 65535, "").optional(),
    }).optional(),
  }).optional(),
  /** Cloud placement (hcloud: location such as fsn1; aws: region such as eu-west-1). */
  cloud: z.strictObject({
    location: z.string().regex(/^[a-z]{2,}[a-z0-9-]*$/, { error: "must be a location or region name such as fsn1 or eu-west-1" }).optional(),
    image: z.string().min(1, { error: "must not be empty: an image name or id, or remove the key for the default" }).optional(),
  }).optional(),
});

export type StackConfigInput = z.infer<typeof stackConfig>;
export type InstanceInput = z.infer<typeof instance>;
export type RoleSizeInput = z.infer<typeof roleSize>;
export type ServerInput = z.infer<typeof server>;
