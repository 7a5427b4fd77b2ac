/**
 * Plan → every file installed on every host, rendered from templates/<role>/.
 *
 * Pure: the same plan and secrets always give the same files. Secrets (database passwords,
 * encryption passwords, the monitoring login, the relay password) come in as values so that
 * `npm run render` can show placeholders while `pulumi up` renders the real ones inside a secret
 * Output. A file that holds a secret is marked `secret: true` and gets mode 0600/0640.
 */
import type { RenderedFile } from "../files";
import type { Plan, InstancePlan } from "../plan";
import { allNodes, flowsTo, LXD_BRIDGE, PORTS, sourceAddress, type Node, type Topology } from "../plan/topology";
import { clamp, humanMb } from "../plan/units";
import { searchIndexScript, searchIndexTarget } from "../dhis2/search-indexes";
import { renderTemplate } from "./engine";

export interface DeploymentSecrets {
  /** Database password per instance name. */
  readonly databasePasswords: Readonly<Record<string, string>>;
  /** DHIS2 encryption.password per instance name. */
  readonly encryptionPasswords: Readonly<Record<string, string>>;
  /** One htpasswd line ("user:hash") for /munin and /glowroot. */
  readonly monitoringHtpasswd: string;
  /** SMTP relay password (alerts.smtp.password), when the relay needs a login. */
  readonly smtpPassword?: string;
}

/** Placeholders shown by `npm run render`: they say where the real value comes from. */
export function placeholderSecrets(plan: Plan): DeploymentSecrets {
  const byInstance = (what: string) =>
    Object.fromEntries(plan.instances.map((i) => [i.config.name, `<secret: ${what} of ${i.config.name}, generated at deploy; see pulumi stack output --show-secrets>`]));
  return {
    databasePasswords: byInstance("database password"),
    encryptionPasswords: byInstance("encryption password"),
    monitoringHtpasswd: "monitoring:<secret: password hash, generated at deploy>",
    smtpPassword: plan.config.alerts.smtp?.password ? "<secret: dhis2:alerts.smtp.password>" : undefined,
  };
}

export interface HostFiles {
  /** Node name (proxy, database, monitor, an instance name) or "host" for the LXD host. */
  readonly host: string;
  readonly role: string;
  readonly hostname: string;
  readonly address: string;
  readonly files: readonly RenderedFile[];
  /** cloud-init user-data, for servers the toolkit creates on hcloud or aws. */
  readonly userData?: string;
  /** Scripts run on the host (as root, on stdin) after the roles are configured, e.g. tracker search indexes. */
  readonly postProvision?: readonly { readonly name: string; readonly content: string }[];
}

/** Fixed locations on the hosts (Debian/Ubuntu layout). */
export const PATHS = {
  nginxConf: "/etc/nginx/nginx.conf",
  nginxSites: "/etc/nginx/dhis2",
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
  muninConf: "/etc/munin/munin.conf",
  muninNodeConf: "/etc/munin/munin-node.conf",
  muninPluginConf: "/etc/munin/plugin-conf.d/dhis2",
  /** munin's own update run (what its cron job runs every 5 minutes) and the lock it holds meanwhile. */
  muninCron: "/usr/bin/munin-cron",
  muninUpdateLock: "/var/run/munin/munin-update.lock",
  postfixDir: "/etc/postfix",
  forwardingSysctl: "/etc/sysctl.d/90-dhis2-forwarding.conf",
  /** Sends a test alert through the host's send-only mail set-up. */
  alertTest: "/usr/local/sbin/dhis2-alert-test",
} as const;

export const SERVICE_USER = "dhis";
export const STUB_STATUS_PORT = 8090;

const file = (path: string, content: string, mode: string, owner: string, group: string, reload?: string, secret?: boolean): RenderedFile =>
  ({ path, content, mode, owner, group, reload, ...(secret ? { secret: true } : {}) });

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

/** User name of the login in front of /munin and /glowroot. */
export const MONITORING_USER = "monitoring";

/** The stack's `credentials` output: the monitoring login and where it opens, each instance's database login. */
export interface DeploymentCredentials {
  readonly monitoring: { readonly user: string; readonly password: string; readonly urls: string[] };
  readonly databases: Record<string, { readonly database: string; readonly user: string; readonly password: string }>;
}

export function deploymentCredentials(plan: Plan, monitoringPassword: string, databasePasswords: Record<string, string>): DeploymentCredentials {
  const base = `https://${plan.config.domain}`;
  const glowroots = plan.config.monitoring.glowroot ? plan.instances.map((i) => `${base}${glowrootPath(i.config.name)}/`) : [];
  return {
    monitoring: { user: MONITORING_USER, password: monitoringPassword, urls: [`${base}/munin/`, ...glowroots] },
    databases: Object.fromEntries(plan.instances.map((i) => [i.config.name, { database: i.database, user: i.databaseUser, password: databasePasswords[i.config.name]! }])),
  };
}

/** The WAR's file name under webapps/: ROOT.war for "/", else the path's name. */
export function warFileName(path: string): string {
  return path === "/" ? "ROOT.war" : `${path.slice(1)}.war`;
}

/**
 * In lxd isolation the LXD host forwards its ports 80 and 443 to the proxy container through LXD
 * proxy devices that send the PROXY protocol header, so nginx sees the clients' real addresses.
 */
export function behindLxdProxyDevice(plan: Plan): boolean {
  return plan.config.isolation === "lxd";
}

function proxyFiles(plan: Plan): RenderedFile[] {
  const { config, topology } = plan;
  const stack = config.stack;
  const glowroot = config.monitoring.glowroot;
  const upstreams = plan.instances.flatMap((i) => [
    { name: `dhis2_${i.config.name}`, address: i.node.address, port: PORTS.tomcat },
    ...(glowroot ? [{ name: `glowroot_${i.config.name}`, address: i.node.address, port: PORTS.glowroot }] : []),
  ]);
  const files: RenderedFile[] = [
    file(PATHS.nginxConf, renderTemplate("nginx/nginx.conf.hbs", { stack, role: "proxy", hostname: topology.proxy.hostname, workerProcesses: "auto" }), "0644", "root", "root", "systemctl reload nginx"),
    file(`${PATHS.nginxSites}/00-proxy.conf`, renderTemplate("nginx/proxy.conf.hbs", {
      stack, domain: config.domain, instanceCount: plan.instances.length, upstreams, stubStatusPort: STUB_STATUS_PORT,
      proxyProtocol: behindLxdProxyDevice(plan),
    }), "0644", "root", "root", "systemctl reload nginx"),
  ];
  // one server block per host name; the stack's domain also serves /munin
  const hostnames = [...new Set([config.domain, ...plan.instances.map((i) => i.config.hostname)])];
  for (const hostname of hostnames) {
    const here = plan.instances.filter((i) => i.config.hostname === hostname);
    // the longest paths first, so that a reader sees the specific locations before "/"
    here.sort((a, b) => b.config.path.length - a.config.path.length);
    const cert = certificatePaths(hostname);
    const isMain = hostname === config.domain;
    files.push(file(`${PATHS.nginxSites}/${hostname}.conf`, renderTemplate("nginx/site.conf.hbs", {
      stack,
      hostname,
      proxyProtocol: behindLxdProxyDevice(plan),
      acme: config.tls.mode === "letsencrypt",
      stapling: config.tls.mode === "letsencrypt",
      resolver: "127.0.0.53",
      certificate: cert.certificate,
      certificateKey: cert.key,
      clientMaxBodySize: "100m",
      proxyTimeout: "360s",
      htpasswd: PATHS.htpasswd,
      locations: here.map((i) => ({
        name: i.config.name,
        version: i.config.runtime.display,
        path: i.config.path,
        root: i.config.path === "/",
        upstream: `dhis2_${i.config.name}`,
      })),
      // every instance's glowroot UI is served on the main domain, next to /munin
      glowroots: glowroot && isMain
        ? plan.instances.map((i) => ({ name: i.config.name, path: glowrootPath(i.config.name), upstream: `glowroot_${i.config.name}` }))
        : [],
      munin: isMain ? { address: topology.monitor.address, port: PORTS.muninWeb } : false,
    }), "0644", "root", "root", "systemctl reload nginx"));
  }
  return files;
}

function htpasswdFile(secrets: DeploymentSecrets): RenderedFile {
  return file(PATHS.htpasswd, `${secrets.monitoringHtpasswd}\n`, "0640", "root", "www-data", undefined, true);
}

function databaseFiles(plan: Plan): RenderedFile[] {
  const { config, topology, sizing } = plan;
  const dir = PATHS.postgresConfDir(plan.postgres.version);
  const db = topology.database;
  return [
    file(PATHS.postgresApply, renderTemplate("postgresql/apply-settings.sh.hbs", {
      stack: config.stack, version: plan.postgres.version,
    }), "0755", "root", "root"),
    file(`${dir}/conf.d/dhis2.conf`, renderTemplate("postgresql/dhis2.conf.hbs", {
      stack: config.stack,
      version: plan.postgres.version,
      cpus: sizing.database.cpus,
      memory: humanMb(sizing.database.memoryMb),
      disk: sizing.database.disk,
      isolation: config.isolation,
      listenAddresses: `localhost,${db.address}`,
      port: PORTS.postgres,
      sslCertFile: PATHS.postgresSslCert,
      sslKeyFile: PATHS.postgresSslKey,
      settings: plan.postgres.settings,
    }), "0644", "postgres", "postgres", PATHS.postgresApply),
    file(`${dir}/pg_hba.conf`, renderTemplate("postgresql/pg_hba.conf.hbs", {
      stack: config.stack,
      version: plan.postgres.version,
      instances: plan.instances.map((i) => ({ name: i.config.name, database: i.database, user: i.databaseUser, cidr: hostCidr(i.node.address) })),
    }), "0640", "postgres", "postgres", "systemctl reload postgresql"),
  ];
}

function hostCidr(address: string): string {
  return address.includes(":") ? `${address}/128` : `${address}/32`;
}

function instanceFiles(plan: Plan, inst: InstancePlan, secrets: DeploymentSecrets): RenderedFile[] {
  const { config, topology } = plan;
  const c = inst.config;
  const glowroot = config.monitoring.glowroot;
  const javaOpts = glowroot ? `${inst.jvm.javaOpts} -javaagent:${PATHS.glowrootDir}/glowroot.jar` : inst.jvm.javaOpts;
  const common = {
    stack: config.stack,
    name: c.name,
    version: c.runtime.display,
    jdk: c.jdk,
    serviceUser: SERVICE_USER,
    javaHome: PATHS.javaHome,
    dhis2Home: PATHS.dhis2Home,
    javaOpts,
    listenAddress: inst.node.address,
    port: PORTS.tomcat,
  };
  const files: RenderedFile[] = [
    file(`${PATHS.dhis2Home}/dhis.conf`, renderTemplate("dhis2/dhis.conf.hbs", {
      ...common,
      databaseHost: topology.database.address,
      databasePort: PORTS.postgres,
      database: inst.database,
      databaseUser: inst.databaseUser,
      databasePassword: secrets.databasePasswords[c.name],
      poolMaxSize: inst.jvm.poolMaxSize,
      hikari: c.runtime.major >= 38,
      baseUrl: c.baseUrl,
      encryptionPassword: secrets.encryptionPasswords[c.name],
    }), "0600", SERVICE_USER, SERVICE_USER, "systemctl restart dhis2", true),
  ];
  if (c.servletContainer === "embedded") {
    files.push(file(PATHS.dhis2Unit, renderTemplate("dhis2/dhis2-embedded.service.hbs", {
      ...common, warPath: `${PATHS.dhis2Home}/dhis2.war`,
    }), "0644", "root", "root", "systemctl daemon-reload && systemctl restart dhis2"));
  } else {
    const tomcatMajor = c.servletContainer === "tomcat9" ? 9 : 10;
    files.push(
      file(`${PATHS.catalinaBase}/conf/server.xml`, renderTemplate("tomcat/server.xml.hbs", {
        ...common,
        tomcatMajor,
        proxyAddress: topology.proxy.address,
        proxyName: c.hostname,
        maxThreads: clamp(Math.round(inst.node.budget.cpus * 16), 50, 300),
        internalProxiesRegex: topology.proxy.address.replace(/\./g, "\\."),
      }), "0640", "root", SERVICE_USER, "systemctl restart dhis2"),
      file(PATHS.dhis2Unit, renderTemplate("tomcat/dhis2.service.hbs", {
        ...common, tomcatMajor, catalinaHome: PATHS.catalinaHome, catalinaBase: PATHS.catalinaBase,
      }), "0644", "root", "root", "systemctl daemon-reload && systemctl restart dhis2"),
    );
  }
  if (glowroot) {
    files.push(file(`${PATHS.glowrootDir}/admin.json`, renderTemplate("glowroot/admin.json.hbs", {
      port: PORTS.glowroot, bindAddress: inst.node.address, contextPath: glowrootPath(c.name),
    }), "0600", SERVICE_USER, SERVICE_USER, "systemctl restart dhis2"));
  }
  return files;
}

function monitorFiles(plan: Plan): RenderedFile[] {
  const { config, topology } = plan;
  const th = config.monitoring.thresholds;
  const nodes = allNodes(topology).map((n) => ({
    hostname: n.hostname,
    address: n.address,
    loadWarning: +(th.loadWarningPerCpu * Math.max(1, n.budget.cpus)).toFixed(2),
    loadCritical: +(th.loadCriticalPerCpu * Math.max(1, n.budget.cpus)).toFixed(2),
  }));
  return [
    file(PATHS.muninConf, renderTemplate("munin/munin.conf.hbs", {
      stack: config.stack,
      group: config.domain,
      contacts: config.alerts.recipients.map((address, i) => ({ name: `admin${i + 1}`, address })),
      nodes,
    }), "0644", "root", "root"),
    file(PATHS.nginxConf, renderTemplate("nginx/nginx.conf.hbs", { stack: config.stack, role: "monitor", hostname: topology.monitor.hostname, workerProcesses: 1 }), "0644", "root", "root", "systemctl reload nginx"),
    file(`${PATHS.nginxSites}/munin.conf`, renderTemplate("nginx/munin-web.conf.hbs", {
      stack: config.stack, address: topology.monitor.address, port: PORTS.muninWeb, hostname: topology.monitor.hostname, proxyAddress: topology.proxy.address,
    }), "0644", "root", "root", "systemctl reload nginx"),
  ];
}

/** Files every node gets: firewall, munin-node, send-only mail. */
function commonFiles(plan: Plan, node: Node, secrets: DeploymentSecrets): RenderedFile[] {
  const { config, topology } = plan;
  const smtp = config.alerts.smtp;
  const relay = smtp ? `[${smtp.host}]:${smtp.port}` : "";
  const th = config.monitoring.thresholds;
  const files: RenderedFile[] = [
    file(PATHS.nftables, nftablesFor(plan, topology, node), "0755", "root", "root", "nft -f /etc/nftables.conf"),
    file(PATHS.muninNodeConf, renderTemplate("munin/munin-node.conf.hbs", {
      stack: config.stack,
      hostname: node.hostname,
      monitorAddress: topology.monitor.address,
      allow: ["127\\.0\\.0\\.1", topology.monitor.address.replace(/\./g, "\\.")],
      cidrAllow: [hostCidr(topology.monitor.address)],
      listenAddress: node.address,
      port: PORTS.muninNode,
    }), "0644", "root", "root", "systemctl restart munin-node"),
    file(PATHS.muninPluginConf, renderTemplate("munin/plugin-conf.hbs", {
      stack: config.stack,
      role: node.role,
      hostname: node.hostname,
      diskWarning: th.diskWarningPercent,
      diskCritical: th.diskCriticalPercent,
      nginx: node.role === "proxy" ? { stubStatusPort: STUB_STATUS_PORT } : false,
      postgres: node.role === "database" ? { port: PORTS.postgres } : false,
    }), "0644", "root", "root", "systemctl restart munin-node"),
    file(`${PATHS.postfixDir}/main.cf`, renderTemplate("mail/main.cf.hbs", {
      stack: config.stack,
      hostname: node.hostname,
      domain: config.domain,
      relay: relay || "",
      from: config.alerts.from,
      security: smtp?.security ?? "none",
      auth: Boolean(smtp?.username),
    }), "0644", "root", "root", "systemctl reload postfix"),
    file(`${PATHS.postfixDir}/master.cf`, renderTemplate("mail/master.cf.hbs", { stack: config.stack }), "0644", "root", "root", "systemctl restart postfix"),
    file(`${PATHS.postfixDir}/virtual_alias`, renderTemplate("mail/virtual_alias.hbs", {
      stack: config.stack, recipients: config.alerts.recipients, domain: config.domain,
    }), "0644", "root", "root", "systemctl reload postfix"),
    file(PATHS.alertTest, renderTemplate("mail/alert-test.sh.hbs", {
      stack: config.stack, relay: relay || "(none: direct delivery)", recipients: config.alerts.recipients.length ? config.alerts.recipients : ["root"],
    }), "0755", "root", "root"),
  ];
  if (smtp?.username) {
    files.push(file(`${PATHS.postfixDir}/sasl_passwd`, renderTemplate("mail/sasl_passwd.hbs", {
      relay, username: smtp.username, password: secrets.smtpPassword ?? "",
    }), "0600", "root", "root", "systemctl reload postfix", true));
  }
  return files;
}

/** nftables rules for one node: the flows into it, by source. */
export function nftablesFor(plan: Plan, topology: Topology, node: Node): string {
  const rules = flowsTo(topology, node.name).map((f) => {
    let match = "";
    if (f.from.kind === "admin") match = setMatch(plan.config.admin.allowedCidrs);
    else if (f.from.kind === "node") match = setMatch([sourceAddress(topology, f.from)!]);
    return { match, port: f.port, purpose: f.purpose };
  });
  return renderTemplate("firewall/nftables.conf.hbs", {
    stack: plan.config.stack, hostname: node.hostname, role: node.role, address: node.address, extraRules: [], rules,
    nat: natGateway(plan) === node.name ? { network: plan.config.networkCidr } : false,
  });
}

/**
 * The node that is the private servers' way out to the internet, if one is: the proxy on hcloud
 * in vm isolation (Hetzner networks have no NAT gateway; the network's default route points at
 * the proxy). On aws a NAT gateway does it; elsewhere the servers have their own way out.
 */
export function natGateway(plan: Plan): string | undefined {
  return plan.config.platform === "hcloud" && plan.config.isolation === "vm" ? plan.topology.proxy.name : undefined;
}

/** "ip saddr { a, b } " for the given addresses/CIDRs, split by family. */
function setMatch(sources: readonly string[]): string {
  const v4 = sources.filter((s) => !s.includes(":"));
  const v6 = sources.filter((s) => s.includes(":"));
  if (v4.length && v6.length) throw new Error("a rule mixes IPv4 and IPv6 sources; split it");
  const list = v4.length ? v4 : v6;
  if (list.length === 0) return "";
  return `${v4.length ? "ip" : "ip6"} saddr { ${list.join(", ")} } `;
}

/** Firewall of the LXD host itself (lxd isolation on servers we own): HTTP(S) to the proxy, SSH for admins, munin. */
function lxdHostFiles(plan: Plan): RenderedFile[] {
  const { config, topology } = plan;
  const bridgeRules = [
    `iifname "${LXD_BRIDGE}" udp dport { 53, 67 } accept comment "LXD bridge: DNS and DHCP for the containers"`,
    `iifname "${LXD_BRIDGE}" tcp dport 53 accept comment "LXD bridge: DNS"`,
  ];
  const rules = [
    { match: "", port: PORTS.http, purpose: "HTTP, forwarded to the proxy container" },
    { match: "", port: PORTS.https, purpose: "HTTPS, forwarded to the proxy container" },
    { match: setMatch(config.admin.allowedCidrs), port: PORTS.ssh, purpose: "admin SSH" },
    { match: setMatch([topology.monitor.address]), port: PORTS.muninNode, purpose: "munin master polls the host" },
  ];
  return [file(PATHS.nftables, renderTemplate("firewall/nftables.conf.hbs", {
    stack: config.stack, hostname: "dhis2-host", role: "LXD host", address: topology.gateway ?? "", extraRules: bridgeRules, rules,
  }), "0755", "root", "root", "nft -f /etc/nftables.conf")];
}

/** cloud-init user-data for a server the toolkit creates (hcloud, aws). */
export function cloudInitUserData(plan: Plan, hostname: string, bastion?: string): string {
  const { config } = plan;
  return renderTemplate("cloud-init/user-data.hbs", {
    stack: config.stack, hostname, domain: config.domain, adminUser: config.admin.user, sshKeys: config.admin.sshKeys, bastion: bastion ?? false,
  });
}

/** Every file on every host of the deployment. */
export function renderDeployment(plan: Plan, secrets: DeploymentSecrets): HostFiles[] {
  const { config, topology } = plan;
  const out: HostFiles[] = [];
  const add = (node: Node, files: RenderedFile[]) =>
    out.push({ host: node.name, role: node.role, hostname: node.hostname, address: node.address, files: [...files, ...commonFiles(plan, node, secrets)] });

  const forwarding = natGateway(plan) === topology.proxy.name
    ? [file(PATHS.forwardingSysctl, "# Managed by the DHIS2 toolkit: the proxy routes the private servers' traffic to the internet.\nnet.ipv4.ip_forward = 1\n", "0644", "root", "root", `sysctl -q -p ${PATHS.forwardingSysctl}`)]
    : [];
  add(topology.proxy, [...proxyFiles(plan), htpasswdFile(secrets), ...forwarding]);
  for (const inst of plan.instances) add(inst.node, instanceFiles(plan, inst, secrets));
  add(topology.database, databaseFiles(plan));
  const database = out[out.length - 1]!;
  out[out.length - 1] = {
    ...database,
    postProvision: plan.instances.map((i) => ({ name: `tracker-search-indexes-${i.config.name}.sh`, content: searchIndexScript(searchIndexTarget(plan, i)) })),
  };
  add(topology.monitor, monitorFiles(plan));
  if (config.isolation === "lxd" && config.platform !== "local") {
    out.push({ host: "host", role: "lxd-host", hostname: "dhis2-host", address: topology.gateway ?? "", files: lxdHostFiles(plan) });
  }
  const cloud = config.platform === "hcloud" || config.platform === "aws";
  if (!cloud) return out;
  // cloud-init bootstraps servers: every server in vm isolation, only the LXD host in lxd isolation
  return out.map((h) => {
    const isServer = config.isolation === "vm" || h.role === "lxd-host";
    if (!isServer) return h;
    const reachedDirectly = h.role === "proxy" || h.role === "lxd-host";
    return { ...h, userData: cloudInitUserData(plan, h.hostname, reachedDirectly ? undefined : topology.proxy.address) };
  });
}
