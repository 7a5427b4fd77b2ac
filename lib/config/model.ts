/**
 * The typed, validated deployment model: the stack configuration with every default applied and
 * the DHIS2 compatibility of each instance resolved. Produced by ./validate.ts; consumed by the
 * plan (lib/plan) and the components.
 */
import type { Dhis2Runtime, ServletContainer } from "../dhis2/compat";
import type { OsId } from "../os/images";
import type { ServerInput } from "./schema";

export type Platform = "local" | "existing" | "hcloud" | "aws";
export type Isolation = "lxd" | "vm";
export type DiskKind = "ssd" | "nvme" | "hdd";
export type TlsMode = "letsencrypt" | "provided" | "self-signed";

/** A size as requested in the stack: any field may be left to the plan. */
export interface RequestedSize {
  readonly cpus?: number;
  readonly memoryGb?: number;
  readonly disk?: DiskKind;
  readonly diskGb?: number;
  readonly serverType?: string;
}

/** A complete host size. */
export interface HostSize {
  readonly cpus: number;
  readonly memoryGb: number;
  readonly disk: DiskKind;
  readonly diskGb: number;
}

/** Reference to a secret: either its name for generation at deploy time, or a stack config key. */
export interface SecretRef {
  /** Stack config key that holds the secret, e.g. "dhis2:alerts.smtp.password". */
  readonly configKey: string;
  /** The plain value, when the program runs inside the Pulumi engine (never printed). */
  readonly value?: string;
}

/** An event data element searched by value, and how (dhis2:instances[].trackerSearch.eventDataElements). */
export interface EventSearch {
  readonly programStage: string;
  readonly dataElement: string;
  readonly search: "contains" | "exact" | "both";
}

export interface TrackerSearchIndexes {
  /** Tracked entity attribute UIDs: one partial trigram GIN index each. */
  readonly attributes: readonly string[];
  /**
   * (program stage, data element) pairs: a trigram expression index on the event values for
   * `contains`, a btree one on the lower-cased value for `exact`, both for `both`.
   */
  readonly eventDataElements: readonly EventSearch[];
}

export interface InstanceConfig {
  readonly name: string;
  readonly runtime: Dhis2Runtime;
  /** Host name the instance is served on (its own, or the stack's domain). */
  readonly hostname: string;
  /** "/" or "/name". */
  readonly path: string;
  /** Absolute URL, no trailing slash: DHIS2's server.base.url. */
  readonly baseUrl: string;
  /** WAR source: URL or absolute local path. */
  readonly war: string;
  /** Expected sha256 of the WAR (lowercase hex), when the stack gives one. */
  readonly warSha256?: string;
  readonly servletContainer: ServletContainer;
  readonly jdk: number;
  readonly heapMb?: number;
  readonly connectionPoolMaxSize?: number;
  readonly size: RequestedSize;
  /** The stack keys that set its CPUs and memory: its own size, or sizes.instance (for messages). */
  readonly sizeKeys: { readonly cpus: string; readonly memoryGb: string };
  readonly trackerSearch: TrackerSearchIndexes;
  /** The system of its server or container. */
  readonly os: OsId;
  /** Where its servlet container comes from: the system's package, or Apache's archive (dhis2:sources.tomcat9/10). */
  readonly tomcatFrom: "distribution" | "archive";
  /** Where its JDK comes from: the system's OpenJDK, or the JDK vendor's apt repository (dhis2:sources.jdk). */
  readonly jdkFrom: "distribution" | "vendor";
}

/** An apt repository the toolkit adds on a node (signed-by its key, whose fingerprint is pinned). */
export interface AptRepository {
  readonly url: string;
  /** The signing key: a URL or an absolute local path. */
  readonly key: string;
  readonly fingerprint: string;
}

/** Apache Tomcat from its release archive (or a mirror, or a local file). */
export interface TomcatArchive {
  readonly url: string;
  readonly sha512: string;
}

/** Where software comes from when a node's system does not package it (dhis2:sources). */
export interface Sources {
  readonly postgresql: AptRepository;
  readonly jdk: AptRepository;
  readonly tomcat9?: TomcatArchive;
  readonly tomcat10?: TomcatArchive;
}

export interface DeploymentConfig {
  /** Stack name (e.g. ke-prod). */
  readonly stack: string;
  readonly platform: Platform;
  readonly isolation: Isolation;
  readonly domain: string;
  /** Marked as a test stack (dhis2:testStack): the policy pack accepts a self-signed certificate. */
  readonly testStack: boolean;
  /** Private IPv4 network of the deployment. */
  readonly networkCidr: string;
  readonly postgres: {
    readonly version: number;
    readonly synchronousCommit: "on" | "off";
    readonly walWriterDelayMs: number;
    readonly reservedConnections: number;
    /** The database node's system packages this major, or it comes from the PostgreSQL project's apt repository. */
    readonly from: "distribution" | "pgdg";
    /** log_min_duration_statement in ms; -1 turns the slow-query log off. */
    readonly logMinDurationStatementMs: number;
  };
  /** The system of each node that is not an instance (instances carry their own). */
  readonly os: { readonly default: OsId; readonly proxy: OsId; readonly database: OsId; readonly monitor: OsId };
  readonly sources: Sources;
  readonly sizes: {
    /** lxd isolation: the one host. */
    readonly host?: HostSize;
    readonly proxy: RequestedSize;
    readonly database: RequestedSize;
    readonly monitor: RequestedSize;
  };
  readonly instances: readonly InstanceConfig[];
  /** When the data path (PostgreSQL, Tomcat, the JDK) is upgraded: "Sun 03:00" or "daily 03:00". */
  readonly maintenance: { readonly window: string };
  /** The proxy's analytics rate limit (per client address). */
  readonly proxy: { readonly analyticsRatePerSecond: number; readonly analyticsBurst: number };
  readonly tls: {
    readonly mode: TlsMode;
    readonly email?: string;
    readonly certificateFile?: string;
    readonly keyFile?: string;
  };
  readonly admin: {
    readonly user: string;
    readonly sshKeys: readonly string[];
    readonly allowedCidrs: readonly string[];
    /** Private SSH key the toolkit connects with (servers it does not create itself, and clouds). */
    readonly privateKey?: SecretRef;
  };
  readonly alerts: {
    readonly recipients: readonly string[];
    readonly from: string;
    readonly smtp?: {
      readonly host: string;
      readonly port: number;
      readonly security: "starttls" | "tls" | "none";
      readonly username?: string;
      readonly password?: SecretRef;
    };
  };
  readonly monitoring: {
    readonly glowroot: boolean;
    readonly glowrootVersion: string;
    readonly glowrootArchive: string;
    readonly thresholds: {
      readonly diskWarningPercent: number;
      readonly diskCriticalPercent: number;
      readonly loadWarningPerCpu: number;
      readonly loadCriticalPerCpu: number;
      readonly pingSlowMs: number;
      readonly certificateWarningDays: number;
      readonly certificateCriticalDays: number;
    };
  };
  /** Scheduled backups (docs/backups.md). */
  readonly backup: BackupConfig;
  /** dhis2:generated: the generated secrets the stack file holds, by name (lib/config/generated.ts). */
  readonly generated: Readonly<Record<string, SecretRef>>;
  /** platform existing. */
  readonly servers?: {
    readonly host?: ServerInput;
    readonly proxy?: ServerInput;
    readonly database?: ServerInput;
    readonly monitor?: ServerInput;
    readonly instances?: Readonly<Record<string, ServerInput>>;
  };
  readonly cloud: { readonly location?: string; readonly image?: string };
  /** Fetch the WAR and glowroot URLs from the machine running pulumi before anything is created. */
  readonly checkUrls: boolean;
  /** The host verification after provisioning: strict turns its warnings into failures. */
  readonly hostCheck: { readonly strict: boolean };
  /** isolation lxd: the containers' LXD network; on this machine, what is forwarded to the proxy. */
  readonly lxd: {
    readonly bridge: string;
    readonly forward: { readonly address: string; readonly http: number; readonly https: number };
  };
}

/** dhis2:backup: what is backed up when, how long it is kept, where the off-site copy goes. */
export interface BackupConfig {
  readonly enabled: boolean;
  /** systemd OnCalendar expression. */
  readonly schedule: string;
  readonly retention: { readonly daily: number; readonly weekly: number; readonly monthly: number };
  readonly maxAgeHours: number;
  readonly offsite?: {
    /** restic repository, s3:https://host/bucket/path. */
    readonly repository: string;
    readonly accessKeyId: string;
    readonly secretAccessKey: SecretRef;
  };
}

/** One problem in the stack configuration: the key, the value found, and what is allowed. */
export interface ConfigProblem {
  /** Full stack key, e.g. "dhis2:instances[1].path". */
  readonly key: string;
  /** The offending value as found (secrets masked); undefined when the key is missing. */
  readonly value?: unknown;
  /** What is wrong and what is allowed. */
  readonly message: string;
}

/** Thrown when a stack configuration is invalid; lists every problem at once. */
export class ConfigError extends Error {
  constructor(readonly source: string, readonly problems: readonly ConfigProblem[]) {
    super(formatProblems(source, problems));
    this.name = "ConfigError";
  }
}

export function formatProblem(p: ConfigProblem): string {
  const got = p.value === undefined ? "" : ` (got ${JSON.stringify(p.value)})`;
  return `${p.key}: ${p.message}${got}`;
}

export function formatProblems(source: string, problems: readonly ConfigProblem[]): string {
  const n = problems.length;
  return [
    `Invalid stack configuration in ${source}: ${n} problem${n === 1 ? "" : "s"}. Nothing was changed.`,
    ...problems.map((p) => `  - ${formatProblem(p)}`),
  ].join("\n");
}
