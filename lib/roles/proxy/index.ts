/**
 * Role `proxy`: nginx terminating TLS for every host name of the deployment and passing requests
 * to the DHIS2 instances (and glowroot and munin behind a login); the certificates (self-signed,
 * provided, or Let's Encrypt); on hcloud (vm) also the private servers' way out (NAT). Opens
 * HTTP and HTTPS to the internet. Templates: templates/proxy/ (and the common nginx.conf).
 */
import type { Plan } from "../../plan";
import { natGateway, PORTS } from "../../plan/topology";
import { artifactContext, withCopy, type ArtifactSource } from "../../render/artifacts";
import { renderTemplate } from "../../render/engine";
import { file, type RenderedFile } from "../../render/file";
import { certificatePaths, glowrootPath, PATHS, STUB_STATUS_PORT } from "../../render/paths";
import type { DeploymentSecrets } from "../../render/secrets";
import { flow } from "../flows";
import { NOTHING, type Role, type RoleContext, type RoleStep, type RoleStepInputs } from "../types";

/**
 * In lxd isolation the LXD host forwards its ports 80 and 443 to the proxy container through LXD
 * proxy devices that send the PROXY protocol header, so nginx sees the clients' real addresses.
 */
export function behindLxdProxyDevice(plan: Plan): boolean {
  return plan.config.isolation === "lxd";
}

/** Every host name the proxy serves: the stack's domain and the instances' own. */
export function proxyHostnames(plan: Plan): string[] {
  return [...new Set([plan.config.domain, ...plan.instances.map((i) => i.config.hostname)])];
}

/** Paths of the certificate and key the proxy serves for each host name. */
export function proxyCertificates(plan: Plan): { hostname: string; certificate: string; key: string }[] {
  return proxyHostnames(plan).map((hostname) => ({ hostname, ...certificatePaths(hostname) }));
}

function files(ctx: RoleContext, secrets: DeploymentSecrets): RenderedFile[] {
  const { plan } = ctx;
  const { config, topology } = plan;
  const stack = config.stack;
  const glowroot = config.monitoring.glowroot;
  const upstreams = plan.instances.flatMap((i) => [
    { name: `dhis2_${i.config.name}`, address: i.node.address, port: PORTS.tomcat },
    ...(glowroot ? [{ name: `glowroot_${i.config.name}`, address: i.node.address, port: PORTS.glowroot }] : []),
  ]);
  const out: RenderedFile[] = [
    file(PATHS.nginxConf, renderTemplate("common/nginx.conf.hbs", { stack, role: "proxy", hostname: topology.proxy.hostname, workerProcesses: "auto" }), "0644", "root", "root", "systemctl reload nginx"),
    file(`${PATHS.nginxSites}/00-proxy.conf`, renderTemplate("proxy/proxy.conf.hbs", {
      stack, domain: config.domain, instanceCount: plan.instances.length, upstreams, stubStatusPort: STUB_STATUS_PORT,
      analyticsRate: config.proxy.analyticsRatePerSecond, analyticsBurst: config.proxy.analyticsBurst,
      proxyProtocol: behindLxdProxyDevice(plan),
    }), "0644", "root", "root", "systemctl reload nginx"),
  ];
  // one server block per host name; the stack's domain also serves /munin
  for (const hostname of proxyHostnames(plan)) {
    const here = plan.instances.filter((i) => i.config.hostname === hostname);
    // the longest paths first, so that a reader sees the specific locations before "/"
    here.sort((a, b) => b.config.path.length - a.config.path.length);
    const cert = certificatePaths(hostname);
    const isMain = hostname === config.domain;
    out.push(file(`${PATHS.nginxSites}/${hostname}.conf`, renderTemplate("proxy/site.conf.hbs", {
      stack,
      hostname,
      proxyProtocol: behindLxdProxyDevice(plan),
      acme: config.tls.mode === "letsencrypt",
      certificate: cert.certificate,
      certificateKey: cert.key,
      clientMaxBodySize: "100m",
      analyticsBurst: config.proxy.analyticsBurst,
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
      onDemandDir: isMain && topology.onDemand ? PATHS.nginxOnDemand : false,
    }), "0644", "root", "root", "systemctl reload nginx"));
  }
  out.push(file(PATHS.htpasswd, `${secrets.monitoringHtpasswd}\n`, "0640", "root", "www-data", undefined, true));
  if (natGateway(config, topology) === topology.proxy.name) {
    out.push(file(PATHS.forwardingSysctl, renderTemplate("proxy/forwarding.conf.hbs", {}), "0644", "root", "root", `sysctl -q -p ${PATHS.forwardingSysctl}`));
  }
  return out;
}

/** Makes the proxy's self-signed certificates (tls.mode self-signed, and until the real ones are there). */
export function selfSignedCertificatesScript(plan: Plan): string {
  return renderTemplate("proxy/self-signed.sh.hbs", { stack: plan.config.stack, certificates: proxyCertificates(plan) });
}

/**
 * Let's Encrypt for every host name of the proxy (tls.mode letsencrypt), once nginx answers the
 * HTTP challenges; certbot's timer renews, and its deploy hook copies each certificate into the
 * toolkit's directory and reloads nginx.
 */
export function letsencryptScript(plan: Plan): string {
  return renderTemplate("proxy/letsencrypt.sh.hbs", {
    stack: plan.config.stack,
    email: plan.config.tls.email,
    webroot: PATHS.acmeWebroot,
    hook: PATHS.certificateHook,
    certificates: proxyCertificates(plan).map((c) => ({ ...c, live: PATHS.letsencryptDir(c.hostname) })),
  });
}

/** Installs the provided certificate and key (tls.mode provided) into every host name's directory. */
export function providedCertificateScript(plan: Plan, chain: ArtifactSource, key: ArtifactSource): string {
  const certs = proxyCertificates(plan);
  const c = artifactContext(chain);
  const k = artifactContext(key);
  if (!c.staged || !k.staged) throw new Error("the provided certificate and key are local files");
  return renderTemplate("proxy/provided-certificate.sh.hbs", {
    stack: plan.config.stack,
    chainSource: chain.source, keySource: key.source,
    chainStaged: c.staged, keyStaged: k.staged,
    chainSha256: c.sha256, keySha256: k.sha256,
    hostnames: certs.map((x) => x.hostname),
    dirs: certs.map((x) => x.certificate.slice(0, x.certificate.lastIndexOf("/"))),
  });
}

function steps(ctx: RoleContext, inputs: RoleStepInputs): RoleStep[] {
  const { plan } = ctx;
  const { config } = plan;
  // nginx needs a certificate to start: a self-signed one until the real one is there
  const out: RoleStep[] = [{ name: "certificates", phase: "prepare", script: selfSignedCertificatesScript(plan) }];
  if (config.tls.mode === "letsencrypt") out.push({ name: "letsencrypt", phase: "after", script: letsencryptScript(plan) });
  if (config.tls.mode === "provided") {
    const chain = inputs.artifact("tls-chain", config.tls.certificateFile!);
    const key = inputs.artifact("tls-key", config.tls.keyFile!);
    // the chain is copied by the first step, the key by the second, which installs both
    out.push({ name: "tls-chain", phase: "prepare", script: renderTemplate("proxy/provided-chain.sh.hbs", artifactContext(chain)), ...withCopy(chain) });
    out.push({ name: "tls-key", phase: "prepare", script: providedCertificateScript(plan, chain, key), ...withCopy(key) });
  }
  return out;
}

export const proxy: Role = {
  ...NOTHING,
  name: "proxy",
  packages: () => ["nginx", "openssl"],
  files,
  setup: ({ plan }) => ({
    nginx: true,
    section: renderTemplate("proxy/setup.sh.hbs", {
      tlsDirs: proxyHostnames(plan).map((n) => PATHS.tlsDir(n)),
      acmeWebroot: plan.config.tls.mode === "letsencrypt" ? PATHS.acmeWebroot : false,
    }),
  }),
  services: () => ["nginx"],
  // the configuration is valid before anything else is checked; the forwarding switch (when the
  // proxy is the bastion) takes effect, by its file's own command. The hardening's sysctl files are
  // applied by theirs (common role), which tolerate a container's read-only kernel settings.
  startChecks: (_ctx, files) => ["nginx -t -q", ...files.filter((f) => f.path === PATHS.forwardingSysctl && f.reload).map((f) => f.reload!)],
  steps,
  muninPluginSettings: () => [renderTemplate("proxy/munin-plugins.conf.hbs", { stubStatusPort: STUB_STATUS_PORT })],
  // nginx, each instance through it (as the users reach it), each certificate's remaining days
  statusChecks: ({ plan }) => [
    "check_service nginx",
    ...plan.instances.map((i) => `check_http ping-via-proxy:${i.config.name} https://${i.config.hostname}${i.config.path === "/" ? "" : i.config.path}/api/ping ${plan.config.monitoring.thresholds.pingSlowMs} -k --resolve ${i.config.hostname}:443:127.0.0.1${behindLxdProxyDevice(plan) ? " --haproxy-protocol" : ""}`),
    ...proxyCertificates(plan).map((c) => `check_certificate certificate:${c.hostname} ${c.certificate} ${plan.config.monitoring.thresholds.certificateWarningDays} ${plan.config.monitoring.thresholds.certificateCriticalDays}`),
  ],
  flows: ({ topology }) => [
    flow({ kind: "internet" }, topology.proxy, PORTS.http, "HTTP (redirect to HTTPS, ACME challenges)"),
    flow({ kind: "internet" }, topology.proxy, PORTS.https, "HTTPS"),
  ],
};
