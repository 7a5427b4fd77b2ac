/**
 * Validation and defaults: raw stack config → DeploymentConfig, or every problem at once.
 *
 * Pure: no file system, no network, no Pulumi. Sizing problems (containers that do not fit the
 * host, a heap larger than the instance) are found by the plan (lib/plan) and reported the same way.
 */
import { z } from "zod";
import { closest, distance } from "fastest-levenshtein";
import * as ipaddr from "ipaddr.js";
import { defaultWarUrl, resolveDhis2Runtime, LATEST_MAJOR } from "../dhis2/compat";
import type { ConfigProblem, DeploymentConfig, InstanceConfig, Platform, RequestedSize } from "./model";
import { hostReserve, MINIMUM } from "../plan/sizing";
import { NAMESPACE } from "./stack-file";
import { LOCAL_IMAGE } from "../render/packages";
import { stackConfig, type StackConfigInput, type RoleSizeInput, type ServerInput } from "./schema";

export const DEFAULTS = {
  platform: "local" as Platform,
  postgresVersion: 16,
  networkCidr: "10.231.20.0/24",
  localDomain: "dhis2.local",
  adminUser: "dhis2admin",
  synchronousCommit: "on" as const,
  walWriterDelayMs: 200,
  reservedConnections: 20,
  smtpPort: { starttls: 587, tls: 465, none: 25 },
  glowrootVersion: "0.14.2",
  thresholds: { diskWarningPercent: 80, diskCriticalPercent: 90, loadWarningPerCpu: 1.5, loadCriticalPerCpu: 3 },
  /** The guidance's reference server (seed 000): 32 CPUs, 32 GB, SSD. */
  referenceHost: { cpus: 32, memoryGb: 32, disk: "ssd" as const, diskGb: 500 },
  /** A DHIS2 server: the reference size; its disk holds the WAR, logs and file store only. */
  vmInstance: { cpus: 32, memoryGb: 32, disk: "ssd" as const, diskGb: 50 },
  vmProxy: { cpus: 2, memoryGb: 4, disk: "ssd" as const, diskGb: 40 },
  vmMonitor: { cpus: 2, memoryGb: 4, disk: "ssd" as const, diskGb: 80 },
  maxInstances: 9,
} as const;

/** Paths the proxy itself serves on the main domain. */
export const RESERVED_PATHS = ["/munin", "/glowroot", "/.well-known", "/nginx_status"] as const;

export function glowrootArchiveUrl(version: string): string {
  return `https://github.com/glowroot/glowroot/releases/download/v${version}/glowroot-${version}-dist.zip`;
}

export interface ValidationResult {
  readonly config?: DeploymentConfig;
  readonly problems: readonly ConfigProblem[];
  readonly warnings: readonly string[];
}

const key = (path: readonly PropertyKey[]): string => {
  let out = `${NAMESPACE}:`;
  path.forEach((p, i) => {
    if (typeof p === "number") out += `[${p}]`;
    else out += i === 0 ? String(p) : `.${String(p)}`;
  });
  return out;
};

const SECRET_KEYS = /password|token|secret|privateKey/i;
function shown(path: readonly PropertyKey[], value: unknown): unknown {
  if (path.some((p) => typeof p === "string" && SECRET_KEYS.test(p))) return value === undefined ? undefined : "(secret hidden)";
  if (typeof value === "object" && value !== null) {
    const text = JSON.stringify(value);
    return text.length > 120 ? `${text.slice(0, 117)}...` : value;
  }
  return value;
}

/** The object schema found at a path, to list the keys it allows. */
function objectKeysAt(path: readonly PropertyKey[]): string[] {
  let s: z.ZodType = stackConfig;
  for (const p of path) {
    s = unwrap(s);
    if (s instanceof z.ZodObject && typeof p === "string") s = (s.shape as Record<string, z.ZodType>)[p] as z.ZodType;
    else if (s instanceof z.ZodArray && typeof p === "number") s = s.element as z.ZodType;
    else if (s instanceof z.ZodRecord) s = s.valueType as z.ZodType;
    else return [];
    if (!s) return [];
  }
  s = unwrap(s);
  return s instanceof z.ZodObject ? Object.keys(s.shape) : [];
}
function unwrap(s: z.ZodType): z.ZodType {
  while (s instanceof z.ZodOptional || s instanceof z.ZodDefault) s = s.unwrap() as z.ZodType;
  return s;
}

function zodProblems(error: z.ZodError): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const issue of error.issues) {
    const input = (issue as { input?: unknown }).input;
    switch (issue.code) {
      case "unrecognized_keys": {
        const allowed = objectKeysAt(issue.path);
        for (const k of issue.keys) {
          const guess = allowed.length ? closest(k, allowed) : undefined;
          const hint = guess && similar(k, guess) ? `did you mean "${guess}"? ` : "";
          out.push({ key: key([...issue.path, k]), message: `unknown key: ${hint}allowed keys here: ${allowed.join(", ")}` });
        }
        break;
      }
      case "invalid_value":
        out.push({ key: key(issue.path), value: shown(issue.path, input), message: `allowed values: ${issue.values.map((v) => JSON.stringify(v)).join(", ")}` });
        break;
      case "invalid_type": {
        const expected = YAML_TYPES[issue.expected] ?? issue.expected;
        const isDefault = issue.message.startsWith("Invalid input");
        const message = input === undefined ? `is required (${expected})` : isDefault ? `must be ${article(expected)} but is ${describe(input)}` : issue.message;
        out.push({ key: key(issue.path), value: shown(issue.path, input), message });
        break;
      }
      default: {
        out.push({ key: key(issue.path), value: shown(issue.path, input), message: issue.message });
      }
    }
  }
  return out;
}

function servletHint(major: number, container: string): string {
  if (major < 42 && container === "tomcat10") return " (DHIS2 before 2.42 uses javax.servlet, Tomcat 10 requires jakarta.servlet)";
  if (major === 42 && container === "tomcat9") return " (DHIS2 2.42 uses jakarta.servlet, which needs Tomcat 10)";
  if (major >= 43 && container !== "embedded") return " (DHIS2 2.43 and later run their own embedded server, no Tomcat)";
  return "";
}

function similar(a: string, b: string): boolean {
  return distance(a.toLowerCase(), b.toLowerCase()) <= Math.max(3, Math.floor(b.length / 3));
}
/** zod's type names in the words of a YAML stack file (describe() uses the same words). */
const YAML_TYPES: Partial<Record<string, string>> = { int: "a whole number", object: "a mapping", record: "a mapping", map: "a mapping", array: "a list" };
function article(t: string): string {
  return /^a /.test(t) ? t : /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`;
}
function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return `a ${typeof v}`;
}

/**
 * Validate a raw stack config (the `dhis2:` keys, prefix removed) and apply defaults.
 * Returns every problem found; `config` is set only when there are none.
 */
export function validateStackConfig(stack: string, raw: Record<string, unknown>): ValidationResult {
  const parsed = stackConfig.safeParse(raw, { reportInput: true });
  if (!parsed.success) return { problems: zodProblems(parsed.error), warnings: [] };
  const c = parsed.data;
  const problems: ConfigProblem[] = [];
  const warnings: string[] = [];
  const problem = (path: readonly PropertyKey[], message: string, value?: unknown) =>
    problems.push({ key: key(path), value: shown(path, value), message });

  const platform = c.platform ?? DEFAULTS.platform;
  const isolation = c.isolation ?? (platform === "local" ? "lxd" : "vm");
  const isLocal = platform === "local";
  if (isLocal && isolation !== "lxd") problem(["isolation"], `platform "local" runs every role in LXD containers on this machine: allowed: lxd`, isolation);

  const domain = c.domain ?? (isLocal ? DEFAULTS.localDomain : undefined);
  if (!domain) problem(["domain"], "is required for platform " + platform + ": the public DNS name of the proxy, e.g. dhis2.health.go.ke");

  // network
  const networkCidr = c.network?.cidr ?? DEFAULTS.networkCidr;
  checkPrivateNetwork(networkCidr, (m) => problem(["network", "cidr"], m, networkCidr));
  if (platform === "aws" && isolation === "vm" && /\/(2[6-9]|3\d)$/.test(networkCidr)) {
    problem(["network", "cidr"], "must have a prefix from /16 to /25 on aws: it is split into a public subnet (the proxy, the NAT gateway) and a private one (the other servers)", networkCidr);
  }

  // PostgreSQL
  const pgVersion = c.postgresVersion ?? (isLocal ? LOCAL_IMAGE.postgres[0]! : DEFAULTS.postgresVersion);
  if (isLocal && !LOCAL_IMAGE.postgres.includes(pgVersion)) {
    problem(["postgresVersion"], `platform "local" runs the roles in ${LOCAL_IMAGE.name} containers, which package PostgreSQL ${LOCAL_IMAGE.postgres.join(", ")} only: allowed: ${LOCAL_IMAGE.postgres.join(", ")}`, pgVersion);
  }
  if (pgVersion === 13) {
    warnings.push(`dhis2:postgresVersion 13: PostgreSQL 13 reached end of life in November 2025 and gets no more security fixes; accepted because the COVAX guidance names it, but plan the upgrade to 16 (the default).`);
  }
  const synchronousCommit = c.postgres?.synchronousCommit ?? DEFAULTS.synchronousCommit;
  const walWriterDelayMs = c.postgres?.walWriterDelayMs ?? DEFAULTS.walWriterDelayMs;
  if (synchronousCommit === "off") {
    warnings.push(`dhis2:postgres.synchronousCommit off: a crash of the database server can lose the commits of the last ${3 * walWriterDelayMs} ms (3 × walWriterDelayMs); the database stays consistent. Keep "on" unless you accept that loss.`);
  } else if (c.postgres?.walWriterDelayMs !== undefined && c.postgres.walWriterDelayMs > 1000) {
    warnings.push(`dhis2:postgres.walWriterDelayMs ${c.postgres.walWriterDelayMs} only matters with synchronousCommit off.`);
  }

  // sizes
  const sizes = c.sizes ?? {};
  if (isolation === "vm" && sizes.host) problem(["sizes", "host"], "applies to isolation lxd only (the one server running every container); with isolation vm, size each role under sizes.proxy, sizes.database, sizes.monitor, sizes.instance");
  if (isolation === "lxd") {
    for (const role of ["proxy", "database", "monitor", "instance"] as const) {
      const s = sizes[role];
      if (s?.serverType) problem(["sizes", role, "serverType"], "applies to isolation vm only: in lxd isolation roles are containers on sizes.host", s.serverType);
      if (s?.disk) problem(["sizes", role, "disk"], "applies to isolation vm only: in lxd isolation every container uses the disk of sizes.host", s.disk);
    }
  }
  if ((platform === "local" || platform === "existing") && isolation === "vm") {
    for (const role of ["proxy", "database", "monitor", "instance"] as const) {
      const s = sizes[role];
      if (s?.serverType) problem(["sizes", role, "serverType"], `applies to platforms hcloud and aws only, not ${platform}`, s.serverType);
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
  const vmDefault = (s: RoleSizeInput | undefined, d: { cpus: number; memoryGb: number; disk: "ssd"; diskGb: number }): RequestedSize =>
    isolation === "vm" ? { ...d, ...s } : { ...s };

  // instances
  const instancesIn = c.instances;
  if (!instancesIn) problem(["instances"], "is required: list the DHIS2 instances, e.g. [{ name: production, version: \"2.41.3\", path: / }]");
  const instances: InstanceConfig[] = [];
  if (instancesIn && instancesIn.length > DEFAULTS.maxInstances) {
    problem(["instances"], `lists ${instancesIn.length} instances; at most ${DEFAULTS.maxInstances} fit one stack's address plan (make another stack for more)`);
  }
  const names = new Map<string, number>();
  const routes = new Map<string, number>();
  (instancesIn ?? []).forEach((inst, i) => {
    const at = (...p: PropertyKey[]) => ["instances", i, ...p];
    if (names.has(inst.name)) problem(at("name"), `duplicates the name of instances[${names.get(inst.name)}]: instance names must be unique`, inst.name);
    else names.set(inst.name, i);

    const runtime = resolveDhis2Runtime(inst.version);
    if (pgVersion < runtime.postgres.min || pgVersion > runtime.postgres.max) {
      problem(at("version"), `DHIS2 ${runtime.display} supports PostgreSQL ${runtime.postgres.min} to ${runtime.postgres.max}, but dhis2:postgresVersion is ${pgVersion}: choose another DHIS2 release or postgresVersion`, inst.version);
    }
    if (!runtime.supported) {
      warnings.push(`dhis2:instances[${i}].version ${inst.version}: DHIS2 2.${runtime.major} no longer receives security patches (supported: the three latest, up to 2.${LATEST_MAJOR}); plan the upgrade.`);
    }
    const container = inst.servletContainer ?? runtime.servletContainers[0]!;
    if (!runtime.servletContainers.includes(container)) {
      problem(at("servletContainer"), `DHIS2 ${runtime.display} cannot run on ${container}: allowed: ${runtime.servletContainers.join(", ")}${servletHint(runtime.major, container)}`, container);
    }
    const localJdk = LOCAL_IMAGE.jdks.filter((v) => v >= runtime.jdkMinimum).at(-1);
    const jdk = inst.jdk ?? (isLocal && localJdk && runtime.jdkRecommended > localJdk ? localJdk : runtime.jdkRecommended);
    if (jdk < runtime.jdkMinimum) problem(at("jdk"), `DHIS2 ${runtime.display} needs JDK ${runtime.jdkMinimum} or newer: allowed: ${[11, 17, 21].filter((v) => v >= runtime.jdkMinimum).join(", ")}`, jdk);
    else if (isLocal && !LOCAL_IMAGE.jdks.includes(jdk)) {
      problem(at("jdk"), `platform "local" runs ${LOCAL_IMAGE.name} containers, which package JDK ${LOCAL_IMAGE.jdks.join(", ")} only: allowed: ${LOCAL_IMAGE.jdks.join(", ")}`, jdk);
    }
    if (isLocal && runtime.servletContainers.includes(container) && !LOCAL_IMAGE.servletContainers.includes(container)) {
      problem(at(inst.servletContainer ? "servletContainer" : "version"), `DHIS2 ${runtime.display} needs ${container}, which ${LOCAL_IMAGE.name} does not package (it has ${LOCAL_IMAGE.servletContainers.join(", ")}): on platform "local" use DHIS2 2.42 or newer`, inst.servletContainer ?? inst.version);
    }

    if (inst.hostname && inst.path && inst.path !== "/") {
      problem(at("path"), `an instance with its own hostname is served at "/": remove path or hostname`, inst.path);
    }
    const hostname = inst.hostname ?? domain ?? DEFAULTS.localDomain;
    const path = inst.hostname ? "/" : inst.path ?? "/";
    if (hostname === domain && RESERVED_PATHS.some((r) => path === r || path.startsWith(`${r}/`))) {
      problem(at("path"), `is used by the proxy itself (${RESERVED_PATHS.join(", ")}): choose another path`, path);
    }
    const route = `${hostname}${path}`;
    if (routes.has(route)) {
      problem(at(inst.hostname ? "hostname" : "path"), `instances[${routes.get(route)}] is already served at https://${route}: each instance needs its own path or hostname`, inst.hostname ?? path);
    } else routes.set(route, i);

    const attrs = inst.trackerSearch?.attributes ?? [];
    attrs.forEach((u, j) => {
      if (attrs.indexOf(u) !== j) problem(at("trackerSearch", "attributes", j), "is listed twice", u);
    });
    const pairs = inst.trackerSearch?.eventDataElements ?? [];
    pairs.forEach((p, j) => {
      if (pairs.findIndex((q) => q.programStage === p.programStage && q.dataElement === p.dataElement) !== j) {
        problem(at("trackerSearch", "eventDataElements", j), "is listed twice", p);
      }
    });
    if (isolation === "lxd" && inst.size?.serverType) problem(at("size", "serverType"), "applies to isolation vm only", inst.size.serverType);
    else if ((platform === "local" || platform === "existing") && inst.size?.serverType) problem(at("size", "serverType"), `applies to platforms hcloud and aws only, not ${platform}`, inst.size.serverType);
    if (isolation === "lxd" && inst.size?.disk) problem(at("size", "disk"), "applies to isolation vm only: in lxd isolation every container uses the disk of sizes.host", inst.size.disk);

    instances.push({
      name: inst.name,
      runtime,
      hostname,
      path,
      baseUrl: `https://${hostname}${path === "/" ? "" : path}`,
      war: inst.war ?? defaultWarUrl(runtime),
      servletContainer: container,
      jdk,
      heapMb: inst.heapMb,
      connectionPoolMaxSize: inst.connectionPoolMaxSize,
      size: vmDefault({ ...sizes.instance, ...inst.size }, DEFAULTS.vmInstance),
      trackerSearch: { attributes: attrs, eventDataElements: pairs },
    });
  });
  if (host) checkHostCapacity(host, sizes, instances, (instancesIn ?? []).map((inst) => inst.size), problem);
  // an instance's own hostname must not be the domain with another instance's path clash handled above;
  // the domain itself must not double as an instance hostname while another instance sits at "/" there
  // (covered by the route check).

  // TLS
  const tlsMode = c.tls?.mode ?? (isLocal ? "self-signed" : "letsencrypt");
  if (isLocal && tlsMode === "letsencrypt") problem(["tls", "mode"], `the local platform is not reachable from the internet, so Let's Encrypt cannot validate it: allowed: self-signed, provided`, tlsMode);
  const tlsEmail = c.tls?.email ?? c.alerts?.recipients?.[0];
  if (tlsMode === "letsencrypt" && !tlsEmail) problem(["tls", "email"], "is required for tls.mode letsencrypt (the ACME account address for expiry notices), or set alerts.recipients");
  if (tlsMode === "provided") {
    if (!c.tls?.certificateFile) problem(["tls", "certificateFile"], "is required for tls.mode provided: absolute path of the PEM certificate chain");
    if (!c.tls?.keyFile) problem(["tls", "keyFile"], "is required for tls.mode provided: absolute path of the PEM private key");
  } else {
    if (c.tls?.certificateFile) problem(["tls", "certificateFile"], `applies to tls.mode provided only (mode is ${tlsMode})`, c.tls.certificateFile);
    if (c.tls?.keyFile) problem(["tls", "keyFile"], `applies to tls.mode provided only (mode is ${tlsMode})`, c.tls.keyFile);
  }

  // admin access
  const sshKeys = c.admin?.sshKeys ?? [];
  const allowedCidrs = c.admin?.allowedCidrs ?? [];
  if (!isLocal && sshKeys.length === 0) problem(["admin", "sshKeys"], `needs at least one public key for platform ${platform}: servers accept SSH keys only, no passwords`);
  if (!isLocal && allowedCidrs.length === 0) problem(["admin", "allowedCidrs"], `needs at least one CIDR for platform ${platform}: SSH is open only to these networks (e.g. the ministry's office range)`);
  if (isLocal && c.admin?.privateKey !== undefined) problem(["admin", "privateKey"], "applies to platforms that reach servers over SSH (existing, hcloud, aws), not local");
  allowedCidrs.forEach((cidr, i) => {
    if (/\/0$/.test(cidr)) problem(["admin", "allowedCidrs", i], "would open SSH to the whole internet: list the networks administrators connect from", cidr);
  });

  // alerts
  const recipients = c.alerts?.recipients ?? [];
  if (!isLocal && recipients.length === 0) problem(["alerts", "recipients"], `needs at least one e-mail address for platform ${platform}: monitoring alerts must reach someone`);
  if (recipients.length > 0 && !c.alerts?.smtp) problem(["alerts", "smtp"], "is required when alerts.recipients is set: a send-only mail setup delivers through a relay (most clouds block direct port 25)");
  const smtp = c.alerts?.smtp;
  if (smtp?.password !== undefined && smtp.username === undefined) problem(["alerts", "smtp", "username"], "is required when alerts.smtp.password is set");
  if (smtp?.username !== undefined && smtp.password === undefined) problem(["alerts", "smtp", "password"], "is required when alerts.smtp.username is set (set it with `pulumi config set --secret dhis2:alerts.smtp.password`)");
  if (smtp?.username !== undefined && smtp.security === "none") problem(["alerts", "smtp", "security"], "must be starttls or tls when a username and password are sent: allowed: starttls, tls", "none");
  if (smtp && typeof smtp.password === "string" && !isLocal) {
    warnings.push("dhis2:alerts.smtp.password is stored in plain text in the stack file: set it with `pulumi config set --secret dhis2:alerts.smtp.password` instead.");
  }

  // monitoring
  const th = { ...DEFAULTS.thresholds, ...c.monitoring?.thresholds };
  if (th.diskWarningPercent >= th.diskCriticalPercent) problem(["monitoring", "thresholds", "diskWarningPercent"], `must be below diskCriticalPercent (${th.diskCriticalPercent})`, th.diskWarningPercent);
  if (th.loadWarningPerCpu >= th.loadCriticalPerCpu) problem(["monitoring", "thresholds", "loadWarningPerCpu"], `must be below loadCriticalPerCpu (${th.loadCriticalPerCpu})`, th.loadWarningPerCpu);
  const glowrootVersion = c.monitoring?.glowrootVersion ?? DEFAULTS.glowrootVersion;

  // servers (existing) and cloud placement
  checkServers(c, platform, isolation, instances.map((x) => x.name), problem);
  if (c.cloud && platform !== "hcloud" && platform !== "aws") problem(["cloud"], `applies to platforms hcloud and aws only, not ${platform}`, c.cloud);

  if (problems.length > 0) return { problems, warnings };
  return {
    problems,
    warnings,
    config: {
      stack,
      platform,
      isolation,
      domain: domain!,
      networkCidr,
      postgres: {
        version: pgVersion,
        synchronousCommit,
        walWriterDelayMs,
        reservedConnections: c.postgres?.reservedConnections ?? DEFAULTS.reservedConnections,
      },
      sizes: {
        host,
        proxy: vmDefault(sizes.proxy, DEFAULTS.vmProxy),
        database: vmDefault(sizes.database, DEFAULTS.referenceHost),
        monitor: vmDefault(sizes.monitor, DEFAULTS.vmMonitor),
      },
      instances,
      tls: { mode: tlsMode, email: tlsEmail, certificateFile: c.tls?.certificateFile, keyFile: c.tls?.keyFile },
      admin: {
        user: c.admin?.user ?? DEFAULTS.adminUser,
        sshKeys,
        allowedCidrs,
        privateKey: c.admin?.privateKey === undefined ? undefined
          : { configKey: `${NAMESPACE}:admin.privateKey`, value: typeof c.admin.privateKey === "string" ? c.admin.privateKey : undefined },
      },
      alerts: {
        recipients,
        from: c.alerts?.from ?? `dhis2-alerts@${domain}`,
        smtp: smtp && {
          host: smtp.host,
          port: smtp.port ?? DEFAULTS.smtpPort[smtp.security ?? "starttls"],
          security: smtp.security ?? "starttls",
          username: smtp.username,
          password: smtp.password === undefined
            ? undefined
            : { configKey: `${NAMESPACE}:alerts.smtp.password`, value: typeof smtp.password === "string" ? smtp.password : undefined },
        },
      },
      monitoring: {
        glowroot: c.monitoring?.glowroot ?? true,
        glowrootVersion,
        glowrootArchive: c.monitoring?.glowrootArchive ?? glowrootArchiveUrl(glowrootVersion),
        thresholds: th,
      },
      servers: c.servers,
      cloud: { location: c.cloud?.location, image: c.cloud?.image },
    },
  };
}

/**
 * lxd isolation: the host must hold every container at its smallest (or at its explicit size) plus
 * what the host OS keeps. The plan shares out the rest; without this check a host that is too small
 * left the database or an instance a negative share, reported at a key the stack does not set.
 */
function checkHostCapacity(
  host: { cpus: number; memoryGb: number },
  sizes: NonNullable<StackConfigInput["sizes"]>,
  instances: readonly InstanceConfig[],
  ownSizes: readonly (RoleSizeInput | undefined)[],
  problem: (path: readonly PropertyKey[], message: string, value?: unknown) => void,
): void {
  const reserve = hostReserve(host.cpus, host.memoryGb * 1024);
  const roles: [string, RequestedSize | undefined, (typeof MINIMUM)[keyof typeof MINIMUM]][] = [
    ["dhis2:sizes.proxy", sizes.proxy, MINIMUM.proxy],
    ["dhis2:sizes.monitor", sizes.monitor, MINIMUM.monitor],
    ["dhis2:sizes.database", sizes.database, MINIMUM.database],
    ...instances.map((inst, i) => [`dhis2:instances[${i}].size`, inst.size, MINIMUM.instance] as [string, RequestedSize, typeof MINIMUM.instance]),
  ];
  // an instance's size is its own or sizes.instance: name the key the stack sets
  const label = (k: string, i: number, field: "cpus" | "memoryGb") =>
    i >= 3 && ownSizes[i - 3]?.[field] === undefined ? `dhis2:sizes.instance.${field}` : `${k}.${field}`;
  const explicit = (field: "cpus" | "memoryGb") => [...new Set(roles.flatMap(([k, s], i) =>
    s?.[field] === undefined ? [] : [`${label(k, i, field)} ${s[field]}`]))];
  const needMb = reserve.memoryMb + roles.reduce((a, [, s, min]) => a + (s?.memoryGb !== undefined ? s.memoryGb * 1024 : min.memoryMb), 0);
  const needCpus = reserve.cpus + roles.reduce((a, [, s, min]) => a + (s?.cpus ?? min.cpus), 0);
  const fix = (field: "cpus" | "memoryGb", what: string) => {
    const e = explicit(field);
    return e.length ? ` (explicit sizes: ${e.join(", ")}): raise the host's ${what} or lower the explicit sizes` : `: raise the host's ${what} or run fewer instances`;
  };
  if (host.memoryGb * 1024 + 1e-6 < needMb) {
    problem(["sizes", "host", "memoryGb"], `is too small for the containers: proxy, monitor, database and ${instances.length} DHIS2 instance(s) need at least ${Math.ceil((needMb / 1024) * 4) / 4} GB including ${reserve.memoryMb} MB for the host OS${fix("memoryGb", "memory")}`, host.memoryGb);
  }
  if (host.cpus + 1e-6 < needCpus) {
    problem(["sizes", "host", "cpus"], `is too small for the containers: proxy, monitor, database and ${instances.length} DHIS2 instance(s) need at least ${Math.ceil(needCpus * 4) / 4} CPUs including ${reserve.cpus} for the host OS${fix("cpus", "CPUs")}`, host.cpus);
  }
}

function checkPrivateNetwork(cidr: string, report: (m: string) => void): void {
  if (cidr.includes(":")) return report("must be an IPv4 network (the private addresses of the roles)");
  const [addr, prefix] = ipaddr.parseCIDR(cidr);
  if (addr.kind() !== "ipv4" || (addr as ipaddr.IPv4).range() !== "private") return report("must be a private IPv4 range (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16)");
  if (prefix < 16 || prefix > 26) report("must have a prefix from /16 to /26 (the address plan uses .2 to .40 of the network)");
}

function checkServers(
  c: StackConfigInput,
  platform: Platform,
  isolation: "lxd" | "vm",
  instanceNames: readonly string[],
  problem: (path: readonly PropertyKey[], message: string, value?: unknown) => void,
): void {
  const s = c.servers;
  if (platform !== "existing") {
    if (s) problem(["servers"], `applies to platform existing only (platform is ${platform}: the toolkit creates the servers)`, Object.keys(s));
    return;
  }
  if (!s) {
    problem(["servers"], isolation === "lxd"
      ? "is required for platform existing with isolation lxd: servers.host = { address } of the server that runs LXD"
      : "is required for platform existing: servers.proxy, servers.database, servers.monitor and servers.instances.<name> = { address }");
    return;
  }
  if (isolation === "lxd") {
    if (!s.host) problem(["servers", "host"], "is required for isolation lxd: the server that runs every container");
    for (const role of ["proxy", "database", "monitor", "instances"] as const) {
      if (s[role]) problem(["servers", role], "applies to isolation vm only (with lxd, every role runs in a container on servers.host)");
    }
    return;
  }
  if (s.host) problem(["servers", "host"], "applies to isolation lxd only; with isolation vm list servers.proxy, servers.database, servers.monitor, servers.instances");
  for (const role of ["proxy", "database", "monitor"] as const) {
    if (!s[role]) problem(["servers", role], `is required for platform existing with isolation vm: { address: <IP>, user: <ssh user> }`);
  }
  for (const name of instanceNames) {
    if (!s.instances?.[name]) problem(["servers", "instances", name], `is required: the server for DHIS2 instance "${name}"`);
  }
  for (const name of Object.keys(s.instances ?? {})) {
    if (!instanceNames.includes(name)) problem(["servers", "instances", name], `names no instance: instances are ${instanceNames.join(", ") || "(none)"}`);
  }
  const all: [PropertyKey[], ServerInput | undefined][] = [
    [["servers", "proxy"], s.proxy], [["servers", "database"], s.database], [["servers", "monitor"], s.monitor],
    ...Object.entries(s.instances ?? {}).map(([n, v]) => [["servers", "instances", n], v] as [PropertyKey[], ServerInput]),
  ];
  const seen = new Map<string, string>();
  const seenPrivate = new Map<string, string>();
  for (const [path, server] of all) {
    if (!server) continue;
    const name = path.join(".");
    if (seen.has(server.address)) problem([...path, "address"], `uses the same address as ${seen.get(server.address)}: isolation vm needs a server per role`, server.address);
    else seen.set(server.address, name);
    // the private address (default: address) is what the firewalls and the other roles use
    const priv = server.privateAddress ?? server.address;
    const other = seenPrivate.get(priv);
    if (other !== undefined && other !== seen.get(server.address)) {
      problem([...path, server.privateAddress ? "privateAddress" : "address"], `is also the private address of ${other}: isolation vm needs a server per role`, priv);
    } else if (other === undefined) seenPrivate.set(priv, name);
  }
}
