/**
 * Local files a stack names (a WAR, the glowroot archive, a provided certificate) must exist and
 * be readable on the machine running pulumi: checked before any resource is touched, with the key
 * that names the file.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import type { ConfigProblem, DeploymentConfig } from "./model";
import { generatedSecretSpecs } from "./generated";

function check(key: string, path: string | undefined, what: string, problems: ConfigProblem[]): void {
  if (!path || !path.startsWith("/")) return; // a URL: fetched by the host itself
  try {
    const st = fs.statSync(path);
    if (!st.isFile()) problems.push({ key, value: path, message: `must be a file (${what}); this path is not a regular file` });
    else fs.accessSync(path, fs.constants.R_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    problems.push({ key, value: path, message: code === "ENOENT" ? `names a file that does not exist (${what}): give an absolute path on this machine, or an https:// mirror URL` : `cannot be read (${what}): ${code}` });
  }
}

/**
 * What `pulumi up` needs beyond a valid stack: the local files it names, and the private key to
 * reach servers over SSH. Checked by index.ts before any resource is created.
 */
export function deployProblems(config: DeploymentConfig): ConfigProblem[] {
  const problems = artifactProblems(config);
  if (config.platform !== "local" && !config.admin.privateKey?.value) {
    problems.push({
      key: "dhis2:admin.privateKey",
      message: `is required to deploy on platform ${config.platform}: the private key (matching one of admin.sshKeys) pulumi connects with; set it with \`pulumi config set --path --secret dhis2:admin.privateKey < ~/.ssh/id_ed25519\` (read from stdin, never on a command line)`,
    });
  }
  return problems;
}

/**
 * What `pulumi up` needs of dhis2:generated: every generated secret of the deployment, decrypted
 * (only the engine decrypts: `npm run render` shows placeholders and does not ask).
 */
export function generatedProblems(config: DeploymentConfig): ConfigProblem[] {
  return generatedSecretSpecs(config.instances.map((i) => i.name))
    .filter((s) => config.generated[s.name]?.value === undefined)
    .map((s) => ({
      key: `dhis2:generated.${s.name}`,
      message: `is missing (${s.what}): run \`npm run secrets -- --stack ${config.stack}\`, which generates every missing secret into the stack file, encrypted (npm start and npm run pulumi -- up do it themselves)`,
    }));
}

export function artifactProblems(config: DeploymentConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  config.instances.forEach((inst, i) => {
    const before = problems.length;
    check(`dhis2:instances[${i}].war`, inst.war, `the DHIS2 ${inst.runtime.display} WAR of ${inst.name}`, problems);
    if (problems.length === before && inst.warSha256 && inst.war.startsWith("/")) {
      const actual = fileSha256(inst.war);
      if (actual !== inst.warSha256) {
        problems.push({ key: `dhis2:instances[${i}].warSha256`, value: inst.warSha256, message: `does not match ${inst.war}, whose sha256 is ${actual}: the file is not the WAR the stack expects (a partial download, or another release)` });
      }
    }
  });
  if (config.monitoring.glowroot) check("dhis2:monitoring.glowrootArchive", config.monitoring.glowrootArchive, "the glowroot dist zip", problems);
  check("dhis2:tls.certificateFile", config.tls.certificateFile, "the PEM certificate chain", problems);
  check("dhis2:tls.keyFile", config.tls.keyFile, "the PEM private key", problems);
  return problems;
}

/** sha256 of a local file, streamed (WARs are hundreds of MB). */
export function fileSha256(path: string): string {
  const hash = crypto.createHash("sha256");
  const fd = fs.openSync(path, "r");
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    let n: number;
    while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) hash.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest("hex");
}

/** Why a URL cannot be fetched, in words (undefined when it can). */
async function urlProblem(url: string, timeoutMs: number): Promise<string | undefined> {
  const attempt = (method: "HEAD" | "GET") => fetch(url, {
    method,
    redirect: "follow",
    signal: AbortSignal.timeout(timeoutMs),
    headers: method === "GET" ? { Range: "bytes=0-0" } : {},
  });
  try {
    let r = await attempt("HEAD");
    // some servers (S3 presigned URLs, mirrors) refuse HEAD: ask for one byte instead
    if (r.status === 405 || r.status === 403 || r.status === 501) r = await attempt("GET");
    if (r.ok || r.status === 206) return undefined;
    return `answers HTTP ${r.status} ${r.statusText}`.trimEnd();
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    const code = err.cause?.code ?? err.name;
    const host = (() => { try { return new URL(url).hostname; } catch { return url; } })();
    if (code === "ENOTFOUND" || code === "EAI_AGAIN") return `cannot be reached: the name ${host} does not resolve`;
    if (code === "ECONNREFUSED") return `cannot be reached: ${host} refuses the connection`;
    if (code === "TimeoutError" || code === "UND_ERR_CONNECT_TIMEOUT" || code === "ETIMEDOUT") return `cannot be reached: no answer from ${host} within ${timeoutMs / 1000} s`;
    if (/CERT|SSL|TLS/i.test(code) || /certificate|TLS|SSL/i.test(err.cause?.message ?? "")) return `cannot be reached: TLS with ${host} failed (${code}: ${err.cause?.message ?? err.message})`;
    return `cannot be reached: ${code}: ${err.cause?.message ?? err.message}`;
  }
}

/**
 * The WAR and glowroot URLs a stack names, fetched from this machine (a HEAD request, following
 * redirects): a URL that does not resolve, refuses, fails TLS or answers an error is a problem at
 * its key, found in the first seconds of `pulumi up` (and by `npm run render -- --check-urls`),
 * before anything is created. dhis2:checkUrls false skips it (servers that reach a mirror this
 * machine cannot).
 */
export async function artifactUrlProblems(config: DeploymentConfig, timeoutMs = 10_000): Promise<ConfigProblem[]> {
  if (!config.checkUrls) return [];
  const targets: { key: string; url: string; what: string }[] = [];
  config.instances.forEach((inst, i) => targets.push({ key: `dhis2:instances[${i}].war`, url: inst.war, what: `the DHIS2 ${inst.runtime.display} WAR of ${inst.name}` }));
  if (config.monitoring.glowroot) targets.push({ key: "dhis2:monitoring.glowrootArchive", url: config.monitoring.glowrootArchive, what: "the glowroot dist zip" });
  const urls = targets.filter((t) => /^https?:\/\//.test(t.url));
  // each URL once, all at the same time
  const answers = new Map<string, Promise<string | undefined>>();
  for (const t of urls) if (!answers.has(t.url)) answers.set(t.url, urlProblem(t.url, timeoutMs));
  const problems: ConfigProblem[] = [];
  for (const t of urls) {
    const why = await answers.get(t.url)!;
    if (why) problems.push({ key: t.key, value: t.url, message: `${why} (${t.what}, from this machine): set it to a local file or a mirror URL this machine reaches, or set dhis2:checkUrls: false if only the servers reach it` });
  }
  return problems;
}
