/**
 * Stack configuration: the example stacks load with their defaults; every invalid configuration is
 * refused with a ConfigError that names the stack key and says what is allowed; warnings; secrets.
 *
 * Each invalid case is one small mutation of a valid base config (the `dhis2:` keys as a plain
 * object, as a stack file holds them).
 */
import test from "ava";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { deployProblems } from "../lib/config/artifacts";
import { loadDeployment, loadStackFile, type LoadedDeployment } from "../lib/load";
import { ConfigError } from "../lib/config/model";
import { decodeEngineConfig, engineSecretSource, readStackFile } from "../lib/config/stack-file";
import type { Plan } from "../lib/plan";
import { renderDeployment } from "../lib/render/hosts";
import { placeholderSecrets } from "../lib/render/secrets";
import type { SecretSource } from "../lib/config/validate/problems";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the raw config is untyped YAML on purpose
type Raw = { [key: string]: any };

const PROJECT = path.resolve(__dirname, "..");
const SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHJ0d3Bvb2xleGFtcGxla2V5Zm9yZG9jc29ubHkx admin@moh.example.org";

/** Existing servers running Ubuntu 24.04, one VM per role, two instances at "/" and "/training". */
const existing = (): Raw => ({
  platform: "existing",
  isolation: "vm",
  os: "ubuntu-24.04",
  domain: "dhis2.health.example.org",
  sizes: { database: { cpus: 32, memoryGb: 32 }, instance: { cpus: 8, memoryGb: 16 } },
  instances: [
    { name: "production", version: "2.42.1", path: "/" },
    { name: "training", version: "2.42.1", path: "/training" },
  ],
  servers: {
    proxy: { address: "10.10.20.2", user: "ubuntu" },
    database: { address: "10.10.20.20", user: "ubuntu" },
    monitor: { address: "10.10.20.30", user: "ubuntu" },
    instances: { production: { address: "10.10.20.11" }, training: { address: "10.10.20.12" } },
  },
  network: { cidr: "10.10.20.0/24" },
  tls: { mode: "letsencrypt", email: "ops@health.example.org" },
  admin: { sshKeys: [SSH_KEY], allowedCidrs: ["196.12.4.0/24"] },
  alerts: { recipients: ["ops@health.example.org"], smtp: { host: "smtp.health.example.org" } },
  backup: { offsite: { repository: "s3:https://objects.health.example.org/dhis2-backups/moh", accessKeyId: "DHIS2BACKUP", secretAccessKey: { secure: "v1:c2VjcmV0" } } },
});

/** Hetzner Cloud, one server per role. */
const hcloud = (): Raw => ({
  platform: "hcloud",
  domain: "dhis2.example.org",
  sizes: { database: { cpus: 16, memoryGb: 64 }, instance: { cpus: 8, memoryGb: 32 } },
  instances: [{ name: "production", version: "2.42.1", path: "/" }],
  admin: { sshKeys: [SSH_KEY], allowedCidrs: ["196.12.4.0/24"] },
  alerts: { recipients: ["ops@example.org"], smtp: { host: "smtp.example.org", username: "relay", password: { secure: "v1:c2VjcmV0" } } },
  backup: { offsite: { repository: "s3:https://fsn1.your-objectstorage.com/dhis2-backups/moh", accessKeyId: "DHIS2BACKUP", secretAccessKey: { secure: "v1:c2VjcmV0" } } },
  cloud: { location: "fsn1" },
});

/** This machine: every role in an LXD container on a 4 CPU / 16 GB share. */
const local = (): Raw => ({
  platform: "local",
  sizes: { host: { cpus: 4, memoryGb: 16 } },
  instances: [{ name: "production", version: "2.42.1", path: "/" }],
});

const BASES = { existing, hcloud, local } as const;
type BaseName = keyof typeof BASES;

const load = (raw: Raw): LoadedDeployment => loadDeployment("test", raw, "stack test");

interface InvalidCase {
  readonly name: string;
  readonly base: BaseName;
  readonly mutate: (c: Raw) => void;
  /** Full stack key the problem must name. */
  readonly key: string;
  /** Fragments that must all appear in that problem's message (what is wrong, what is allowed). */
  readonly says: readonly string[];
  /** Fragments that must not appear in any message for that key. */
  readonly never?: readonly string[];
}

const instancesList = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ name: `dhis${i}`, version: "2.42.1", path: i === 0 ? "/" : `/dhis${i}` }));
const VERSION_HELP = "2.35 to 2.44";

const INVALID: readonly InvalidCase[] = [
  // ---- wrong types
  { name: "string for a number (cpus)", base: "existing", mutate: (c) => { c.sizes.database.cpus = "32"; }, key: "dhis2:sizes.database.cpus", says: ["must be a number of CPUs", "0.25 to 512"] },
  { name: "number for a string (domain)", base: "existing", mutate: (c) => { c.domain = 42; }, key: "dhis2:domain", says: ["lowercase DNS name", "dhis2.example.org"] },
  { name: "list for a mapping (tls)", base: "existing", mutate: (c) => { c.tls = ["letsencrypt"]; }, key: "dhis2:tls", says: ["must be a mapping", "is a list"] },
  { name: "boolean for a list (admin.sshKeys)", base: "existing", mutate: (c) => { c.admin.sshKeys = true; }, key: "dhis2:admin.sshKeys", says: ["must be a list", "is a boolean"] },
  { name: "mapping for a list (instances)", base: "existing", mutate: (c) => { c.instances = { production: { version: "2.41.3" } }; }, key: "dhis2:instances", says: ["must be a list", "is a mapping"] },
  { name: "string for a list (alerts.recipients)", base: "existing", mutate: (c) => { c.alerts.recipients = "ops@health.example.org"; }, key: "dhis2:alerts.recipients", says: ["must be a list", "is a string"] },
  { name: "list for a mapping (servers.instances)", base: "existing", mutate: (c) => { c.servers.instances = ["production", "training"]; }, key: "dhis2:servers.instances", says: ["must be a mapping", "is a list"] },
  { name: "null instance", base: "existing", mutate: (c) => { c.instances[1] = null; }, key: "dhis2:instances[1]", says: ["must be a mapping", "null"] },
  { name: "string for a boolean (monitoring.glowroot)", base: "existing", mutate: (c) => { c.monitoring = { glowroot: "yes" }; }, key: "dhis2:monitoring.glowroot", says: ["must be a boolean", "is a string"] },
  { name: "quoted postgresVersion", base: "existing", mutate: (c) => { c.postgresVersion = "16"; }, key: "dhis2:postgresVersion", says: ["13, 14, 15, 16, 17"] },
  { name: "YAML boolean for synchronousCommit", base: "existing", mutate: (c) => { c.postgres = { synchronousCommit: false }; }, key: "dhis2:postgres.synchronousCommit", says: ['"on", "off"'] },
  { name: "jdk as a string", base: "existing", mutate: (c) => { c.instances[0].jdk = "17"; }, key: "dhis2:instances[0].jdk", says: ["one of 11, 17, 21"] },

  // ---- unknown keys and typos
  { name: "unknown top-level key sizez", base: "existing", mutate: (c) => { c.sizez = c.sizes; delete c.sizes; }, key: "dhis2:sizez", says: ['did you mean "sizes"?', "allowed keys here"] },
  { name: "top-level typo platfrom", base: "hcloud", mutate: (c) => { c.platfrom = c.platform; delete c.platform; }, key: "dhis2:platfrom", says: ['did you mean "platform"?'] },
  { name: "instance key typo hostnme", base: "existing", mutate: (c) => { c.instances[1].hostnme = "training.example.org"; }, key: "dhis2:instances[1].hostnme", says: ['did you mean "hostname"?', "allowed keys here: name, version, path, hostname"] },
  { name: "servers key typo databse", base: "existing", mutate: (c) => { c.servers.databse = c.servers.database; delete c.servers.database; }, key: "dhis2:servers.databse", says: ['did you mean "database"?'] },
  { name: "nested unknown size key memGb", base: "existing", mutate: (c) => { c.sizes.database.memGb = 32; }, key: "dhis2:sizes.database.memGb", says: ["unknown key", "cpus, memoryGb, disk, diskGb, serverType"] },
  { name: "monitoring typo tresholds", base: "existing", mutate: (c) => { c.monitoring = { tresholds: { diskWarningPercent: 70 } }; }, key: "dhis2:monitoring.tresholds", says: ['did you mean "thresholds"?'] },

  // ---- impossible sizes
  { name: "0 CPUs", base: "existing", mutate: (c) => { c.sizes.database.cpus = 0; }, key: "dhis2:sizes.database.cpus", says: ["at least 0.25 CPUs", "0.25 to 512"] },
  { name: "negative memory", base: "existing", mutate: (c) => { c.sizes.database.memoryGb = -4; }, key: "dhis2:sizes.database.memoryGb", says: ["at least 0.5 GB", "0.5 to 4096"] },
  { name: "0.3 CPUs", base: "existing", mutate: (c) => { c.sizes.instance.cpus = 0.3; }, key: "dhis2:sizes.instance.cpus", says: ["quarters", "1.5"] },
  { name: "memory not in quarters of a GB", base: "existing", mutate: (c) => { c.sizes.database.memoryGb = 32.3; }, key: "dhis2:sizes.database.memoryGb", says: ["quarters of a GB"] },
  { name: "disk of 5 GB", base: "existing", mutate: (c) => { c.sizes.database.diskGb = 5; }, key: "dhis2:sizes.database.diskGb", says: ["at least 10 GB", "10 to 65536"] },
  { name: "lxd host memory too small for the containers", base: "local", mutate: (c) => { c.sizes.host.memoryGb = 2; }, key: "dhis2:sizes.host.memoryGb", says: ["too small for the containers", "at least 3.5 GB"] },
  { name: "lxd host CPUs too small for the containers", base: "local", mutate: (c) => { c.sizes.host.cpus = 0.25; }, key: "dhis2:sizes.host.cpus", says: ["too small for the containers", "at least 0.75 CPUs"] },
  { name: "lxd host too small for many instances", base: "local", mutate: (c) => { c.sizes.host.memoryGb = 8; c.instances = instancesList(5); }, key: "dhis2:sizes.host.memoryGb", says: ["5 DHIS2 instance(s)", "at least 9.5 GB"] },
  { name: "vm database server too small", base: "existing", mutate: (c) => { c.sizes.database.memoryGb = 1; }, key: "dhis2:sizes.database.memoryGb", says: ["too small for the database server", "at least 1.5 GB"] },
  { name: "vm instance server too small", base: "hcloud", mutate: (c) => { c.instances[0].size = { memoryGb: 1 }; }, key: "dhis2:instances[0].size.memoryGb", says: ["too small for the instance server", "at least 2 GB"] },
  { name: "explicit container sizes exceed the lxd host", base: "local", mutate: (c) => { c.sizes.database = { memoryGb: 12 }; c.sizes.instance = { memoryGb: 8 }; }, key: "dhis2:sizes.host.memoryGb", says: ["too small for the containers", "explicit sizes"] },
  { name: "one explicit container larger than the lxd host", base: "local", mutate: (c) => { c.sizes.database = { memoryGb: 20 }; }, key: "dhis2:sizes.host.memoryGb", says: ["dhis2:sizes.database.memoryGb 20", "lower the explicit sizes"] },
  { name: "explicit CPUs exceed the lxd host", base: "local", mutate: (c) => { c.sizes.database = { cpus: 8 }; }, key: "dhis2:sizes.host.cpus", says: ["dhis2:sizes.database.cpus 8", "raise the host's CPUs"] },
  { name: "heapMb larger than the instance (vm)", base: "existing", mutate: (c) => { c.instances[0].heapMb = 20000; }, key: "dhis2:instances[0].heapMb", says: ["does not fit", "at most 14848 MB"] },
  { name: "heapMb larger than the container (lxd)", base: "local", mutate: (c) => { c.instances[0].heapMb = 16000; }, key: "dhis2:instances[0].heapMb", says: ["does not fit", "MB outside the heap"] },
  { name: "heapMb below 512", base: "existing", mutate: (c) => { c.instances[0].heapMb = 100; }, key: "dhis2:instances[0].heapMb", says: ["at least 512 MB", "512 to 262144"] },
  { name: "slow-query log threshold below -1", base: "existing", mutate: (c) => { c.postgres = { logMinDurationStatementMs: -5 }; }, key: "dhis2:postgres.logMinDurationStatementMs", says: ["at least -1 ms", "-1 to 86400000"] },
  { name: "certificate warning not above critical", base: "existing", mutate: (c) => { c.monitoring = { thresholds: { certificateWarningDays: 7, certificateCriticalDays: 10 } }; }, key: "dhis2:monitoring.thresholds.certificateWarningDays", says: ["must be above certificateCriticalDays (10)"] },
  { name: "ping threshold of 10 ms", base: "existing", mutate: (c) => { c.monitoring = { thresholds: { pingSlowMs: 10 } }; }, key: "dhis2:monitoring.thresholds.pingSlowMs", says: ["at least 100 ms", "100 to 60000"] },
  { name: "WAR over plain http", base: "existing", mutate: (c) => { c.instances[0].war = "http://mirror.example.org/dhis2-stable-41.3.war"; }, key: "dhis2:instances[0].war", says: ["must be an https:// URL", "plain http"] },
  { name: "glowroot archive over plain http", base: "existing", mutate: (c) => { c.monitoring = { glowrootArchive: "http://mirror.example.org/glowroot.zip" }; }, key: "dhis2:monitoring.glowrootArchive", says: ["must be an https:// URL"] },
  { name: "warSha256 not 64 hex digits", base: "existing", mutate: (c) => { c.instances[0].warSha256 = "abc123"; }, key: "dhis2:instances[0].warSha256", says: ["64 hexadecimal digits"] },
  { name: "analytics rate of 0", base: "existing", mutate: (c) => { c.proxy = { analyticsRatePerSecond: 0 }; }, key: "dhis2:proxy.analyticsRatePerSecond", says: ["at least 1 requests per second", "1 to 1000"] },
  { name: "maintenance window without a day", base: "existing", mutate: (c) => { c.maintenance = { window: "03:00" }; }, key: "dhis2:maintenance.window", says: ['"Sun 03:00"', "Mon to Sun, or daily"] },
  { name: "connection pool of 2", base: "existing", mutate: (c) => { c.instances[0].connectionPoolMaxSize = 2; }, key: "dhis2:instances[0].connectionPoolMaxSize", says: ["at least 5 connections"] },

  // ---- instances: names, paths, hostnames
  { name: "duplicate instance names", base: "existing", mutate: (c) => { c.instances[1].name = "production"; }, key: "dhis2:instances[1].name", says: ["duplicates the name of instances[0]", "unique"] },
  { name: "duplicate paths", base: "existing", mutate: (c) => { c.instances[1].path = "/"; }, key: "dhis2:instances[1].path", says: ["already served at https://dhis2.health.example.org/", "own path or hostname"] },
  { name: "duplicate hostnames", base: "existing", mutate: (c) => { for (const i of c.instances) { delete i.path; i.hostname = "training.example.org"; } }, key: "dhis2:instances[1].hostname", says: ["already served at https://training.example.org/"] },
  { name: "instance hostname equal to the domain", base: "existing", mutate: (c) => { delete c.instances[1].path; c.instances[1].hostname = "dhis2.health.example.org"; }, key: "dhis2:instances[1].hostname", says: ["already served at https://dhis2.health.example.org/"] },
  { name: "path with a trailing slash", base: "existing", mutate: (c) => { c.instances[1].path = "/training/"; }, key: "dhis2:instances[1].path", says: ['"/" or "/name"', "no trailing slash"] },
  { name: "path reserved by the proxy (/munin)", base: "existing", mutate: (c) => { c.instances[1].path = "/munin"; }, key: "dhis2:instances[1].path", says: ["used by the proxy itself", "choose another path"] },
  { name: "path reserved by the proxy (/glowroot)", base: "local", mutate: (c) => { c.instances[0].path = "/glowroot"; }, key: "dhis2:instances[0].path", says: ["used by the proxy itself"] },
  { name: "hostname plus a non-root path", base: "existing", mutate: (c) => { c.instances[1].hostname = "training.example.org"; }, key: "dhis2:instances[1].path", says: ['served at "/"', "remove path or hostname"] },
  { name: "uppercase hostname", base: "existing", mutate: (c) => { delete c.instances[1].path; c.instances[1].hostname = "Training.Example.org"; }, key: "dhis2:instances[1].hostname", says: ["lowercase DNS name"] },
  { name: "too many instances (10)", base: "local", mutate: (c) => { c.sizes.host = { cpus: 64, memoryGb: 256 }; c.instances = instancesList(10); }, key: "dhis2:instances", says: ["lists 10 instances", "at most 9"] },
  { name: "no instances", base: "existing", mutate: (c) => { c.instances = []; }, key: "dhis2:instances", says: ["at least one DHIS2 instance"] },
  { name: "uppercase instance name", base: "existing", mutate: (c) => { c.instances[1].name = "Training"; }, key: "dhis2:instances[1].name", says: ["lowercase letters or digits"] },
  { name: "instance without version", base: "existing", mutate: (c) => { delete c.instances[1].version; }, key: "dhis2:instances[1].version", says: ["is required"] },
  { name: "war from ftp", base: "existing", mutate: (c) => { c.instances[0].war = "ftp://mirror.example.org/dhis2.war"; }, key: "dhis2:instances[0].war", says: ["https:// URL", "absolute local file path"] },

  // ---- DHIS2 version against PostgreSQL, servlet container, JDK
  { name: "2.39 with PostgreSQL 16", base: "existing", mutate: (c) => { c.instances[1].version = "2.39.1"; c.postgresVersion = 16; }, key: "dhis2:instances[1].version", says: ["supports PostgreSQL 13 to 14", "postgresVersion is 16"] },
  { name: "2.41 with PostgreSQL 17", base: "existing", mutate: (c) => { c.os = "ubuntu-22.04"; c.instances[0].version = "2.41.3"; c.postgresVersion = 17; }, key: "dhis2:instances[0].version", says: ["supports PostgreSQL 13 to 16"] },
  { name: "2.40 on tomcat10", base: "existing", mutate: (c) => { c.instances[1].version = "2.40.4"; c.instances[1].servletContainer = "tomcat10"; }, key: "dhis2:instances[1].servletContainer", says: ["cannot run on tomcat10", "allowed: tomcat9"] },
  { name: "2.42 on tomcat9", base: "local", mutate: (c) => { c.instances[0].servletContainer = "tomcat9"; }, key: "dhis2:instances[0].servletContainer", says: ["cannot run on tomcat9", "allowed: tomcat10"] },
  { name: "2.43 on the embedded server", base: "local", mutate: (c) => { c.instances[0].version = "2.43.0"; c.instances[0].servletContainer = "embedded"; }, key: "dhis2:instances[0].servletContainer", says: ["cannot run on embedded", "allowed: tomcat10", "supported from 2.44"], never: ["before 2.42"] },
  { name: "unknown servlet container", base: "existing", mutate: (c) => { c.instances[0].servletContainer = "jetty"; }, key: "dhis2:instances[0].servletContainer", says: ['"tomcat9", "tomcat10", "embedded"'] },
  { name: "JDK below the minimum", base: "existing", mutate: (c) => { c.instances[1].jdk = 11; }, key: "dhis2:instances[1].jdk", says: ["needs JDK 17 or newer", "allowed: 17, 21"] },
  { name: "JDK 8", base: "existing", mutate: (c) => { c.instances[1].jdk = 8; }, key: "dhis2:instances[1].jdk", says: ["one of 11, 17, 21"] },
  { name: "DHIS2 2.34 (too old)", base: "existing", mutate: (c) => { c.instances[1].version = "2.34"; }, key: "dhis2:instances[1].version", says: [VERSION_HELP, '"2.40.4"'] },
  { name: "DHIS2 2.45 (unknown)", base: "existing", mutate: (c) => { c.instances[1].version = "2.45"; }, key: "dhis2:instances[1].version", says: [VERSION_HELP] },
  { name: 'DHIS2 "latest"', base: "existing", mutate: (c) => { c.instances[1].version = "latest"; }, key: "dhis2:instances[1].version", says: [VERSION_HELP] },
  { name: 'DHIS2 "2.40.x"', base: "existing", mutate: (c) => { c.instances[1].version = "2.40.x"; }, key: "dhis2:instances[1].version", says: [VERSION_HELP] },
  { name: "DHIS2 45.0.0 (new scheme, unknown)", base: "existing", mutate: (c) => { c.instances[1].version = "45.0.0"; }, key: "dhis2:instances[1].version", says: [VERSION_HELP] },
  { name: "DHIS2 version as a YAML number", base: "existing", mutate: (c) => { c.instances[1].version = 2.41; }, key: "dhis2:instances[1].version", says: [VERSION_HELP] },

  // ---- UIDs
  { name: "UID of 10 characters", base: "existing", mutate: (c) => { c.instances[0].trackerSearch = { attributes: ["w75KJ2mc4z"] }; }, key: "dhis2:instances[0].trackerSearch.attributes[0]", says: ["11 characters", "a letter, then letters or digits"] },
  { name: "UID starting with a digit", base: "existing", mutate: (c) => { c.instances[0].trackerSearch = { attributes: ["w75KJ2mc4zz", "1DhUuAYrxNC"] }; }, key: "dhis2:instances[0].trackerSearch.attributes[1]", says: ["a letter, then letters or digits"] },
  { name: "UID with a dash", base: "existing", mutate: (c) => { c.instances[0].trackerSearch = { eventDataElements: [{ programStage: "ZkbAX-QUYJG", dataElement: "LavUrktwH5D" }] }; }, key: "dhis2:instances[0].trackerSearch.eventDataElements[0].programStage", says: ["DHIS2 UID", "11 characters"] },
  { name: "duplicate attribute UID", base: "existing", mutate: (c) => { c.instances[0].trackerSearch = { attributes: ["w75KJ2mc4zz", "zDhUuAYrxNC", "w75KJ2mc4zz"] }; }, key: "dhis2:instances[0].trackerSearch.attributes[2]", says: ["listed twice"] },
  { name: "duplicate event data element pair", base: "existing", mutate: (c) => { const p = { programStage: "ZkbAXlQUYJG", dataElement: "LavUrktwH5D" }; c.instances[0].trackerSearch = { eventDataElements: [p, { ...p }] }; }, key: "dhis2:instances[0].trackerSearch.eventDataElements[1]", says: ["listed twice"] },

  // ---- CIDRs and networks
  { name: "CIDR with host bits set", base: "existing", mutate: (c) => { c.admin.allowedCidrs = ["196.12.4.1/24"]; }, key: "dhis2:admin.allowedCidrs[0]", says: ["host bits set", "196.12.4.0/24"] },
  { name: "CIDR /33", base: "existing", mutate: (c) => { c.network.cidr = "10.10.20.0/33"; }, key: "dhis2:network.cidr", says: ["/33", "allowed /16 to /26"], never: ["/0 to /32"] },
  { name: "unquoted version 2.40 (YAML number 2.4)", base: "existing", mutate: (c) => { c.instances[0].version = 2.40; }, key: "dhis2:instances[0].version", says: ["the number 2.4", "in quotes", 'version: "2.40.4"'] },
  { name: 'CIDR "10.0.0"', base: "existing", mutate: (c) => { c.network.cidr = "10.0.0"; }, key: "dhis2:network.cidr", says: ["an address, a slash and a prefix length", "196.12.4.0/24"] },
  { name: "SSH open to 0.0.0.0/0", base: "existing", mutate: (c) => { c.admin.allowedCidrs = ["196.12.4.0/24", "0.0.0.0/0"]; }, key: "dhis2:admin.allowedCidrs[1]", says: ["whole internet", "networks administrators connect from"] },
  { name: "SSH open to ::/0", base: "hcloud", mutate: (c) => { c.admin.allowedCidrs = ["::/0"]; }, key: "dhis2:admin.allowedCidrs[0]", says: ["whole internet"] },
  { name: "public network cidr", base: "existing", mutate: (c) => { c.network.cidr = "8.8.8.0/24"; }, key: "dhis2:network.cidr", says: ["private IPv4 range", "10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16"] },
  { name: "network prefix too small (/8)", base: "local", mutate: (c) => { c.network = { cidr: "10.0.0.0/8" }; }, key: "dhis2:network.cidr", says: ["/16 to /26"] },
  { name: "network prefix too large (/28)", base: "existing", mutate: (c) => { c.network.cidr = "10.10.20.0/28"; }, key: "dhis2:network.cidr", says: ["/16 to /26"] },
  { name: "IPv6 network", base: "local", mutate: (c) => { c.network = { cidr: "fd00:1::/64" }; }, key: "dhis2:network.cidr", says: ["IPv4 network"] },

  // ---- e-mail and alerts
  { name: "malformed recipient", base: "existing", mutate: (c) => { c.alerts.recipients = ["ops-at-example.org"]; }, key: "dhis2:alerts.recipients[0]", says: ["e-mail address", "ops@example.org"] },
  { name: "malformed tls.email", base: "existing", mutate: (c) => { c.tls.email = "ops@"; }, key: "dhis2:tls.email", says: ["e-mail address"] },
  { name: "malformed alerts.from", base: "existing", mutate: (c) => { c.alerts.from = "dhis2-alerts"; }, key: "dhis2:alerts.from", says: ["e-mail address"] },
  { name: "alerts without smtp", base: "existing", mutate: (c) => { delete c.alerts.smtp; }, key: "dhis2:alerts.smtp", says: ["is required when alerts.recipients is set", "relay"] },
  { name: "smtp username without password", base: "existing", mutate: (c) => { c.alerts.smtp.username = "relay"; }, key: "dhis2:alerts.smtp.password", says: ["is required when alerts.smtp.username is set", "--secret"] },
  { name: "smtp password without username", base: "hcloud", mutate: (c) => { delete c.alerts.smtp.username; }, key: "dhis2:alerts.smtp.username", says: ["is required when alerts.smtp.password is set"] },
  { name: "smtp empty username", base: "hcloud", mutate: (c) => { c.alerts.smtp.username = ""; }, key: "dhis2:alerts.smtp.username", says: ["must not be empty"] },
  { name: "smtp credentials without encryption", base: "hcloud", mutate: (c) => { c.alerts.smtp.security = "none"; }, key: "dhis2:alerts.smtp.security", says: ["allowed: starttls, tls"] },
  { name: "smtp port 0", base: "existing", mutate: (c) => { c.alerts.smtp.port = 0; }, key: "dhis2:alerts.smtp.port", says: ["at least 1 (allowed: 1 to 65535)"] },
  { name: "smtp host with an underscore", base: "existing", mutate: (c) => { c.alerts.smtp.host = "smtp_relay"; }, key: "dhis2:alerts.smtp.host", says: ["DNS name or address"] },
  { name: "no alert recipients on a server platform", base: "hcloud", mutate: (c) => { delete c.alerts.recipients; c.tls = { email: "ops@example.org" }; }, key: "dhis2:alerts.recipients", says: ["at least one e-mail address"] },

  // ---- TLS
  { name: "letsencrypt without email", base: "existing", mutate: (c) => { delete c.tls.email; delete c.alerts.recipients; }, key: "dhis2:tls.email", says: ["is required for tls.mode letsencrypt"] },
  { name: "letsencrypt on local", base: "local", mutate: (c) => { c.tls = { mode: "letsencrypt", email: "ops@example.org" }; }, key: "dhis2:tls.mode", says: ["allowed: self-signed, provided"] },
  { name: "provided TLS without certificate", base: "existing", mutate: (c) => { c.tls = { mode: "provided", keyFile: "/etc/ssl/dhis2.key" }; }, key: "dhis2:tls.certificateFile", says: ["is required for tls.mode provided", "absolute path"] },
  { name: "provided TLS without key", base: "existing", mutate: (c) => { c.tls = { mode: "provided", certificateFile: "/etc/ssl/dhis2.pem" }; }, key: "dhis2:tls.keyFile", says: ["is required for tls.mode provided"] },
  { name: "relative certificate path", base: "existing", mutate: (c) => { c.tls = { mode: "provided", certificateFile: "dhis2.pem", keyFile: "/etc/ssl/dhis2.key" }; }, key: "dhis2:tls.certificateFile", says: ["absolute file path"] },
  { name: "certificate file with letsencrypt", base: "existing", mutate: (c) => { c.tls.certificateFile = "/etc/ssl/dhis2.pem"; }, key: "dhis2:tls.certificateFile", says: ["applies to tls.mode provided only"] },
  { name: "unknown TLS mode", base: "existing", mutate: (c) => { c.tls.mode = "acme"; }, key: "dhis2:tls.mode", says: ['"letsencrypt", "provided", "self-signed"'] },

  // ---- platform, isolation, servers, cloud
  { name: "unknown platform", base: "existing", mutate: (c) => { c.platform = "azure"; }, key: "dhis2:platform", says: ['"local", "existing", "hcloud", "aws"'] },
  { name: "unknown isolation", base: "existing", mutate: (c) => { c.isolation = "docker"; }, key: "dhis2:isolation", says: ['"lxd", "vm"'] },
  { name: "platform local with isolation vm", base: "local", mutate: (c) => { c.isolation = "vm"; }, key: "dhis2:isolation", says: ["allowed: lxd"] },
  { name: "server platform without domain", base: "existing", mutate: (c) => { delete c.domain; }, key: "dhis2:domain", says: ["is required for platform existing"] },
  { name: "existing platform without servers", base: "existing", mutate: (c) => { delete c.servers; }, key: "dhis2:servers", says: ["is required for platform existing", "servers.proxy"] },
  { name: "existing lxd without servers.host", base: "existing", mutate: (c) => { c.isolation = "lxd"; c.sizes = { host: { cpus: 16, memoryGb: 64 } }; c.servers = { proxy: { address: "10.10.20.2" } }; }, key: "dhis2:servers.host", says: ["is required for isolation lxd"] },
  { name: "existing vm missing an instance's server", base: "existing", mutate: (c) => { delete c.servers.instances.training; }, key: "dhis2:servers.instances.training", says: ['server for DHIS2 instance "training"'] },
  { name: "servers naming an unknown instance", base: "existing", mutate: (c) => { c.servers.instances.staging = { address: "10.10.20.13" }; }, key: "dhis2:servers.instances.staging", says: ["names no instance", "production, training"] },
  { name: "two roles on the same address", base: "existing", mutate: (c) => { c.servers.monitor.address = "10.10.20.20"; }, key: "dhis2:servers.monitor.address", says: ["same address as servers.database", "a server per role"] },
  { name: "a private address used by another role", base: "existing", mutate: (c) => { c.servers.proxy = { address: "196.12.4.10", privateAddress: "10.10.20.20" }; }, key: "dhis2:servers.database.address", says: ["private address of servers.proxy"] },
  { name: "servers.host with isolation vm", base: "existing", mutate: (c) => { c.servers.host = { address: "10.10.20.5" }; }, key: "dhis2:servers.host", says: ["applies to isolation lxd only"] },
  { name: "malformed server address", base: "existing", mutate: (c) => { c.servers.proxy.address = "10.10.20"; }, key: "dhis2:servers.proxy.address", says: ["IPv4 address (a.b.c.d)"] },
  { name: "servers on a platform that creates them", base: "existing", mutate: (c) => { c.platform = "hcloud"; }, key: "dhis2:servers", says: ["applies to platform existing only", "platform is hcloud"] },
  { name: "servers on local", base: "local", mutate: (c) => { c.servers = { host: { address: "10.231.20.1" } }; }, key: "dhis2:servers", says: ["applies to platform existing only"] },
  { name: "cloud key on local", base: "local", mutate: (c) => { c.cloud = { location: "fsn1" }; }, key: "dhis2:cloud", says: ["hcloud and aws only", "not local"] },
  { name: "malformed cloud location", base: "hcloud", mutate: (c) => { c.cloud.location = "FSN 1"; }, key: "dhis2:cloud.location", says: ["fsn1 or eu-west-1"] },
  { name: "sizes.host with isolation vm", base: "hcloud", mutate: (c) => { c.sizes.host = { cpus: 8, memoryGb: 32 }; }, key: "dhis2:sizes.host", says: ["applies to isolation lxd only", "sizes.database"] },
  { name: "serverType in lxd isolation", base: "local", mutate: (c) => { c.sizes.database = { serverType: "ccx53" }; }, key: "dhis2:sizes.database.serverType", says: ["applies to isolation vm only"] },
  { name: "instance serverType in lxd isolation", base: "local", mutate: (c) => { c.instances[0].size = { serverType: "ccx53" }; }, key: "dhis2:instances[0].size.serverType", says: ["applies to isolation vm only"] },
  { name: "serverType on existing servers", base: "existing", mutate: (c) => { c.sizes.database.serverType = "ccx53"; }, key: "dhis2:sizes.database.serverType", says: ["hcloud and aws only", "not existing"] },
  { name: "instance serverType on existing servers", base: "existing", mutate: (c) => { c.instances[0].size = { serverType: "ccx53" }; }, key: "dhis2:instances[0].size.serverType", says: ["hcloud and aws only"] },
  { name: "instance disk kind in lxd isolation", base: "local", mutate: (c) => { c.instances[0].size = { disk: "nvme" }; }, key: "dhis2:instances[0].size.disk", says: ["disk of sizes.host"] },
  { name: "unknown disk kind", base: "existing", mutate: (c) => { c.sizes.database.disk = "sata"; }, key: "dhis2:sizes.database.disk", says: ['"ssd", "nvme", "hdd"'] },

  // ---- admin access
  { name: "malformed SSH key", base: "existing", mutate: (c) => { c.admin.sshKeys = ["ssh-ed25519 AAAA-short"]; }, key: "dhis2:admin.sshKeys[0]", says: ["OpenSSH public key line", "ssh-ed25519 AAAA"] },
  { name: "malformed SSH host key", base: "existing", mutate: (c) => { c.servers.proxy.hostKey = "AAAAC3NzaC1lZDI1NTE5"; }, key: "dhis2:servers.proxy.hostKey", says: ["SSH public host key line"] },
  { name: "no SSH keys on a server platform", base: "hcloud", mutate: (c) => { c.admin.sshKeys = []; }, key: "dhis2:admin.sshKeys", says: ["at least one public key"] },
  { name: "no allowed CIDRs on a server platform", base: "hcloud", mutate: (c) => { delete c.admin.allowedCidrs; }, key: "dhis2:admin.allowedCidrs", says: ["at least one CIDR"] },
  { name: "a private key on the local platform", base: "local", mutate: (c) => { c.admin = { privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----" }; }, key: "dhis2:admin.privateKey", says: ["not local"] },
  { name: "uppercase admin user", base: "existing", mutate: (c) => { c.admin.user = "Root"; }, key: "dhis2:admin.user", says: ["Unix user name"] },

  // ---- PostgreSQL and monitoring
  { name: "postgresVersion 12", base: "existing", mutate: (c) => { c.postgresVersion = 12; }, key: "dhis2:postgresVersion", says: ["PostgreSQL major version", "13, 14, 15, 16, 17"] },
  { name: "postgresVersion 18", base: "local", mutate: (c) => { c.postgresVersion = 18; }, key: "dhis2:postgresVersion", says: ["13, 14, 15, 16, 17"] },
  { name: "walWriterDelayMs 0", base: "existing", mutate: (c) => { c.postgres = { synchronousCommit: "off", walWriterDelayMs: 0 }; }, key: "dhis2:postgres.walWriterDelayMs", says: ["at least 1 ms", "1 to 10000"] },
  { name: "disk warning above critical", base: "existing", mutate: (c) => { c.monitoring = { thresholds: { diskWarningPercent: 95 } }; }, key: "dhis2:monitoring.thresholds.diskWarningPercent", says: ["below diskCriticalPercent (90)"] },
  { name: "load warning above critical", base: "existing", mutate: (c) => { c.monitoring = { thresholds: { loadWarningPerCpu: 4, loadCriticalPerCpu: 2 } }; }, key: "dhis2:monitoring.thresholds.loadWarningPerCpu", says: ["below loadCriticalPerCpu (2)"] },
  { name: "negative load threshold", base: "existing", mutate: (c) => { c.monitoring = { thresholds: { loadCriticalPerCpu: -1 } }; }, key: "dhis2:monitoring.thresholds.loadCriticalPerCpu", says: ["above 0", "at most 100"] },
  { name: "DHIS2 2.41 (Tomcat 9) on Debian 12 servers without Apache's archive", base: "hcloud", mutate: (c) => { c.instances[0].version = "2.41.3"; }, key: "dhis2:instances[0].version", says: ["runs on tomcat9", "Debian 12 (bookworm) does not package", "dhis2:instances[0].os", "ubuntu-22.04, debian-11", "dhis2:sources.tomcat9"] },
  { name: "DHIS2 2.41 on an instance os without Tomcat 9", base: "existing", mutate: (c) => { c.instances[1].version = "2.41.3"; c.instances[1].os = "debian-13"; }, key: "dhis2:instances[1].os", says: ["Debian 13 (trixie) does not package", "dhis2:sources.tomcat9"] },
  { name: "Ubuntu on the local platform", base: "local", mutate: (c) => { c.os = "ubuntu-24.04"; }, key: "dhis2:os", says: ["Debian containers", "allowed: debian-11, debian-12, debian-13"] },
  { name: "Ubuntu for the database in lxd isolation", base: "hcloud", mutate: (c) => { c.isolation = "lxd"; c.sizes = { host: { cpus: 16, memoryGb: 64 } }; c.os = { database: "ubuntu-24.04" }; }, key: "dhis2:os.database", says: ["isolation lxd runs Debian containers", "allowed: debian-11, debian-12, debian-13"] },
  { name: "an unknown system", base: "existing", mutate: (c) => { c.os = "centos-7"; }, key: "dhis2:os", says: ["debian-11", "ubuntu-24.04"] },
  { name: "an unknown system of an instance", base: "existing", mutate: (c) => { c.instances[0].os = "debian-10"; }, key: "dhis2:instances[0].os", says: ["debian-11", "ubuntu-24.04"] },
  { name: "one cloud image for nodes of several systems", base: "hcloud", mutate: (c) => { c.cloud.image = "debian-12"; c.os = { database: "debian-13" }; }, key: "dhis2:cloud.image", says: ["names one image for every server", "debian-12, debian-13"] },
  { name: "a Tomcat archive without its sha512", base: "hcloud", mutate: (c) => { c.sources = { tomcat9: { url: "https://archive.apache.org/dist/tomcat/tomcat-9/v9.0.98/bin/apache-tomcat-9.0.98.tar.gz", sha512: "abc" } }; }, key: "dhis2:sources.tomcat9.sha512", says: ["128 lowercase hexadecimal"] },
  { name: "a repository key fingerprint that is not one", base: "hcloud", mutate: (c) => { c.sources = { postgresql: { fingerprint: "ACCC4CF8" } }; }, key: "dhis2:sources.postgresql.fingerprint", says: ["40 hexadecimal digits"] },
  { name: "a repository key that is a file", base: "hcloud", mutate: (c) => { c.sources = { jdk: { key: "/etc/apt/keyrings/adoptium.asc" } }; }, key: "dhis2:sources.jdk.key", says: ["http(s) URL of the repository's signing key"] },
  { name: "WAR path with a space", base: "local", mutate: (c) => { c.instances[0].war = "/srv/my wars/dhis2.war"; }, key: "dhis2:instances[0].war", says: ["without spaces"] },
  { name: "glowroot version latest", base: "existing", mutate: (c) => { c.monitoring = { glowrootVersion: "latest" }; }, key: "dhis2:monitoring.glowrootVersion", says: ["0.14.2"] },
  { name: "backup schedule with a shell character", base: "existing", mutate: (c) => { c.backup.schedule = "daily; rm -rf /"; }, key: "dhis2:backup.schedule", says: ["OnCalendar", "*-*-* 01:30"] },
  { name: "backup keeping nothing", base: "existing", mutate: (c) => { c.backup.retention = { daily: 0, weekly: 0, monthly: 0 }; }, key: "dhis2:backup.retention.daily", says: ["at least one backup"] },
  { name: "backup retention above the maximum", base: "existing", mutate: (c) => { c.backup.retention = { monthly: 1000 }; }, key: "dhis2:backup.retention.monthly", says: ["0 to 240"] },
  { name: "off-site repository not S3", base: "existing", mutate: (c) => { c.backup.offsite.repository = "sftp:backup@host:/srv"; }, key: "dhis2:backup.offsite.repository", says: ["s3:https://"] },
  { name: "off-site without its secret key", base: "existing", mutate: (c) => { delete c.backup.offsite.secretAccessKey; }, key: "dhis2:backup.offsite.secretAccessKey", says: ["pulumi config set --secret"] },
  { name: "backup age alert below 2 hours", base: "existing", mutate: (c) => { c.backup.maxAgeHours = 1; }, key: "dhis2:backup.maxAgeHours", says: ["2 to 744"] },
];

{
  const names = INVALID.map((c) => c.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new Error(`duplicate invalid case name: ${dup}`);
}

const build = (base: BaseName, mutate: (c: Raw) => void = () => {}): Raw => {
  const c = BASES[base]();
  mutate(c);
  return c;
};

// ---------------------------------------------------------------- valid configurations and defaults

test("the example stacks load without problems", (t) => {
  const ex = loadStackFile(PROJECT, "example-existing");
  t.is(ex.plan.config.platform, "existing");
  t.is(ex.plan.config.isolation, "vm");
  t.is(ex.plan.config.instances[0]!.servletContainer, "tomcat9");
  t.is(ex.plan.config.instances[0]!.tomcatFrom, "distribution");
  t.is(ex.plan.config.instances[0]!.os, "ubuntu-22.04");
  t.is(ex.plan.config.postgres.from, "pgdg");
  t.is(ex.plan.config.instances[0]!.jdk, 17);
  t.is(ex.plan.config.instances[0]!.war, "https://releases.dhis2.org/41/dhis2-stable-41.3.0.war");
  t.is(ex.plan.config.instances[0]!.baseUrl, "https://dhis2.health.example.org");

  const loc = loadStackFile(PROJECT, "local");
  t.is(loc.plan.config.platform, "local");
  t.is(loc.plan.config.isolation, "lxd");
  t.is(loc.plan.config.tls.mode, "self-signed");
  t.is(loc.plan.config.postgres.version, 15);
});

test("the base configurations of the invalid cases are valid", (t) => {
  for (const base of Object.keys(BASES) as BaseName[]) {
    t.notThrows(() => load(build(base)), base);
  }
});

test("defaults: local platform, lxd isolation, self-signed TLS, PostgreSQL 15 (what its Debian 12 containers package)", (t) => {
  const { config } = load({ instances: [{ name: "production", version: "2.42.1" }] }).plan;
  t.is(config.platform, "local");
  t.is(config.isolation, "lxd");
  t.is(config.tls.mode, "self-signed");
  t.is(config.domain, "dhis2.local");
  t.is(config.networkCidr, "10.231.20.0/24");
  t.is(config.postgres.version, 15);
  t.is(config.postgres.synchronousCommit, "on");
  t.is(config.admin.user, "dhis2admin");
  t.deepEqual(config.sizes.host, { cpus: 32, memoryGb: 32, disk: "ssd", diskGb: 500 });
  t.is(config.instances[0]!.path, "/");
  t.is(config.instances[0]!.baseUrl, "https://dhis2.local");
});

test("defaults: a server platform gets vm isolation, letsencrypt with the first recipient, SMTP port 587", (t) => {
  const raw = build("existing", (c) => { delete c.isolation; delete c.tls; });
  const { config } = load(raw).plan;
  t.is(config.isolation, "vm");
  t.is(config.tls.mode, "letsencrypt");
  t.is(config.tls.email, "ops@health.example.org");
  t.is(config.postgres.version, 16);
  t.is(config.alerts.smtp?.port, 587);
  t.is(config.alerts.from, "dhis2-alerts@dhis2.health.example.org");
});

test("DHIS2 2.42 and 2.43 resolve to tomcat10 and JDK 17; 2.44 to the embedded server and JDK 17; the WAR comes from releases.dhis2.org", (t) => {
  const { config } = load(build("hcloud", (c) => {
    c.instances = [
      { name: "production", version: "2.42.1", path: "/" },
      { name: "next", version: "2.43.0", path: "/next" },
      { name: "newscheme", version: "42.1.0", path: "/newscheme" },
      { name: "latest", version: "2.44.0", path: "/latest" },
      { name: "external", version: "2.44.0", path: "/external", servletContainer: "tomcat10" },
    ];
  })).plan;
  const [i42, i43, n42, i44, x44] = config.instances;
  t.is(i42!.servletContainer, "tomcat10");
  t.is(i42!.jdk, 17);
  t.is(i42!.war, "https://releases.dhis2.org/42/dhis2-stable-42.1.0.war");
  t.is(i43!.servletContainer, "tomcat10");
  t.is(i43!.jdk, 17);
  t.is(i43!.war, "https://releases.dhis2.org/43/dhis2-stable-43.0.0.war");
  t.is(n42!.war, i42!.war);
  t.is(i44!.servletContainer, "embedded");
  t.is(i44!.jdk, 17);
  t.is(x44!.servletContainer, "tomcat10");
  t.is(config.instances[1]!.baseUrl, "https://dhis2.example.org/next");
  for (const i of config.instances) t.deepEqual([i.os, i.tomcatFrom, i.jdkFrom], ["debian-12", "distribution", "distribution"], i.name);
});

test("on the local platform each role gets the Debian release that packages what it needs", (t) => {
  const { config } = load(build("local", (c) => {
    c.postgresVersion = 13;
    c.instances = [
      { name: "old", version: "2.40.4", path: "/" },
      { name: "current", version: "2.42.1", path: "/current" },
    ];
  })).plan;
  t.is(config.os.database, "debian-11");
  t.is(config.postgres.from, "distribution");
  t.deepEqual(config.instances.map((i) => [i.name, i.os, i.servletContainer, i.jdk]), [["old", "debian-11", "tomcat9", 17], ["current", "debian-12", "tomcat10", 17]]);
  t.deepEqual([config.os.proxy, config.os.monitor], ["debian-12", "debian-12"]);
  const pg17 = load(build("local", (c) => { c.postgresVersion = 17; })).plan.config;
  t.is(pg17.os.database, "debian-13");
  // a major no Debian release packages: the default system, from the PostgreSQL project's repository
  const pg16 = load(build("local", (c) => { c.postgresVersion = 16; }));
  t.deepEqual([pg16.plan.config.os.database, pg16.plan.config.postgres.from], ["debian-12", "pgdg"]);
  t.true(pg16.warnings.some((w) => w.includes("PostgreSQL project's apt repository")), pg16.warnings.join("\n"));
});

test("servers run dhis2:os; what it does not package comes from dhis2:sources", (t) => {
  const archive = { url: "https://mirror.example.org/apache-tomcat-9.0.98.tar.gz", sha512: "a".repeat(128) };
  const { plan, warnings } = load(build("hcloud", (c) => {
    c.postgresVersion = 16;
    c.sources = { tomcat9: archive };
    c.instances = [{ name: "production", version: "2.41.3", path: "/", jdk: 21 }];
  }));
  const i = plan.config.instances[0]!;
  t.deepEqual([i.os, i.servletContainer, i.tomcatFrom, i.jdk, i.jdkFrom], ["debian-12", "tomcat9", "archive", 21, "vendor"]);
  t.deepEqual([plan.config.os.database, plan.config.postgres.from], ["debian-12", "pgdg"]);
  t.deepEqual(plan.config.sources.tomcat9, archive);
  t.is(plan.config.sources.postgresql.fingerprint, "B97B0AFCAA1A47F044F244A07FCC7D46ACCC4CF8");
  t.true(warnings.some((w) => w.includes("JDK vendor's apt repository")), warnings.join("\n"));
  // Debian 11 past its support: a warning naming it
  const old = load(build("hcloud", (c) => { c.instances[0].os = "debian-11"; c.instances[0].version = "2.40.4"; }));
  t.true(old.warnings.some((w) => w.includes("Debian 11") && w.includes("long-term support ended")), old.warnings.join("\n"));
});

// ---------------------------------------------------------------- invalid configurations

test(`at least 45 distinct invalid configurations (${INVALID.length})`, (t) => {
  t.true(INVALID.length >= 45);
});

for (const c of INVALID) {
  test(`invalid: ${c.name}`, (t) => {
    const raw = build(c.base, c.mutate);
    const err = t.throws(() => load(raw), { instanceOf: ConfigError });
    if (!err) return;
    const atKey = err.problems.filter((p) => p.key === c.key);
    t.true(
      atKey.some((p) => c.says.every((s) => p.message.includes(s))),
      `expected a problem at ${c.key} saying ${JSON.stringify(c.says)}; got:\n${err.message}`,
    );
    for (const s of c.never ?? []) {
      t.false(atKey.some((p) => p.message.includes(s)), `${c.key} should not say ${JSON.stringify(s)}:\n${err.message}`);
    }
    t.true(err.message.includes(c.key), err.message);
    t.true(err.problems.every((p) => p.key.startsWith("dhis2:") && p.message.length > 0), err.message);
  });
}

test("several problems at once are all reported in one ConfigError", (t) => {
  // cross-key problems (the shape is valid): all in one error
  const raw = build("existing", (c) => {
    c.instances[1].name = "production"; // duplicate name
    c.instances.push({ name: "munin", version: "2.41.3", path: "/munin" }); // reserved path
    c.alerts.smtp.username = "relay"; // username without password
    c.admin.allowedCidrs = ["0.0.0.0/0"]; // SSH open to all
    c.monitoring = { thresholds: { diskWarningPercent: 95 } }; // warning above critical
    c.cloud = { location: "fsn1" }; // cloud on existing
  });
  const err = t.throws(() => load(raw), { instanceOf: ConfigError });
  if (!err) return;
  const keys = err.problems.map((p) => p.key);
  for (const k of ["dhis2:instances[1].name", "dhis2:instances[2].path", "dhis2:alerts.smtp.password", "dhis2:admin.allowedCidrs[0]", "dhis2:monitoring.thresholds.diskWarningPercent", "dhis2:cloud"]) {
    t.true(keys.includes(k), `${k} missing from:\n${err.message}`);
  }
  t.true(err.problems.length >= 6);
  const lines = err.message.split("\n");
  t.is(lines[0], `Invalid stack configuration in stack test: ${err.problems.length} problems. Nothing was changed.`);
  t.is(lines.length, err.problems.length + 1);
  err.problems.forEach((p, i) => t.true(lines[i + 1]!.startsWith(`  - ${p.key}: `), lines[i + 1]));

  // shape problems in different parts of the file: all in one error too
  const shape = build("existing", (c) => {
    c.sizez = {};
    c.sizes.database.cpus = 0;
    c.domain = 42;
    c.instances[1].path = "/training/";
    c.postgresVersion = 12;
    c.admin.allowedCidrs = ["10.0.0.1/8"];
    c.alerts.recipients = ["nobody"];
  });
  const err2 = t.throws(() => load(shape), { instanceOf: ConfigError });
  if (!err2) return;
  t.deepEqual(
    [...err2.problems.map((p) => p.key)].sort(),
    ["dhis2:admin.allowedCidrs[0]", "dhis2:alerts.recipients[0]", "dhis2:domain", "dhis2:instances[1].path", "dhis2:postgresVersion", "dhis2:sizes.database.cpus", "dhis2:sizez"],
    err2.message,
  );
  t.true(err2.message.startsWith("Invalid stack configuration in stack test: 7 problems."), err2.message);
  t.is(err2.message.split("\n").length, 8);
});

// ---------------------------------------------------------------- warnings

test("backups: on by default (01:30, 7/4/12, 26 h) on the database and every instance; disabled or without off-site copy a warning", (t) => {
  const byDefault = load(build("local", () => undefined));
  t.deepEqual(byDefault.plan.config.backup, { enabled: true, schedule: "*-*-* 01:30", retention: { daily: 7, weekly: 4, monthly: 12 }, maxAgeHours: 26, offsite: undefined });
  const noOffsite = load(build("existing", (c) => { delete c.backup; }));
  t.true(noOffsite.warnings.some((w) => w.startsWith("dhis2:backup.offsite is not set")), noOffsite.warnings.join("\n"));
  const off = load(build("existing", (c) => { c.backup = { enabled: false }; }));
  t.true(off.warnings.some((w) => w.startsWith("dhis2:backup.enabled is false")));
  const hosts = (plan: Plan) => renderDeployment(plan, { secrets: placeholderSecrets(plan) });
  const withBackup = (plan: Plan) => hosts(plan).filter((h) => h.files.some((f) => f.path === "/usr/local/sbin/dhis2-backup")).map((h) => h.host).sort();
  t.deepEqual(withBackup(noOffsite.plan), ["database", "production", "training"]);
  t.deepEqual(withBackup(off.plan), []);
  const offsite = load(build("existing", () => undefined)).plan.config.backup.offsite!;
  t.is(offsite.secretAccessKey.configKey, "dhis2:backup.offsite.secretAccessKey");
});

test("postgresVersion 13 is accepted with an end-of-life warning", (t) => {
  const { plan, warnings } = load(build("existing", (c) => { c.postgresVersion = 13; }));
  t.is(plan.config.postgres.version, 13);
  const w = warnings.find((x) => x.startsWith("dhis2:postgresVersion"));
  t.truthy(w, warnings.join("\n"));
  t.true(w!.includes("end of life") && w!.includes("November 2025"), w);
});

test("PostgreSQL 13 is accepted for DHIS2 2.43 (the compatibility table allows 13 to 17)", (t) => {
  const { plan, warnings } = load(build("hcloud", (c) => { c.postgresVersion = 13; c.instances[0].version = "2.43.0"; }));
  t.is(plan.config.postgres.version, 13);
  t.true(warnings.some((w) => w.includes("end of life")));
});

test("synchronousCommit off is accepted with a warning stating the loss window (3 × walWriterDelayMs)", (t) => {
  const byDefault = load(build("existing", (c) => { c.postgres = { synchronousCommit: "off" }; }));
  t.is(byDefault.plan.config.postgres.synchronousCommit, "off");
  t.true(byDefault.warnings.some((w) => w.includes("600 ms") && w.includes("3 × walWriterDelayMs")), byDefault.warnings.join("\n"));
  const tuned = load(build("existing", (c) => { c.postgres = { synchronousCommit: "off", walWriterDelayMs: 100 } ; }));
  t.true(tuned.warnings.some((w) => w.startsWith("dhis2:postgres.synchronousCommit") && w.includes("300 ms")), tuned.warnings.join("\n"));
});

test("slow-query log: 300 s by default (as dhis2-server-tools), -1 turns it off, below a second warns", (t) => {
  const setting = (c: Raw) => loadDeployment("test", c, "stack test").plan.postgres.settings.find((s) => s.name === "log_min_duration_statement")?.value;
  t.is(setting(build("existing")), "5min");
  t.is(setting(build("existing", (c) => { c.postgres = { logMinDurationStatementMs: 2500 }; })), "2500ms");
  t.is(setting(build("existing", (c) => { c.postgres = { logMinDurationStatementMs: -1 }; })), "-1");
  const all = load(build("existing", (c) => { c.postgres = { logMinDurationStatementMs: 0 }; }));
  t.is(all.plan.postgres.settings.find((s) => s.name === "log_min_duration_statement")?.value, "0");
  t.true(all.warnings.some((w) => w.startsWith("dhis2:postgres.logMinDurationStatementMs 0") && w.includes("-1 turns the log off")), all.warnings.join("\n"));
});

test("an unsupported DHIS2 major is accepted with a warning", (t) => {
  const { warnings } = load(build("existing", (c) => { c.os = "ubuntu-22.04"; c.postgresVersion = 14; c.instances = [c.instances[0], { name: "training", version: "2.39.1", path: "/training" }]; c.instances[0].os = "ubuntu-24.04"; }));
  const w = warnings.find((x) => x.startsWith("dhis2:instances[1].version"));
  t.truthy(w, warnings.join("\n"));
  t.true(w!.includes("2.39") && w!.includes("no longer receives security patches"), w);
});

test("the valid bases give no warnings", (t) => {
  for (const base of Object.keys(BASES) as BaseName[]) t.deepEqual(load(build(base)).warnings, [], base);
});

// ---------------------------------------------------------------- secrets

test("secrets are never echoed: an invalid alerts.smtp.password is reported without its value", (t) => {
  const secrets: [unknown, string][] = [
    [31415926535, "31415926535"],
    [["s3cr3t-list-value"], "s3cr3t-list-value"],
    [{ secure: 27182818284 }, "27182818284"],
    [{ plain: "s3cr3t-in-mapping" }, "s3cr3t-in-mapping"],
  ];
  for (const [value, text] of secrets) {
    const raw = build("hcloud", (c) => { c.alerts.smtp.password = value; });
    const err = t.throws(() => load(raw), { instanceOf: ConfigError });
    if (!err) return;
    const p = err.problems.find((x) => x.key.startsWith("dhis2:alerts.smtp.password"));
    t.truthy(p, err.message);
    t.false(JSON.stringify(p!.value ?? "").includes(text), JSON.stringify(p));
    t.false(err.message.includes(text), err.message);
  }
});

test("a stack file rewritten by `pulumi config set` (top-level numbers stored as strings) reads as the engine reads it", (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stackfile-"));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, "Pulumi.test.yaml");
  fs.writeFileSync(file, 'config:\n  dhis2:postgresVersion: "16"\n  dhis2:sizes:\n    host: {cpus: 4, memoryGb: "8"}\n  aws:region: eu-west-1\n');
  const fromFile = readStackFile(file);
  const fromEngine = decodeEngineConfig({ "dhis2:postgresVersion": "16", "dhis2:sizes": '{"host":{"cpus":4,"memoryGb":"8"}}', "aws:region": "eu-west-1" });
  t.deepEqual(fromFile, fromEngine);
  t.is(fromFile.project.postgresVersion, 16);
  // nested values keep their YAML types: a quoted number inside a mapping is still a type error
  t.is((fromFile.project.sizes as { host: { memoryGb: unknown } }).host.memoryGb, "8");
});

test("YAML merge keys (<<: *anchor) in a stack file are resolved, as the Pulumi engine resolves them", (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stackfile-"));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, "Pulumi.test.yaml");
  fs.writeFileSync(file, [
    "config:",
    "  dhis2:sizes:",
    "    database: &big {cpus: 16, memoryGb: 64, disk: nvme}",
    "    instance:",
    "      <<: *big",
    "      memoryGb: 32",
    "",
  ].join("\n"));
  const sizes = readStackFile(file).project.sizes as Record<string, Record<string, unknown>>;
  t.deepEqual(sizes.instance, { cpus: 16, memoryGb: 32, disk: "nvme" });
  t.false("<<" in sizes.instance!);
});

test("warSha256: a local WAR whose sha256 differs is refused before anything is touched; the right sum passes", (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "war-sum-"));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const war = path.join(dir, "dhis2.war");
  fs.writeFileSync(war, "a DHIS2 WAR stand-in\n");
  const right = crypto.createHash("sha256").update("a DHIS2 WAR stand-in\n").digest("hex");
  const wrong = "0".repeat(64);
  const problems = (sum: string) => deployProblems(load(build("local", (c) => { c.instances[0].war = war; c.instances[0].warSha256 = sum; })).plan.config);
  const bad = problems(wrong);
  t.deepEqual(bad.map((p) => p.key), ["dhis2:instances[0].warSha256"]);
  t.true(bad[0]!.message.includes(`whose sha256 is ${right}`), bad[0]!.message);
  t.deepEqual(problems(right.toUpperCase()), [], "upper-case hex is the same sum");
});

test("plain-text secrets are refused, naming the pulumi config set --secret command: from a stack file, and from the engine", (t) => {
  const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nS3NT1NEL\n-----END OPENSSH PRIVATE KEY-----";
  const plaintext = build("hcloud", (c) => { c.admin.privateKey = KEY; c.alerts.smtp.password = "pl41n-S3NT1NEL"; });
  const refused = (raw: Raw, secrets: SecretSource | undefined) => {
    try {
      loadDeployment("test", raw, "stack test", secrets);
      return [];
    } catch (e) {
      t.true(e instanceof ConfigError);
      t.false((e as Error).message.includes("S3NT1NEL"), "the secret is never echoed");
      return (e as ConfigError).problems;
    }
  };
  // a stack file read directly: a string is plain text, { secure } is a secret
  const fromFile = refused(plaintext, { kind: "file" });
  t.deepEqual(fromFile.map((p) => p.key).sort(), ["dhis2:admin.privateKey", "dhis2:alerts.smtp.password"]);
  t.regex(fromFile.find((p) => p.key === "dhis2:admin.privateKey")!.message, /plain text.*pulumi config set --path --secret dhis2:admin\.privateKey < ~\/\.ssh\/id_ed25519/);
  t.regex(fromFile.find((p) => p.key === "dhis2:alerts.smtp.password")!.message, /plain text.*pulumi config set --path --secret dhis2:alerts\.smtp\.password/);
  const encrypted = build("hcloud", (c) => { c.admin.privateKey = { secure: "v1:abc" }; c.alerts.smtp.password = { secure: "v1:def" }; });
  t.deepEqual(refused(encrypted, { kind: "file" }), []);
  // the engine hands over decrypted strings and names the top-level keys holding secrets
  t.deepEqual(refused(plaintext, engineSecretSource('["dhis2:admin","dhis2:alerts"]')), []);
  t.deepEqual(refused(plaintext, engineSecretSource('["dhis2:alerts"]')).map((p) => p.key), ["dhis2:admin.privateKey"]);
  t.deepEqual(refused(plaintext, engineSecretSource("[]")).map((p) => p.key).sort(), ["dhis2:admin.privateKey", "dhis2:alerts.smtp.password"]);
  // an engine that does not say which keys are secret: not checked
  t.is(engineSecretSource(undefined), undefined);
  t.deepEqual(refused(plaintext, undefined), []);
});

test("deploying needs what validation cannot see: the local files a stack names, and the SSH key for servers", (t) => {
  const local = load(build("local", (c) => { c.instances[0].war = "/nonexistent/dhis2.war"; })).plan.config;
  t.deepEqual(deployProblems(local).map((p) => p.key), ["dhis2:instances[0].war"]);
  t.regex(deployProblems(local)[0]!.message, /does not exist .*an https:\/\/ mirror URL/);
  const existing = load(build("existing")).plan.config;
  const [p] = deployProblems(existing);
  t.is(p!.key, "dhis2:admin.privateKey");
  t.regex(p!.message, /pulumi config set --path --secret dhis2:admin\.privateKey < /);
  const withKey = load(build("existing", (c) => { c.admin.privateKey = "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----"; })).plan.config;
  t.deepEqual(deployProblems(withKey), []);
  t.is(withKey.admin.privateKey?.configKey, "dhis2:admin.privateKey");
});
