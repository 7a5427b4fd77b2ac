/** Real-program check harness (see ./index.ts): withHostFiles: rendered files at their absolute paths inside a private mount namespace. */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import type { RenderedFile } from "../../../lib/render/file";
import { RunOptions, RunResult, baseEnv, exists, isDir, run } from "./run";
import { lookupId, makeTempDir, removeTempDir } from "./temp";

// ---------------------------------------------------------------------------------------------
// withHostFiles: rendered files at their absolute paths inside a private mount namespace
// ---------------------------------------------------------------------------------------------

/**
 * The only shell script of this module. Fixed text; everything comes in as positional
 * arguments: mount operations, then `--`, then the command. It never deletes anything.
 *   stage SRC DST   mount --rbind SRC DST   (host subdir/special file into a private copy)
 *   mount SRC DST   mount --rbind SRC DST   (private copy over the real path; in depth order)
 *   lo              ip link set lo up        (with a private network namespace)
 *   syslog DIR      private /dev (tmpfs + binds of the usual nodes) with /dev/log served by
 *                   `nc.openbsd -lkuU`, its datagrams appended to DIR/syslog
 */
const NS_SCRIPT = `set -eu
syslog_dir=
while [ "$#" -gt 0 ]; do
  op=$1; shift
  case "$op" in
    --) break ;;
    stage|mount) mount --rbind "$1" "$2"; shift 2 ;;
    lo) ip link set lo up ;;
    syslog)
      syslog_dir=$1; shift
      mkdir "$syslog_dir/dev"
      mount --rbind /dev "$syslog_dir/dev"
      mount -t tmpfs -o mode=0755,size=1m realtools-dev /dev
      for n in null zero full random urandom tty; do
        if [ -e "$syslog_dir/dev/$n" ]; then : > "/dev/$n"; mount --bind "$syslog_dir/dev/$n" "/dev/$n"; fi
      done
      mkdir /dev/pts /dev/shm
      mount --rbind "$syslog_dir/dev/pts" /dev/pts
      mount --rbind "$syslog_dir/dev/shm" /dev/shm
      ln -s /proc/self/fd /dev/fd; ln -s /proc/self/fd/0 /dev/stdin
      ln -s /proc/self/fd/1 /dev/stdout; ln -s /proc/self/fd/2 /dev/stderr
      nc.openbsd -lkuU /dev/log </dev/null >>"$syslog_dir/syslog" 2>&1 &
      nc_pid=$!
      i=0
      while [ ! -S /dev/log ] && [ $i -lt 100 ]; do sleep 0.02; i=$((i+1)); done
      ;;
    *) echo "realtools namespace script: unknown op $op" >&2; exit 125 ;;
  esac
done
if [ -z "$syslog_dir" ]; then exec "$@"; fi
set +e
"$@"
rc=$?
sleep 0.2
kill "$nc_pid" 2>/dev/null
wait "$nc_pid" 2>/dev/null
exit $rc
`;

export interface HostFilesOptions extends RunOptions {
  /**
   * Directories that must be private in the namespace even without rendered files in them,
   * so that whatever the command writes there (logs, caches, pid files, queue dirs) never
   * reaches the host. An existing one is copied whole (keep them small); a missing one
   * appears empty.
   */
  privateDirs?: string[];
  /**
   * Host paths that must be absent inside the namespace (e.g. /etc/nginx/sites-enabled/default).
   * Their directory becomes a private (shallow) copy even when the path does not exist, so a
   * file the command creates there (e.g. nginx -t creating /run/nginx.pid) stays private too.
   */
  hide?: string[];
  /** "private": also a fresh network namespace with only `lo` (up). Default: the host's network. */
  network?: "host" | "private";
  /** Give the command a /dev/log whose messages are returned as `syslog`. */
  syslog?: boolean;
}

export interface HostFilesResult extends RunResult {
  /** Syslog datagrams the command sent to /dev/log (only with `syslog: true`). */
  syslog?: string;
  /** Remarks of the harness itself, e.g. an owner that does not exist here and became root. */
  notes: string[];
}

interface Unit {
  /** Real (symlink-free) path on the host. */
  dir: string;
  /** Private copy. */
  tmp: string;
  deep: boolean;
}

export interface PreparedNamespace {
  /** argv prefix: `unshare ... sh -c NS_SCRIPT ... --`; append the command. */
  argv: string[];
  notes: string[];
  /** Host-side location of a path inside one of the private copies (for reading logs). */
  hostPathOf(p: string): string | undefined;
  syslogFile?: string;
  cleanup(): Promise<void>;
}

async function deepestExisting(p: string): Promise<string> {
  let cur = p;
  while (!(await isDir(cur))) {
    if (await exists(cur)) throw new Error(`${cur} exists on this host and is not a directory (needed for ${p})`);
    const up = path.posix.dirname(cur);
    if (up === cur) break;
    cur = up;
  }
  return cur;
}

function depth(p: string): number {
  return p === "/" ? 0 : p.split("/").length - 1;
}

function checkAbsolute(p: string, what: string): string {
  if (!path.posix.isAbsolute(p)) throw new Error(`${what} must be an absolute path: ${p}`);
  const n = path.posix.normalize(p);
  if (n !== p.replace(/\/+$/, "") && n !== p) throw new Error(`${what} must be a normalized path: ${p}`);
  for (const bad of ["/proc", "/sys", "/dev"]) {
    if (n === bad || n.startsWith(bad + "/")) throw new Error(`${what} under ${bad} is not supported: ${p}`);
  }
  return n;
}

/**
 * Prepares private copies of the directories that must hold `files` (and of `privateDirs`,
 * minus `hide`) and returns the argv prefix that mounts them over the real paths inside a
 * new private mount namespace. Nothing on the host changes except the temp dir, which
 * `cleanup()` removes. Use `withHostFiles` unless a daemon must outlive the call.
 */
export async function prepareHostFiles(files: readonly RenderedFile[], opts: HostFilesOptions = {}): Promise<PreparedNamespace> {
  const notes: string[] = [];
  const base = await makeTempDir("ns", 0o711);
  let ok = false;
  try {
    // 1. Which directories become private copies.
    const units = new Map<string, Unit>();
    let n = 0;
    const unitFor = async (existingDir: string, deep: boolean): Promise<Unit> => {
      const real = await fsp.realpath(existingDir);
      if (real === "/") throw new Error(`refusing to replace / (a rendered file or private dir directly under /?)`);
      let u = units.get(real);
      if (!u) {
        u = { dir: real, tmp: path.join(base, `u${n++}`), deep };
        units.set(real, u);
      } else if (deep) u.deep = true;
      return u;
    };
    /** For a wanted path, the unit that holds it and the path relative to that unit. */
    const place = async (p: string): Promise<{ unit: Unit; rel: string }> => {
      const parent = path.posix.dirname(p);
      const existing = await deepestExisting(parent);
      const unit = await unitFor(existing, false);
      return { unit, rel: path.posix.relative(existing, p) };
    };

    const seen = new Set<string>();
    const placedFiles: Array<{ f: RenderedFile; unit: Unit; rel: string }> = [];
    for (const f of files) {
      const p = checkAbsolute(f.path, "rendered file path");
      if (seen.has(p)) throw new Error(`two rendered files for ${p}`);
      seen.add(p);
      if (await isDir(p)) throw new Error(`${p} is a directory on this host; cannot place a rendered file there`);
      placedFiles.push({ f, ...(await place(p)) });
    }
    const madeDirs: Array<{ unit: Unit; rel: string }> = [];
    for (const d of opts.privateDirs ?? []) {
      const p = checkAbsolute(d, "private dir");
      if (await isDir(p)) await unitFor(p, true);
      else madeDirs.push(await place(p));
    }
    const hidden: Array<{ unit: Unit; name: string }> = [];
    for (const h of opts.hide ?? []) {
      const p = checkAbsolute(h, "hidden path");
      const parent = path.posix.dirname(p);
      if (!(await isDir(parent))) continue; // nothing to hide, and nothing can be created there
      hidden.push({ unit: await unitFor(parent, false), name: path.posix.basename(p) });
    }
    const hiddenIn = (u: Unit) => new Set(hidden.filter((h) => h.unit === u).map((h) => h.name));

    // 2. Fill the private copies.
    const stageOps: string[] = [];
    const sorted = [...units.values()].sort((a, b) => depth(a.dir) - depth(b.dir) || a.dir.localeCompare(b.dir));
    for (const u of sorted) {
      const st = await fsp.stat(u.dir);
      await fsp.mkdir(u.tmp);
      await fsp.chown(u.tmp, st.uid, st.gid);
      await fsp.chmod(u.tmp, st.mode & 0o7777);
      const hide = hiddenIn(u);
      if (u.deep) {
        const r = await run("cp", ["-a", "--", `${u.dir}/.`, `${u.tmp}/`]);
        if (r.code !== 0) throw new Error(`copying ${u.dir} failed: ${r.stderr}`);
        for (const name of hide) await fsp.rm(path.join(u.tmp, name), { recursive: true, force: true });
        continue;
      }
      // Shallow: regular files and symlinks are copied; subdirectories and special files are
      // bound from the host into the copy (staged before anything is mounted over real paths).
      const entries = await fsp.readdir(u.dir, { withFileTypes: true });
      const toCopy: string[] = [];
      for (const e of entries) {
        if (hide.has(e.name)) continue;
        const src = path.join(u.dir, e.name);
        const dst = path.join(u.tmp, e.name);
        if (e.isDirectory()) {
          const s = await fsp.lstat(src);
          await fsp.mkdir(dst);
          await fsp.chown(dst, s.uid, s.gid);
          await fsp.chmod(dst, s.mode & 0o7777);
          stageOps.push("stage", src, dst);
        } else if (e.isFile() || e.isSymbolicLink()) {
          toCopy.push(src);
        } else {
          await fsp.writeFile(dst, "");
          stageOps.push("stage", src, dst);
        }
      }
      for (let i = 0; i < toCopy.length; i += 200) {
        const r = await run("cp", ["-a", "--", ...toCopy.slice(i, i + 200), `${u.tmp}/`]);
        if (r.code !== 0) throw new Error(`copying files of ${u.dir} failed: ${r.stderr}`);
      }
    }

    const mkdirsIn = async (u: Unit, relDir: string) => {
      if (relDir === "" || relDir === ".") return;
      let cur = u.tmp;
      for (const part of relDir.split("/")) {
        cur = path.join(cur, part);
        const s = await fsp.lstat(cur).catch(() => null);
        if (!s) {
          await fsp.mkdir(cur, { mode: 0o755 });
          await fsp.chmod(cur, 0o755);
        } else if (!s.isDirectory()) throw new Error(`cannot create directory ${cur}: something else is there`);
      }
    };
    for (const d of madeDirs) await mkdirsIn(d.unit, d.rel);
    for (const { f, unit, rel } of placedFiles) {
      await mkdirsIn(unit, path.posix.dirname(rel));
      const dst = path.join(unit.tmp, rel);
      const s = await fsp.lstat(dst).catch(() => null);
      if (s?.isDirectory()) throw new Error(`${f.path}: a directory of that name exists on this host`);
      if (s) await fsp.unlink(dst); // never write through a copied symlink into the host
      if (!/^0?[0-7]{3,4}$/.test(f.mode)) throw new Error(`${f.path}: bad mode ${f.mode}`);
      const mode = parseInt(f.mode, 8);
      await fsp.writeFile(dst, f.content, { mode: 0o600, flag: "wx" });
      let uid = await lookupId("passwd", f.owner);
      let gid = await lookupId("group", f.group);
      if (uid === null) {
        notes.push(`${f.path}: owner ${f.owner} does not exist on this machine; using root`);
        uid = 0;
      }
      if (gid === null) {
        notes.push(`${f.path}: group ${f.group} does not exist on this machine; using root`);
        gid = 0;
      }
      await fsp.chown(dst, uid, gid);
      await fsp.chmod(dst, mode);
    }

    // 3. argv.
    const ops: string[] = [...stageOps];
    for (const u of sorted) ops.push("mount", u.tmp, u.dir);
    if (opts.network === "private") ops.push("lo");
    let syslogFile: string | undefined;
    if (opts.syslog) {
      const sdir = path.join(base, "syslog");
      await fsp.mkdir(sdir, { mode: 0o700 });
      syslogFile = path.join(sdir, "syslog");
      await fsp.writeFile(syslogFile, "", { mode: 0o600 });
      ops.push("syslog", sdir);
    }
    const argv = [
      "unshare",
      "--mount",
      "--propagation",
      "private",
      ...(opts.network === "private" ? ["--net"] : []),
      "--",
      "/bin/sh",
      "-c",
      NS_SCRIPT,
      "realtools-ns",
      ...ops,
      "--",
    ];
    const hostPathOf = (p: string): string | undefined => {
      let best: Unit | undefined;
      for (const u of units.values()) {
        if ((p === u.dir || p.startsWith(u.dir + "/")) && (!best || u.dir.length > best.dir.length)) best = u;
      }
      return best ? path.join(best.tmp, path.posix.relative(best.dir, p)) : undefined;
    };
    ok = true;
    return { argv, notes, hostPathOf, syslogFile, cleanup: () => removeTempDir(base) };
  } finally {
    if (!ok) await removeTempDir(base).catch(() => undefined);
  }
}

/**
 * Runs `argv` in a private mount namespace (`unshare --mount --propagation private`) in which
 * the rendered `files` appear at their absolute paths (with their mode, owner and group), on
 * top of a copy of whatever the host has in those directories. The host is not changed.
 *
 * For each directory that must hold files, the nearest existing directory (itself, or e.g.
 * /etc for a missing /etc/letsencrypt/live/x) is shallow-copied into a temp dir: regular files
 * and symlinks are copied, subdirectories are bound from the host, then the rendered files
 * are written over it and the copy is bind-mounted over the real path. So /etc/nginx keeps
 * the package's mime.types, and missing directories exist only inside the namespace.
 */
export async function withHostFiles(
  files: readonly RenderedFile[],
  argv: readonly string[],
  opts: HostFilesOptions = {},
): Promise<HostFilesResult> {
  if (argv.length === 0) throw new Error("withHostFiles: empty argv");
  const ns = await prepareHostFiles(files, opts);
  try {
    const [cmd, ...rest] = [...ns.argv, ...argv];
    const r = await run(cmd, rest, { env: opts.env ?? baseEnv(), cwd: opts.cwd, input: opts.input, timeoutMs: opts.timeoutMs ?? 120_000 });
    const syslog = ns.syslogFile ? await fsp.readFile(ns.syslogFile, "utf8").catch(() => "") : undefined;
    return { ...r, ...(syslog !== undefined ? { syslog: formatSyslog(syslog) } : {}), notes: ns.notes };
  } finally {
    await ns.cleanup();
  }
}

/** `<22>Nov 22 04:00:21 postfix/smtp[13368]: fatal: ...` datagrams, one per line. */
function formatSyslog(raw: string): string {
  return raw
    .split(/(?=<\d{1,3}>)/)
    .map((l) => l.replace(/^<\d{1,3}>/, "").replace(/\s+$/, ""))
    .filter((l) => l !== "")
    .join("\n");
}
