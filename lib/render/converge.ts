/**
 * How a host is brought to its rendered state, as shell text the host abstraction runs as root:
 *
 *   1. setup   templates/host/setup.sh.hbs: the role's packages, users, directories, links;
 *   2. files   one command per rendered file: the content on stdin, written atomically with its
 *              owner and mode; on a later change the same command writes it again and runs the
 *              file's own reload (so one changed file reloads only its service);
 *   3. start   templates/host/start.sh.hbs: firewall loaded, services enabled and (re)started once
 *              every file is in place.
 *
 * Pure: the components (components/roles.ts) only turn these into commands on a Host.
 */
import type { RenderedFile } from "../files";
import type { Plan } from "../plan";
import { PATHS, SERVICE_USER, certificatePaths, type HostFiles } from "./deployment";
import { renderTemplate } from "./engine";
import { distributionTomcat, lxdHostPackages, rolePackages } from "./packages";

export interface HostSetup {
  /** Node name: proxy, database, monitor, or the instance name. */
  readonly host: string;
  readonly role: string;
  readonly hostname: string;
  readonly packages: readonly string[];
  /** Step 1, run on stdin by /bin/bash. */
  readonly setupScript: string;
  /** Step 2. */
  readonly files: readonly RenderedFile[];
  /** Services (re)started by step 3, in order. */
  readonly services: readonly string[];
  /** Step 3, run on stdin by /bin/bash. */
  readonly startScript: string;
}

/** Quote a string for a POSIX shell. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

const MODE_RE = /^0[0-7]{3}$/;
const NAME_RE = /^[a-z_][a-z0-9_-]*$/;

/**
 * The shell command that writes a file from its stdin: into a temporary file next to it (mode
 * 0600 until it is complete), then owner, mode, and an atomic rename. With `reload`, the file's
 * reload command runs afterwards. Paths, owners and modes are checked, as they end up in a command.
 */
export function writeFileCommand(file: RenderedFile, reload: boolean): string {
  if (!file.path.startsWith("/") || /[\0\n]/.test(file.path)) throw new Error(`not an absolute path: ${JSON.stringify(file.path)}`);
  if (!MODE_RE.test(file.mode)) throw new Error(`${file.path}: not an octal mode: ${file.mode}`);
  if (!NAME_RE.test(file.owner) || !NAME_RE.test(file.group)) throw new Error(`${file.path}: bad owner ${file.owner}:${file.group}`);
  const p = shellQuote(file.path);
  const dir = shellQuote(file.path.slice(0, file.path.lastIndexOf("/")) || "/");
  const steps = [
    "set -e",
    "umask 077",
    `mkdir -p ${dir}`,
    `tmp=$(mktemp ${shellQuote(`${file.path}.dhis2-XXXXXX`)})`,
    `cat >"$tmp"`,
    `chown ${file.owner}:${file.group} "$tmp"`,
    `chmod ${file.mode} "$tmp"`,
    `mv -f "$tmp" ${p}`,
  ];
  if (reload && file.reload) steps.push(file.reload);
  return steps.join("; ");
}

function servicesOf(role: string): string[] {
  switch (role) {
    case "proxy":
      return ["nginx", "munin-node", "postfix"];
    case "database":
      return ["postgresql", "munin-node", "postfix"];
    case "instance":
      return ["dhis2", "munin-node", "postfix"];
    case "monitor":
      return ["nginx", "munin-node", "postfix"];
    default:
      return [];
  }
}

/** The set-up of every host of a rendered deployment (an LXD server the toolkit manages included). */
export function hostSetups(plan: Plan, hosts: readonly HostFiles[]): HostSetup[] {
  const { config } = plan;
  return hosts.map((h) => {
    const inst = plan.instances.find((i) => i.config.name === h.host && h.role === "instance");
    const packages = h.role === "lxd-host" ? lxdHostPackages() : rolePackages(h.role as "proxy", {
      postgresVersion: plan.postgres.version,
      jdk: inst?.config.jdk ?? 17,
      servletContainer: inst?.config.servletContainer ?? "tomcat10",
      glowroot: config.monitoring.glowroot,
    });
    const tomcat = inst ? distributionTomcat(inst.config.servletContainer) : undefined;
    const tlsHostnames = [...new Set([config.domain, ...plan.instances.map((i) => i.config.hostname)])];
    const setupScript = renderTemplate("host/setup.sh.hbs", {
      stack: config.stack,
      hostname: h.hostname,
      domain: config.domain,
      role: h.role,
      packages,
      masked: tomcat ? [tomcat.service] : [],
      // the local platform's containers are rebuilt from a fresh image; servers update themselves
      unattendedUpgrades: config.platform !== "local",
      nginxSites: h.role === "proxy" || h.role === "monitor" ? PATHS.nginxSites : false,
      proxy: h.role === "proxy"
        ? { tlsDirs: tlsHostnames.map((n) => PATHS.tlsDir(n)), acmeWebroot: config.tls.mode === "letsencrypt" ? PATHS.acmeWebroot : false }
        : false,
      instance: inst
        ? {
            name: inst.config.name,
            serviceUser: SERVICE_USER,
            dhis2Home: PATHS.dhis2Home,
            jdk: inst.config.jdk,
            javaHome: PATHS.javaHome,
            tomcat: tomcat ? { ...tomcat, link: PATHS.catalinaHome, base: PATHS.catalinaBase } : false,
            glowrootDir: config.monitoring.glowroot ? PATHS.glowrootDir : false,
          }
        : false,
    });
    const services = servicesOf(h.role);
    const checks: string[] = h.files.filter((f) => f.path.startsWith("/etc/sysctl.d/")).map((f) => `sysctl -q -p ${f.path}`);
    if (h.role === "database") {
      checks.push(`for i in $(seq 60); do pg_isready -q && break; sleep 1; done; pg_isready`);
    }
    if (h.role === "proxy" || h.role === "monitor") checks.unshift("nginx -t -q");
    // the monitor makes its first graphs and pages at once (waiting for munin's own cron job if it runs)
    if (h.role === "monitor") {
      checks.push(renderTemplate("munin/first-run.sh.hbs", { hostname: h.hostname, lock: PATHS.muninUpdateLock, command: PATHS.muninCron }).trimEnd());
    }
    const startScript = renderTemplate("host/start.sh.hbs", {
      stack: config.stack, hostname: h.hostname, role: h.role, services, checks,
    });
    return { host: h.host, role: h.role, hostname: h.hostname, packages, setupScript, files: h.files, services, startScript };
  });
}

/** Paths of the certificate and key the proxy serves for each host name (self-signed and provided modes). */
export function proxyCertificates(plan: Plan): { hostname: string; certificate: string; key: string }[] {
  const names = [...new Set([plan.config.domain, ...plan.instances.map((i) => i.config.hostname)])];
  return names.map((hostname) => ({ hostname, ...certificatePaths(hostname) }));
}
