/**
 * Local files a stack names (a WAR, the glowroot archive, a provided certificate) must exist and
 * be readable on the machine running pulumi: checked before any resource is touched, with the key
 * that names the file.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import type { ConfigProblem, DeploymentConfig } from "./model";

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

export function artifactProblems(config: DeploymentConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  config.instances.forEach((inst, i) => check(`dhis2:instances[${i}].war`, inst.war, `the DHIS2 ${inst.runtime.display} WAR of ${inst.name}`, problems));
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
