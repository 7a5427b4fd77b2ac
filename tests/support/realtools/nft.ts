/** Real-program check harness (see ./index.ts): nft -c. */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import type { RenderedFile } from "../../../lib/render/file";
import { withHostFiles } from "./hostfiles";
import { CheckResult, joinOutput } from "./run";
import { makeTempDir, removeTempDir } from "./temp";

// ---------------------------------------------------------------------------------------------
// nftables
// ---------------------------------------------------------------------------------------------

/**
 * `nft -c -f <file>` in a fresh network namespace: the kernel checks the whole ruleset as on
 * a freshly booted host (nothing is applied, and the host's ruleset neither helps nor hurts).
 * `files` are placed with withHostFiles for `include` statements.
 */
export async function nftCheck(rules: string, opts: { files?: RenderedFile[] } = {}): Promise<CheckResult> {
  const dir = await makeTempDir("nft");
  try {
    const file = path.join(dir, "rules.nft");
    await fsp.writeFile(file, rules, { mode: 0o600 });
    const r = await withHostFiles(opts.files ?? [], ["nft", "-c", "-f", file], { network: "private", timeoutMs: 60_000 });
    return { ok: r.code === 0, output: joinOutput(r.stdout, r.stderr, ...r.notes.map((n) => `[harness] ${n}`)) };
  } finally {
    await removeTempDir(dir);
  }
}
