/** Real-program check harness (see ./index.ts): sshd -t / sshd -T with rendered drop-ins. */
import type { RenderedFile } from "../../../lib/render/file";
import { withHostFiles } from "./hostfiles";
import { CheckResult, joinOutput } from "./run";

export interface SshdResult extends CheckResult {
  /** `sshd -T`: the effective settings (lower-case keyword → value(s)), for the given connection. */
  effective: Map<string, string>;
}

/**
 * `sshd -T -f /etc/ssh/sshd_config -C user=...,host=...,addr=...` with the rendered files in place
 * (the package's sshd_config includes /etc/ssh/sshd_config.d/*.conf): sshd checks the whole
 * configuration as it would at start (-T implies -t) and prints what is in force. Nothing is
 * started; /run/sshd (privilege separation dir) is private.
 */
export async function sshdEffective(files: readonly RenderedFile[], conn: { user: string; addr?: string } ): Promise<SshdResult> {
  const r = await withHostFiles(files, ["/usr/sbin/sshd", "-T", "-f", "/etc/ssh/sshd_config", "-C", `user=${conn.user},host=client.example.org,addr=${conn.addr ?? "192.0.2.10"}`], {
    privateDirs: ["/run/sshd"],
    timeoutMs: 60_000,
  });
  const effective = new Map<string, string>();
  for (const line of r.stdout.split("\n")) {
    const m = /^(\S+)\s+(.*)$/.exec(line.trim());
    if (m) effective.set(m[1], effective.has(m[1]) ? `${effective.get(m[1])} ${m[2]}` : m[2]);
  }
  return { ok: r.code === 0, output: joinOutput(r.stderr, ...r.notes.map((n) => `[harness] ${n}`)), effective };
}
