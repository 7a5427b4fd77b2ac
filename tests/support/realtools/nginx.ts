/** Real-program check harness (see ./index.ts): nginx -t. */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import type { RenderedFile } from "../../../lib/render/file";
import { withHostFiles } from "./hostfiles";
import { CheckResult, joinOutput } from "./run";

// ---------------------------------------------------------------------------------------------
// nginx
// ---------------------------------------------------------------------------------------------


export interface NginxTestResult extends CheckResult {
  /** `[warn]` lines of nginx -t (e.g. ssl_stapling ignored with a self-signed test cert). */
  warnings: string[];
}

/**
 * `nginx -t -c /etc/nginx/nginx.conf` with the rendered files in place (withHostFiles).
 * /var/log/nginx, /var/lib/nginx and /var/cache/nginx are private, so the log files and cache
 * paths that nginx -t creates do not reach the host. `hide` removes host files, e.g. the
 * package's /etc/nginx/sites-enabled/default when the deploy removes it too.
 */
export async function nginxTest(
  files: readonly RenderedFile[],
  opts: { hide?: string[]; privateDirs?: string[] } = {},
): Promise<NginxTestResult> {
  // nginx -t creates (empty) the pid file: keep it private, wherever our config puts it.
  const mainConf = files.find((f) => f.path === "/etc/nginx/nginx.conf")?.content ?? (await fsp.readFile("/etc/nginx/nginx.conf", "utf8").catch(() => ""));
  const pidFiles = ["/run/nginx.pid"];
  for (const m of mainConf.matchAll(/^\s*pid\s+(\/[^;\s]+)\s*;/gm)) pidFiles.push(path.posix.normalize(m[1]));
  const r = await withHostFiles(files, ["nginx", "-t", "-c", "/etc/nginx/nginx.conf"], {
    privateDirs: ["/var/log/nginx", "/var/lib/nginx", "/var/cache/nginx", ...(opts.privateDirs ?? [])],
    hide: [...new Set([...pidFiles, ...(opts.hide ?? [])])],
    timeoutMs: 60_000,
  });
  const output = joinOutput(r.stdout, r.stderr, ...r.notes.map((n) => `[harness] ${n}`));
  const warnings = output.split("\n").filter((l) => /\[warn\]/.test(l));
  return { ok: r.code === 0 && /test is successful/.test(output), output, warnings };
}
