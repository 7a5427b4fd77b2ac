/**
 * The role-specific steps of the convergence, as scripts: the proxy's certificates, the DHIS2 WAR,
 * the glowroot agent, and the databases and roles of the instances. Pure (templates under
 * templates/<role>/); components/deployment.ts runs them through the host abstraction.
 */
import type { InstancePlan, Plan } from "../plan";
import { PATHS, SERVICE_USER, warFileName } from "./deployment";
import { proxyCertificates } from "./converge";
import { renderTemplate } from "./engine";

/** An artifact (WAR, archive) given as a URL, or as a local file copied to the host first. */
export interface ArtifactSource {
  /** The URL or absolute local path, as in the stack. */
  readonly source: string;
  /** For a local file: where the copy lands on the host before the script moves it. */
  readonly staged?: string;
  /** Expected sha256 (hex), when known: a local file's own, checked again on the host. */
  readonly sha256?: string;
}

export function isLocalArtifact(source: string): boolean {
  return source.startsWith("/");
}

/** Where local artifacts are copied to on a host before they are moved into place. */
export function stagedPath(what: string): string {
  return `/var/lib/dhis2-toolkit/incoming/${what}`;
}

const SHA256_RE = /^[0-9a-f]{64}$/;
const URL_RE = /^https?:\/\/[A-Za-z0-9.-]+(?::\d+)?\/[A-Za-z0-9._~:/?#[\]@!$&()*+,;=%-]*$/;

function artifactContext(a: ArtifactSource): { source: string; staged: string | false; sha256: string | false } {
  if (a.sha256 !== undefined && !SHA256_RE.test(a.sha256)) throw new Error(`not a sha256: ${a.sha256}`);
  if (!a.staged && !URL_RE.test(a.source)) throw new Error(`not a plain http(s) URL: ${JSON.stringify(a.source)}`);
  if (a.staged && !/^\/[A-Za-z0-9._/-]+$/.test(a.staged)) throw new Error(`not a plain path: ${JSON.stringify(a.staged)}`);
  return { source: a.source, staged: a.staged ?? false, sha256: a.sha256 ?? false };
}

/** Installs an instance's WAR where its servlet container deploys it. */
export function warScript(plan: Plan, inst: InstancePlan, artifact: ArtifactSource): string {
  const c = inst.config;
  const target = c.servletContainer === "embedded"
    ? `${PATHS.dhis2Home}/dhis2.war`
    : `${PATHS.catalinaBase}/webapps/${warFileName(c.path)}`;
  return renderTemplate("dhis2/war.sh.hbs", {
    stack: plan.config.stack, name: c.name, index: plan.instances.indexOf(inst), version: c.runtime.display, target, serviceUser: SERVICE_USER, ...artifactContext(artifact),
  });
}

/** Installs the glowroot agent next to the toolkit's admin.json. */
export function glowrootScript(plan: Plan, artifact: ArtifactSource): string {
  return renderTemplate("glowroot/install.sh.hbs", {
    stack: plan.config.stack, version: plan.config.monitoring.glowrootVersion, dir: PATHS.glowrootDir, serviceUser: SERVICE_USER, ...artifactContext(artifact),
  });
}

/** Makes the proxy's self-signed certificates (tls.mode self-signed). */
export function selfSignedCertificatesScript(plan: Plan): string {
  return renderTemplate("nginx/self-signed.sh.hbs", { stack: plan.config.stack, certificates: proxyCertificates(plan) });
}

/**
 * Let's Encrypt for every host name of the proxy (tls.mode letsencrypt), once nginx answers the
 * HTTP challenges; certbot's timer renews, and its deploy hook copies each certificate into the
 * toolkit's directory and reloads nginx.
 */
export function letsencryptScript(plan: Plan): string {
  return renderTemplate("nginx/letsencrypt.sh.hbs", {
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
  const ctx = (a: ArtifactSource) => artifactContext(a);
  const c = ctx(chain);
  const k = ctx(key);
  if (!c.staged || !k.staged) throw new Error("the provided certificate and key are local files");
  return renderTemplate("nginx/provided-certificate.sh.hbs", {
    stack: plan.config.stack,
    chainSource: chain.source, keySource: key.source,
    chainStaged: c.staged, keyStaged: k.staged,
    chainSha256: c.sha256, keySha256: k.sha256,
    hostnames: certs.map((x) => x.hostname),
    dirs: certs.map((x) => x.certificate.slice(0, x.certificate.lastIndexOf("/"))),
  });
}

/** A PostgreSQL string literal. */
export function sqlLiteral(s: string): string {
  if (s.includes("\0")) throw new Error("a NUL byte cannot be in a PostgreSQL string");
  return `'${s.replace(/'/g, "''")}'`;
}

/**
 * Creates each instance's role (with its password) and database, with postgis, pg_trgm and
 * btree_gin. Holds the passwords: run it with the SQL on stdin, as a secret.
 */
export function databasesSql(plan: Plan, passwords: Readonly<Record<string, string>>): string {
  return renderTemplate("postgresql/databases.sql.hbs", {
    stack: plan.config.stack,
    instances: plan.instances.map((i) => {
      const pw = passwords[i.config.name];
      if (!pw) throw new Error(`no database password for instance ${i.config.name}`);
      return {
        name: i.config.name,
        database: i.database,
        user: i.databaseUser,
        // the pool plus a few for DHIS2's own side connections and an admin
        connectionLimit: i.jvm.poolMaxSize + 5,
        passwordLiteral: sqlLiteral(pw),
      };
    }),
  });
}

/** When a role step runs: before the files, after the files (before start), after start. */
export type StepPhase = "prepare" | "install" | "after";

/** A role-specific step of one host, as the components run it and `npm run render` shows it. */
export interface RoleStep {
  readonly name: string;
  readonly phase: StepPhase;
  /** Command on the host that gets `script` on stdin; default: a bash script. */
  readonly command?: string;
  readonly script: string;
  /** The script holds secrets. */
  readonly secret?: boolean;
  /** A local file copied to the host first (sha256 as fingerprint). */
  readonly copy?: { readonly localPath: string; readonly remotePath: string; readonly fingerprint: string };
}

export interface RoleStepInputs {
  /** How a WAR or archive source becomes an artifact (a local file gets staged and hashed). */
  readonly artifact: (name: string, source: string) => ArtifactSource;
  /** Database password per instance (placeholders for `npm run render`). */
  readonly databasePasswords: Readonly<Record<string, string>>;
}

/** The role steps of one node (proxy, database, monitor, or an instance name), in order. */
export function roleSteps(plan: Plan, node: string, inputs: RoleStepInputs): RoleStep[] {
  const { config } = plan;
  const steps: RoleStep[] = [];
  const withCopy = (a: ArtifactSource) => a.staged && a.sha256 ? { copy: { localPath: a.source, remotePath: a.staged, fingerprint: a.sha256 } } : {};
  if (node === "proxy") {
    // nginx needs a certificate to start: a self-signed one until the real one is there
    steps.push({ name: "certificates", phase: "prepare", script: selfSignedCertificatesScript(plan) });
    if (config.tls.mode === "letsencrypt") steps.push({ name: "letsencrypt", phase: "after", script: letsencryptScript(plan) });
    if (config.tls.mode === "provided") {
      const chain = inputs.artifact("tls-chain", config.tls.certificateFile!);
      const key = inputs.artifact("tls-key", config.tls.keyFile!);
      // the chain is copied by the first step, the key by the second, which installs both
      steps.push({ name: "tls-chain", phase: "prepare", script: `#!/bin/sh\n# the provided certificate chain ${chain.source} is copied to ${chain.staged}\ntest -s ${chain.staged}\n`, ...withCopy(chain) });
      steps.push({ name: "tls-key", phase: "prepare", script: providedCertificateScript(plan, chain, key), ...withCopy(key) });
    }
  }
  if (node === "database") {
    steps.push({ name: "databases", phase: "after", command: "runuser -u postgres -- psql -X -q -f -", script: databasesSql(plan, inputs.databasePasswords), secret: true });
  }
  const inst = plan.instances.find((i) => i.config.name === node);
  if (inst) {
    const war = inputs.artifact("war", inst.config.war);
    steps.push({ name: "war", phase: "install", script: warScript(plan, inst, war), ...withCopy(war) });
    if (config.monitoring.glowroot) {
      const gr = inputs.artifact("glowroot", config.monitoring.glowrootArchive);
      steps.push({ name: "glowroot", phase: "install", script: glowrootScript(plan, gr), ...withCopy(gr) });
    }
  }
  return steps;
}

/** Artifacts as `npm run render` shows them: local files staged, no hash computed. */
export function previewArtifact(name: string, source: string): ArtifactSource {
  return isLocalArtifact(source) ? { source, staged: stagedPath(name) } : { source };
}
