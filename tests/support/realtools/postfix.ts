/** Real-program check harness (see ./index.ts): postfix check and daemons. */
import * as path from "node:path";
import type { RenderedFile } from "../../../lib/render/file";
import { HostFilesOptions, HostFilesResult, withHostFiles } from "./hostfiles";
import { CheckResult, exists, joinOutput } from "./run";

// ---------------------------------------------------------------------------------------------
// postfix
// ---------------------------------------------------------------------------------------------

const POSTFIX_DAEMON_DIR = "/usr/lib/postfix/sbin";

/**
 * Fixed bash program: `postfix check`, then every daemon given (groups of argv ending in
 * `;;`) in stand-alone mode with stdin /dev/null, all at once, each killed after $1 seconds.
 * Daemon stdout is protocol noise and is dropped; they log through syslog.
 */
const POSTFIX_CHECK_AND_DAEMONS_SH = `set -u
t=$1; shift
postfix check
rc=$?
[ "$rc" -eq 0 ] || echo "postfix check: exit $rc" >&2
pids=()
while [ "$#" -gt 0 ]; do
  args=()
  while [ "$1" != ";;" ]; do args+=("$1"); shift; done
  shift
  timeout -s KILL "$t" "\${args[@]}" </dev/null >/dev/null 2>&1 &
  pids+=("$!")
done
for p in "\${pids[@]}"; do wait "$p"; done
exit $rc
`;

/** Parsed `postconf -M` entry. */
interface MasterEntry {
  name: string;
  type: string;
  command: string;
  args: string[];
}

function parseMasterEntries(postconfM: string): MasterEntry[] {
  const out: MasterEntry[] = [];
  for (const line of postconfM.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || line.trim().startsWith("#")) continue;
    const [name, type, , , , , , command, ...args] = f;
    out.push({ name, type, command, args });
  }
  return out;
}

export interface PostfixCheckResult extends CheckResult {
  /** Lines with `warning:`, `fatal:`, `error:` or `panic:` that count as failures. */
  problems: string[];
}

/**
 * Validates /etc/postfix/main.cf and master.cf (plus any other rendered files, e.g. maps)
 * with the real postfix, inside withHostFiles (/var/spool/postfix and /var/lib/postfix are
 * private, /dev/log is captured):
 *   1. `postconf -n`      unknown / misspelled parameter names ("unused parameter") are
 *                         warnings → failure; some values are fatal here (inet_protocols ...)
 *   2. `postconf -M`      master.cf syntax
 *   3. `postfix check`    global parameters (mail_owner, myhostname, ...), missing files,
 *                         ownership/permission warnings
 *   4. each enabled master.cf daemon once in stand-alone mode (`<daemon> -S -n NAME -t TYPE
 *      <master.cf args>`, stdin /dev/null, killed after a few seconds): a daemon parses all
 *      its parameters at start, so a bad value (e.g. `smtp_tls_security_level = encrpyt`,
 *      `smtp_sasl_auth_enable = yess`) is a `fatal:` line in syslog.
 * Every warning/fatal/error/panic line counts as a failure except the ones that only come
 * from there being no running master (tlsmgr/anvil/... sockets) — see POSTFIX_ENV_NOISE.
 */
export async function postfixCheck(
  files: readonly RenderedFile[],
  opts: { ignore?: RegExp[]; daemonSeconds?: number } = {},
): Promise<PostfixCheckResult> {
  const paths = new Set(files.map((f) => f.path));
  for (const need of ["/etc/postfix/main.cf", "/etc/postfix/master.cf"]) {
    if (!paths.has(need) && !(await exists(need))) {
      return { ok: false, output: `${need} is neither rendered nor on this host`, problems: [`${need} missing`] };
    }
  }
  const nsOpts: HostFilesOptions = {
    privateDirs: ["/var/spool/postfix", "/var/lib/postfix"],
    syslog: true,
    timeoutMs: 60_000,
  };
  const sections: string[] = [];
  const problems: string[] = [];
  const ignore = [...POSTFIX_ENV_NOISE, ...(opts.ignore ?? [])];
  const collect = (label: string, r: HostFilesResult, strict: boolean) => {
    const text = joinOutput(r.stdout, r.stderr, r.syslog ? `syslog:\n${r.syslog}` : "");
    sections.push(`$ ${label} (exit ${r.code})${text ? "\n" + text : ""}`);
    for (const n of r.notes) sections.push(`[harness] ${n}`);
    // diagnostics only: stdout of postconf is the configuration itself, whose values may contain
    // such words (e.g. local_transport = error:...)
    const diagnostics = joinOutput(r.stderr, r.syslog ?? "");
    for (const line of diagnostics.split("\n")) {
      if (/\b(warning|fatal|error|panic):/.test(line) && !ignore.some((re) => re.test(line))) problems.push(line.trim());
    }
    if (strict && r.code !== 0) problems.push(`${label}: exit ${r.code}`);
  };

  const n = await withHostFiles(files, ["postconf", "-n"], nsOpts);
  collect("postconf -n", n, true);
  const m = await withHostFiles(files, ["postconf", "-M"], nsOpts);
  collect("postconf -M", m, true);

  // postfix check, then the daemons, in one namespace (check creates the missing queue dirs).
  const daemonArgs: string[] = [];
  const started: string[] = [];
  if (m.code === 0 && n.code === 0) {
    const usesVirtual = /^virtual_mailbox_(domains|maps)\s*=\s*\S/m.test(n.stdout);
    const seen = new Set<string>();
    for (const e of parseMasterEntries(m.stdout)) {
      if (!/^[a-z][a-z0-9-]*$/.test(e.command)) continue;
      // postlogd has no stand-alone mode; pipe only parses its argv at delivery time;
      // virtual is only ever spawned when virtual mailbox domains are configured.
      if (e.command === "postlogd" || e.command === "pipe") continue;
      if (e.command === "virtual" && !usesVirtual) continue;
      const key = `${e.command}\0${e.type}\0${e.args.join("\0")}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const bin = path.join(POSTFIX_DAEMON_DIR, e.command);
      if (!(await exists(bin))) {
        problems.push(`master.cf service ${e.name}/${e.type}: no such daemon ${bin}`);
        continue;
      }
      daemonArgs.push(bin, "-S", "-n", e.name, "-t", e.type, ...e.args, ";;");
      started.push(`${e.command} -S -n ${e.name} -t ${e.type}${e.args.length ? " " + e.args.join(" ") : ""}`);
    }
  }
  const seconds = String(opts.daemonSeconds ?? 3);
  const c = await withHostFiles(files, ["bash", "-c", POSTFIX_CHECK_AND_DAEMONS_SH, "realtools-postfix", seconds, ...daemonArgs], nsOpts);
  sections.push(`(daemons run once in stand-alone mode, killed after ${seconds}s: ${started.join("; ") || "none"})`);
  collect("postfix check + daemons", c, true);

  const unique = [...new Set(problems)];
  return { ok: unique.length === 0, output: sections.join("\n") + (unique.length ? `\nPROBLEMS:\n${unique.join("\n")}` : ""), problems: unique };
}

/**
 * Lines that only come from running Postfix pieces without a master process / on a test box.
 */
const POSTFIX_ENV_NOISE: RegExp[] = [
  /connect to (private|public)\/\S+: (No such file or directory|Connection refused)/,
  /problem talking to server (private|public)\/\S+/,
  /no entropy for TLS key generation/,
  // artefacts of running a daemon stand-alone (-S) with stdin /dev/null
  /panic: vstream_fflush_some: read-only stream/,
  /fatal: read: Application error/,
  /warning: malformed request/,
  /warning: cannot examine read buffer of unknown_stream/,
  /warning: connect #\d+ to subsystem \S+\/(private|public)\/\S+: No such file or directory/,
  /warning: dict_nis_init: NIS domain name not set/,
  /warning: \S+: unable to look up public\/pickup: No such file or directory/,
  /open database \S+\.(db|lmdb|cdb): No such file or directory/, // maps are built by postmap at deploy time
  /warning: database \S+ is older than source file/,
];
