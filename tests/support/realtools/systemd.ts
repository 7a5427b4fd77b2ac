/** Real-program check harness (see ./index.ts): systemd-analyze verify. */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import type { RenderedFile } from "../../../lib/render/file";
import { withHostFiles } from "./hostfiles";
import { CheckResult, baseEnv, joinOutput } from "./run";
import { makeTempDir, removeTempDir } from "./temp";

// ---------------------------------------------------------------------------------------------
// systemd
// ---------------------------------------------------------------------------------------------

/**
 * `systemd-analyze verify --man=no --recursive-errors=no <tmpdir>/<unitName>` (systemd 252).
 * It works without systemd as PID 1 (offline). Unknown keys/sections, bad values, a missing
 * ExecStart binary all give exit 1. `extraUnits` are put beside it (e.g. the .service of a
 * .timer); `files` are placed with withHostFiles (e.g. the script ExecStart names).
 */
export async function systemdVerify(
  unitName: string,
  unitText: string,
  opts: { extraUnits?: Record<string, string>; files?: RenderedFile[] } = {},
): Promise<CheckResult> {
  const nameRe = /^[A-Za-z0-9:_.@\\-]+\.(service|socket|timer|target|path|mount|automount|swap|slice|scope|device)$/;
  for (const nme of [unitName, ...Object.keys(opts.extraUnits ?? {})]) {
    if (!nameRe.test(nme)) throw new Error(`not a unit name: ${nme}`);
  }
  const dir = await makeTempDir("systemd", 0o755);
  try {
    const file = path.join(dir, unitName);
    await fsp.writeFile(file, unitText, { mode: 0o644 });
    for (const [nme, text] of Object.entries(opts.extraUnits ?? {})) await fsp.writeFile(path.join(dir, nme), text, { mode: 0o644 });
    const r = await withHostFiles(opts.files ?? [], ["systemd-analyze", "verify", "--man=no", "--recursive-errors=no", file], {
      // the offline manager touches /run/systemd/systemd-units-load: keep that private
      hide: ["/run/systemd/systemd-units-load"],
      timeoutMs: 60_000,
      env: baseEnv({ SYSTEMD_LOG_COLOR: "0", SYSTEMD_PAGER: "", SYSTEMD_UNIT_PATH: `${dir}:` }),
    });
    const output = joinOutput(r.stdout, r.stderr, ...r.notes.map((n) => `[harness] ${n}`));
    const ownLines = output.split("\n").filter((l) => l.startsWith(file + ":"));
    return { ok: r.code === 0 && ownLines.length === 0, output };
  } finally {
    await removeTempDir(dir);
  }
}
