/**
 * Real-program check harness (see ./index.ts): sysctl commands as they run in a container.
 *
 * A container (an LXD or LXC guest, the e2e "existing servers") shares its host's kernel: its
 * root may set the keys of its own network namespace and gets "permission denied" for kernel-wide
 * keys. A user namespace (root mapped to the caller) with its own network and mount namespaces is
 * exactly that, and nothing set in it reaches this machine: the rendered /etc/sysctl.d files are
 * bound over the real directory only inside the private mount namespace.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import type { RenderedFile } from "../../../lib/render/file";
import { joinOutput, run } from "./run";
import { makeTempDir, removeTempDir } from "./temp";

/** Fixed text; $1 is the directory to bind over /etc/sysctl.d, the rest are the commands, each run by bash -euo pipefail. */
const SCRIPT = `set -eu
mount --bind "$1" /etc/sysctl.d
shift
for c in "$@"; do bash -euo pipefail -c "$c"; done
`;

export async function inContainerLikeNamespace(files: readonly RenderedFile[], commands: readonly string[]): Promise<{ code: number; output: string }> {
  const dir = await makeTempDir("sysctl");
  try {
    for (const f of files) {
      if (path.posix.dirname(f.path) !== "/etc/sysctl.d") throw new Error(`${f.path} is not in /etc/sysctl.d`);
      await fsp.writeFile(path.join(dir, path.posix.basename(f.path)), f.content, { mode: 0o644 });
    }
    const r = await run("unshare", ["--user", "--map-root-user", "--net", "--mount", "--propagation", "private", "sh", "-c", SCRIPT, "sysctl-check", dir, ...commands], { timeoutMs: 60_000 });
    return { code: r.code, output: joinOutput(r.stdout, r.stderr) };
  } finally {
    await removeTempDir(dir);
  }
}
