/** Real-program check harness (see ./index.ts): Tomcat's configtest. */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import type { RenderedFile } from "../../../lib/render/file";
import { withHostFiles } from "./hostfiles";
import { CheckResult, baseEnv, joinOutput, run } from "./run";
import { gidOf, makeTempDir, removeTempDir, uidOf } from "./temp";

// ---------------------------------------------------------------------------------------------
// Tomcat
// ---------------------------------------------------------------------------------------------

const CATALINA_HOME = "/usr/share/tomcat10";
const TOMCAT_DEFAULT_CONF = "/usr/share/tomcat10/etc";
const JAVA_HOME = "/usr/lib/jvm/java-17-openjdk-amd64";

export interface TomcatConfigtestResult extends CheckResult {
  code: number;
}

/**
 * `catalina.sh configtest` of Tomcat 10 (CATALINA_HOME=/usr/share/tomcat10) on a temporary
 * CATALINA_BASE: conf/ = the package's defaults (/usr/share/tomcat10/etc) with our server.xml,
 * plus logs/, temp/, webapps/, work/. It runs as the `tomcat` user in a fresh network
 * namespace (configtest binds the connectors, so ports never clash with the host or other
 * tests). ok only when the exit code is 0, no line says SEVERE, and no attribute was ignored
 * ("failed to set property": a misspelled attribute would otherwise pass silently).
 */
export async function tomcatConfigtest(
  serverXml: string,
  opts: { files?: RenderedFile[]; allowIgnoredAttributes?: boolean } = {},
): Promise<TomcatConfigtestResult> {
  const uid = await uidOf("tomcat");
  const gid = await gidOf("tomcat");
  const base = await makeTempDir("tomcat", 0o755);
  try {
    const conf = path.join(base, "conf");
    await fsp.mkdir(conf);
    const cp = await run("cp", ["-a", "--", `${TOMCAT_DEFAULT_CONF}/.`, `${conf}/`]);
    if (cp.code !== 0) throw new Error(`copying ${TOMCAT_DEFAULT_CONF} failed: ${cp.stderr}`);
    await fsp.rm(path.join(conf, "server.xml"), { force: true });
    await fsp.writeFile(path.join(conf, "server.xml"), serverXml, { mode: 0o640 });
    for (const d of ["logs", "temp", "webapps", "work"]) await fsp.mkdir(path.join(base, d), { mode: 0o750 });
    const ch = await run("chown", ["-R", `${uid}:${gid}`, "--", base]);
    if (ch.code !== 0) throw new Error(`chown failed: ${ch.stderr}`);
    const r = await withHostFiles(
      opts.files ?? [],
      ["runuser", "-u", "tomcat", "--", `${CATALINA_HOME}/bin/catalina.sh`, "configtest"],
      {
        network: "private",
        timeoutMs: 120_000,
        env: baseEnv({
          HOME: base,
          JAVA_HOME,
          CATALINA_HOME,
          CATALINA_BASE: base,
          CATALINA_TMPDIR: path.join(base, "temp"),
          CATALINA_PID: path.join(base, "temp", "catalina.pid"),
          JAVA_OPTS: "-Djava.awt.headless=true -XX:-UsePerfData -Xms16m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto",
        }),
      },
    );
    const output = joinOutput(r.stdout, r.stderr, ...r.notes.map((n) => `[harness] ${n}`));
    const severe = /\bSEVERE\b/.test(output);
    const ignored = /failed to set property/.test(output);
    return { ok: r.code === 0 && !severe && (opts.allowIgnoredAttributes || !ignored), output, code: r.code };
  } finally {
    await removeTempDir(base);
  }
}
