/** Real-program check harness (see ./index.ts): the rendered proxy served by a real nginx, judged by testssl.sh. */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import type { RenderedFile } from "../../../lib/render/file";
import { parseTestsslJson, type TestsslFinding } from "../tls-verdict";
import { withHostFiles } from "./hostfiles";
import { joinOutput } from "./run";
import { makeTempDir, removeTempDir } from "./temp";

// ---------------------------------------------------------------------------------------------
// testssl.sh against a real nginx
// ---------------------------------------------------------------------------------------------

/**
 * Fixed text, run inside the private mount and network namespace. $1: the nginx config,
 * the rest: the judge's command. nginx runs in the foreground (same process group, so a
 * timeout of the harness kills it too) and is stopped when the judge is done.
 */
const SERVE_AND_JUDGE = `set -u
conf=$1; shift
nginx -c "$conf" -g 'daemon off;' &
nginx_pid=$!
trap 'kill "$nginx_pid" 2>/dev/null; wait "$nginx_pid" 2>/dev/null' EXIT
i=0
until nc.openbsd -z 127.0.0.1 443 2>/dev/null; do
  i=$((i+1))
  if [ $i -gt 200 ] || ! kill -0 "$nginx_pid" 2>/dev/null; then echo "nginx did not listen on 127.0.0.1:443" >&2; exit 125; fi
  sleep 0.05
done
"$@"
`;

/** Everything but client simulation: protocols, cipher categories, forward secrecy, server order and defaults, headers, vulnerabilities. */
export const TESTSSL_CHECKS = ["--protocols", "--standard", "--fs", "--server-preference", "--server-defaults", "--headers", "--vulnerable"];

export interface TestsslRun {
  /** testssl.sh's exit code (it counts findings; not a verdict by itself). */
  code: number;
  findings: TestsslFinding[];
  /** What testssl.sh and nginx printed. */
  output: string;
}

/**
 * Serves `files` (the rendered /etc/nginx files plus certificates) with a real nginx on
 * 127.0.0.1 in a fresh network namespace (so port 443 never collides with anything on this
 * machine) and runs `testssl` (`checks`, by default TESTSSL_CHECKS) against https://HOSTNAME/ with
 * HOSTNAME resolved to 127.0.0.1 and `caPem` trusted. The findings come from its JSON output.
 */
export async function testsslAgainstNginx(
  files: readonly RenderedFile[],
  opts: { hostname: string; caPem: string; checks?: string[] },
): Promise<TestsslRun> {
  const dir = await makeTempDir("testssl", 0o755);
  try {
    const ca = path.join(dir, "ca.pem");
    const json = path.join(dir, "findings.json");
    await fsp.writeFile(ca, opts.caPem, { mode: 0o644 });
    const hosts: RenderedFile = { path: "/etc/hosts", content: `127.0.0.1 localhost ${opts.hostname}\n::1 localhost ip6-localhost\n`, mode: "0644", owner: "root", group: "root" };
    const judge = ["testssl", "--quiet", "--color", "0", "--warnings", "off", "--nodns", "min", "--ip", "127.0.0.1",
      "--add-ca", ca, "--jsonfile", json, ...(opts.checks ?? TESTSSL_CHECKS), `https://${opts.hostname}/`];
    const r = await withHostFiles([...files, hosts], ["sh", "-c", SERVE_AND_JUDGE, "serve-and-judge", "/etc/nginx/nginx.conf", ...judge], {
      network: "private",
      privateDirs: ["/var/log/nginx", "/var/lib/nginx", "/var/cache/nginx"],
      hide: ["/run/nginx.pid"],
      timeoutMs: 600_000,
    });
    const output = joinOutput(r.stdout, r.stderr, ...r.notes.map((n) => `[harness] ${n}`));
    const text = await fsp.readFile(json, "utf8").catch(() => "");
    if (r.code === 125 || text === "") throw new Error(`testssl.sh did not run (exit ${r.code}):\n${output}`);
    return { code: r.code, findings: parseTestsslJson(text), output };
  } finally {
    await removeTempDir(dir);
  }
}
