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
  return { source: a.source, staged: a.staged ?? false, sha256: a.sha256 ?? false };
}

/** Installs an instance's WAR where its servlet container deploys it. */
export function warScript(plan: Plan, inst: InstancePlan, artifact: ArtifactSource): string {
  const c = inst.config;
  const target = c.servletContainer === "embedded"
    ? `${PATHS.dhis2Home}/dhis2.war`
    : `${PATHS.catalinaBase}/webapps/${warFileName(c.path)}`;
  return renderTemplate("dhis2/war.sh.hbs", {
    stack: plan.config.stack, name: c.name, version: c.runtime.display, target, serviceUser: SERVICE_USER, ...artifactContext(artifact),
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
