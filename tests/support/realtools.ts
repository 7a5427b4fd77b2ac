/**
 * Harness that checks rendered configuration files with the REAL programs
 * (nginx, PostgreSQL 15, Tomcat 10, cloud-init, nft, postfix, munin-node, systemd-analyze).
 *
 * The programs are installed by `tools/install-check-tools.sh`; the helpers need root
 * (mount namespaces, network namespaces, runuser).
 *
 * Rules kept throughout:
 *  - every program is started with spawn and an argument array, never through a shell string
 *    built from content; the only scripts are fixed texts (NS_SCRIPT, the postfix daemon
 *    runner, the cloud-init key check) that get everything as positional arguments;
 *  - no secret is ever put in argv: passwords go through the environment (PGPASSWORD), keys
 *    and rendered files through files with their own mode (0600 where secret);
 *  - the host filesystem is not changed: rendered files appear only inside a private mount
 *    namespace, and every temp dir is removed afterwards (from the host namespace, where no
 *    bind mount of the private namespace is visible, so a recursive delete can never reach
 *    through a bind into a host directory).
 */
import { spawn } from "node:child_process";
import { promises as fsp } from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

import type { RenderedFile } from "../../lib/files";

export type { RenderedFile };

// ---------------------------------------------------------------------------------------------
// process running
// ---------------------------------------------------------------------------------------------

export interface RunResult {
  /** Exit code; 128+signal when killed by a signal; 124 on timeout (like timeout(1)). */
  code: number;
  stdout: string;
  stderr: string;
  timedOut?: boolean;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to stdin, then stdin is closed. Without it stdin is /dev/null. */
  input?: string;
  timeoutMs?: number;
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15, SIGABRT: 6, SIGSEGV: 11, SIGPIPE: 13 };

/** Base environment for child processes: no inherited PG* or locale surprises. */
function baseEnv(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    LANG: "C.UTF-8",
    LC_ALL: "C.UTF-8",
    HOME: "/root",
    TERM: "dumb",
  };
  return { ...env, ...(extra ?? {}) };
}

/**
 * Runs a program (argument array, no shell) in its own process group; on timeout the whole
 * group is killed. Never rejects for a non-zero exit: the caller looks at `code`.
 */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: opts.env ?? baseEnv(),
      cwd: opts.cwd,
      stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      detached: true,
    });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    if (opts.input !== undefined) {
      child.stdin!.on("error", () => undefined);
      child.stdin!.end(opts.input);
    }
    if (opts.timeoutMs) {
      timer = setTimeout(() => {
        timedOut = true;
        killGroup(child.pid, "SIGKILL");
      }, opts.timeoutMs);
    }
    child.on("error", (err) => {
      if (timer) clearTimeout(timer);
      reject(new Error(`cannot run ${cmd}: ${err.message}`));
    });
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      const c = timedOut ? 124 : code ?? (signal ? 128 + (SIGNALS[signal] ?? 0) : 1);
      resolve({ code: c, stdout, stderr, ...(timedOut ? { timedOut } : {}) });
    });
  });
}

/** Signal a process group (falling back to the process); silent when it is gone. */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** stdout and stderr together, for printing in a failing test. */
function joinOutput(...parts: Array<string | undefined>): string {
  return parts
    .filter((p): p is string => !!p && p.trim() !== "")
    .map((p) => p.replace(/\s+$/, ""))
    .join("\n");
}

async function exists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch {
    return false;
  }
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await fsp.stat(p)).isDirectory();
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// users, temp dirs
// ---------------------------------------------------------------------------------------------

const idCache = new Map<string, number | null>();

async function lookupId(db: "passwd" | "group", name: string): Promise<number | null> {
  const key = `${db}:${name}`;
  if (idCache.has(key)) return idCache.get(key)!;
  let id: number | null = null;
  if (/^\d+$/.test(name)) id = Number(name);
  else {
    const r = await run("getent", [db, name]);
    if (r.code === 0) {
      const f = r.stdout.trim().split("\n")[0].split(":");
      id = Number(f[2]);
    }
  }
  idCache.set(key, id);
  return id;
}

async function uidOf(user: string): Promise<number> {
  const id = await lookupId("passwd", user);
  if (id === null) throw new Error(`no such user on this machine: ${user}`);
  return id;
}

async function gidOf(group: string): Promise<number> {
  const id = await lookupId("group", group);
  if (id === null) throw new Error(`no such group on this machine: ${group}`);
  return id;
}

const liveTempDirs = new Set<string>();

/** Temp dirs this process created and has not removed yet (a test can assert it is empty). */
export function pendingTempDirs(): string[] {
  return [...liveTempDirs].sort();
}

/** A fresh temp dir (mode 0700 unless told), created under os.tmpdir(). */
async function makeTempDir(prefix: string, mode = 0o700): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), `realtools-${prefix}-`));
  liveTempDirs.add(dir);
  await fsp.chmod(dir, mode);
  return dir;
}

/**
 * Removes a temp dir recursively, but only after checking that nothing is mounted under it
 * in THIS (the host's) mount namespace. Bind mounts made inside a private namespace are not
 * visible here, so the recursive delete cannot reach through them into host directories.
 */
async function removeTempDir(dir: string): Promise<void> {
  const mountinfo = await fsp.readFile("/proc/self/mountinfo", "utf8");
  const prefix = dir.endsWith("/") ? dir : dir + "/";
  for (const line of mountinfo.split("\n")) {
    const mp = line.split(" ")[4];
    if (mp && (mp === dir || mp.startsWith(prefix))) {
      throw new Error(`refusing to delete ${dir}: ${mp} is mounted under it in the host namespace`);
    }
  }
  await fsp.rm(dir, { recursive: true, force: true });
  liveTempDirs.delete(dir);
}

/** A free TCP port on 127.0.0.1 (there is a small race until the caller binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

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

// ---------------------------------------------------------------------------------------------
// certificates
// ---------------------------------------------------------------------------------------------

export interface TestCertificate {
  certPem: string;
  keyPem: string;
}

/**
 * A self-signed certificate (EC P-256, 3 days, one SAN per name; IP addresses as IP SANs)
 * made with `openssl req -x509`. For tests only.
 */
export async function makeTestCertificate(hostnames: string[]): Promise<TestCertificate> {
  if (hostnames.length === 0) throw new Error("makeTestCertificate: no hostnames");
  const sans = hostnames.map((h) => {
    if (net.isIP(h)) return `IP:${h}`;
    if (!/^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(h)) {
      throw new Error(`makeTestCertificate: not a hostname: ${JSON.stringify(h)}`);
    }
    return `DNS:${h}`;
  });
  const dir = await makeTempDir("cert");
  try {
    const key = path.join(dir, "key.pem");
    const crt = path.join(dir, "cert.pem");
    const r = await run("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-keyout", key, "-out", crt, "-days", "3",
      "-subj", `/CN=${hostnames[0]}`,
      "-addext", `subjectAltName=${sans.join(",")}`,
      "-addext", "basicConstraints=critical,CA:FALSE",
      "-addext", "keyUsage=critical,digitalSignature,keyEncipherment",
      "-addext", "extendedKeyUsage=serverAuth",
    ]);
    if (r.code !== 0) throw new Error(`openssl req failed:\n${joinOutput(r.stdout, r.stderr)}`);
    return { certPem: await fsp.readFile(crt, "utf8"), keyPem: await fsp.readFile(key, "utf8") };
  } finally {
    await removeTempDir(dir);
  }
}

// ---------------------------------------------------------------------------------------------
// nginx
// ---------------------------------------------------------------------------------------------

export interface CheckResult {
  ok: boolean;
  /** Everything the tool printed (and what the harness adds), for a failing test to print. */
  output: string;
}

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

// ---------------------------------------------------------------------------------------------
// PostgreSQL
// ---------------------------------------------------------------------------------------------

const PG_BIN = "/usr/lib/postgresql/15/bin";
const HARNESS_CONF = "zz-test-harness.conf";

export interface PgQueryOptions {
  user?: string;
  database?: string;
  /** Sent as PGPASSWORD in the environment, never in argv. */
  password?: string;
  /** "socket" (default) or TCP on 127.0.0.1. */
  host?: "127.0.0.1" | "socket";
  /** PGSSLMODE (disable, require, verify-ca, ...). */
  sslmode?: string;
  /** OS user psql runs as (matters for peer auth over the socket). Default postgres. */
  osUser?: string;
}

export interface ThrowawayPostgres {
  port: number;
  socketDir: string;
  dataDir: string;
  /** SHOW name, trimmed. Throws with psql's output when it fails. */
  show(name: string): Promise<string>;
  query(sql: string, opts?: PgQueryOptions): Promise<RunResult>;
  /** `line N: error` for each row of pg_hba_file_rules whose error is not null. */
  hbaErrors(): Promise<string[]>;
  /** Whether the rendered pg_hba.conf (if any) was accepted and loaded. */
  hbaLoaded: boolean;
  /** pg_ctl's log plus the server's own log files (logging_collector). */
  log(): Promise<string>;
  stop(): Promise<void>;
}

export class PostgresStartError extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(`${message}\n${output}`);
    this.name = "PostgresStartError";
  }
}

export interface ThrowawayPostgresOptions {
  /** The rendered file for conf.d/ (its basename is kept; must end in .conf). */
  confD: RenderedFile;
  hba?: RenderedFile;
  sslCert?: TestCertificate;
  /** Other rendered files the server must see at their absolute paths (e.g. ssl_ca_file). */
  files?: RenderedFile[];
  /** Milliseconds pg_ctl waits for the server (default 60 s). */
  startTimeoutMs?: number;
}

async function writeOwned(file: string, content: string, mode: number, uid: number, gid: number): Promise<void> {
  await fsp.writeFile(file, content, { mode: 0o600 });
  await fsp.chown(file, uid, gid);
  await fsp.chmod(file, mode);
}

/**
 * A throwaway PostgreSQL 15 (Debian's binaries) that runs our rendered conf.d file for real:
 *   runuser -u postgres -- /usr/lib/postgresql/15/bin/initdb -D <tmp>/data --auth-local=peer
 *       --auth-host=scram-sha-256 -U postgres -E UTF8 --locale=C.UTF-8 --no-sync
 *   postgresql.conf += include_dir = 'conf.d'; conf.d/<rendered basename>; conf.d/zz-test-harness.conf
 *   (port, listen_addresses=127.0.0.1, unix_socket_directories, ssl=on + test cert: nothing else)
 *   runuser -u postgres -- pg_ctl -D <data> -l <tmp>/server.log -w -t 60 start
 * pg_ctl runs inside a private mount namespace in which /var/log/postgresql and
 * /run/postgresql are private, so paths our config names there do not reach the host.
 * A rendered pg_hba.conf is installed after start and loaded with pg_reload_conf() (the server
 * would refuse to start on a bad one); hbaErrors() shows what pg_hba_file_rules says about it.
 * Throws PostgresStartError (with the server's log) when the server does not start.
 * Always call stop() (t.teardown).
 */
export async function startThrowawayPostgres(opts: ThrowawayPostgresOptions): Promise<ThrowawayPostgres> {
  const confName = path.posix.basename(opts.confD.path);
  if (!confName.endsWith(".conf")) {
    throw new Error(`${opts.confD.path}: include_dir only reads files ending in .conf`);
  }
  if (confName >= HARNESS_CONF) throw new Error(`${confName} would be read after ${HARNESS_CONF}`);
  const uid = await uidOf("postgres");
  const gid = await gidOf("postgres");
  const tmp = await makeTempDir("pg", 0o711);
  let ns: PreparedNamespace | undefined;
  let started = false;
  const dataDir = path.join(tmp, "data");
  const socketDir = path.join(tmp, "sock");
  const serverLog = path.join(tmp, "server.log");
  const pgEnv = (extra?: NodeJS.ProcessEnv) => baseEnv({ HOME: "/var/lib/postgresql", PGCONNECT_TIMEOUT: "10", ...extra });
  const asPostgres = (args: string[], runOpts: RunOptions = {}, osUser = "postgres") =>
    run("runuser", ["-u", osUser, "--", ...args], { env: pgEnv(), timeoutMs: 120_000, ...runOpts });

  const readLogs = async (): Promise<string> => {
    const parts: string[] = [];
    parts.push(await fsp.readFile(serverLog, "utf8").catch(() => ""));
    for (const dir of [path.join(dataDir, "log"), path.join(dataDir, "pg_log")]) {
      const names = await fsp.readdir(dir).catch(() => [] as string[]);
      for (const nme of names.sort()) parts.push(`--- ${dir}/${nme}\n` + (await fsp.readFile(path.join(dir, nme), "utf8").catch(() => "")));
    }
    const varlog = ns?.hostPathOf("/var/log/postgresql");
    if (varlog) {
      const names = await fsp.readdir(varlog).catch(() => [] as string[]);
      for (const nme of names.sort()) parts.push(`--- /var/log/postgresql/${nme}\n` + (await fsp.readFile(path.join(varlog, nme), "utf8").catch(() => "")));
    }
    return joinOutput(...parts);
  };

  const stopServer = async () => {
    if (await exists(path.join(dataDir, "postmaster.pid"))) {
      const r = await asPostgres([`${PG_BIN}/pg_ctl`, "-D", dataDir, "-m", "immediate", "-w", "-t", "30", "stop"]);
      if (r.code !== 0) {
        // Last resort: the postmaster's own PID from postmaster.pid (never by name).
        const pidText = await fsp.readFile(path.join(dataDir, "postmaster.pid"), "utf8").catch(() => "");
        const pid = Number(pidText.split("\n")[0]);
        if (pid > 1) {
          try {
            process.kill(pid, "SIGQUIT");
          } catch {
            /* gone */
          }
          await sleep(500);
        }
      }
    }
  };
  const cleanupAll = async () => {
    try {
      await stopServer();
    } finally {
      try {
        if (ns) await ns.cleanup();
      } finally {
        await removeTempDir(tmp);
      }
    }
  };

  try {
    await fsp.mkdir(dataDir, { mode: 0o700 });
    await fsp.chown(dataDir, uid, gid);
    await fsp.mkdir(socketDir, { mode: 0o755 });
    await fsp.chown(socketDir, uid, gid);

    const init = await asPostgres([
      `${PG_BIN}/initdb`, "-D", dataDir, "--auth-local=peer", "--auth-host=scram-sha-256",
      "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
    ]);
    if (init.code !== 0) throw new PostgresStartError("initdb failed", joinOutput(init.stdout, init.stderr));

    const cert = opts.sslCert ?? (await makeTestCertificate(["localhost", "127.0.0.1"]));
    const certFile = path.join(tmp, "server.crt");
    const keyFile = path.join(tmp, "server.key");
    await writeOwned(certFile, cert.certPem, 0o644, uid, gid);
    await writeOwned(keyFile, cert.keyPem, 0o600, uid, gid);

    await fsp.appendFile(path.join(dataDir, "postgresql.conf"), "\n# added by tests/support/realtools.ts\ninclude_dir = 'conf.d'\n");
    const confDir = path.join(dataDir, "conf.d");
    await fsp.mkdir(confDir, { mode: 0o700 });
    await fsp.chown(confDir, uid, gid);
    await writeOwned(path.join(confDir, confName), opts.confD.content, 0o600, uid, gid);

    const q = (s: string) => `'${s.replace(/'/g, "''")}'`;
    let lastErr: unknown;
    let port = 0;
    for (let attempt = 0; attempt < 3 && !started; attempt++) {
      port = await freePort();
      const harness = [
        "# Loaded last: only what must differ on a test machine.",
        `port = ${port}`,
        `listen_addresses = '127.0.0.1'`,
        `unix_socket_directories = ${q(socketDir)}`,
        `ssl = on`,
        `ssl_cert_file = ${q(certFile)}`,
        `ssl_key_file = ${q(keyFile)}`,
        "",
      ].join("\n");
      await writeOwned(path.join(confDir, HARNESS_CONF), harness, 0o600, uid, gid);
      if (!ns) ns = await prepareHostFiles(opts.files ?? [], { privateDirs: ["/var/log/postgresql", "/run/postgresql"] });
      const timeoutS = Math.ceil((opts.startTimeoutMs ?? 60_000) / 1000);
      const [cmd, ...args] = [
        ...ns.argv,
        "runuser", "-u", "postgres", "--",
        `${PG_BIN}/pg_ctl`, "-D", dataDir, "-l", serverLog, "-w", "-t", String(timeoutS), "start",
      ];
      await fsp.writeFile(serverLog, "", { mode: 0o600 });
      await fsp.chown(serverLog, uid, gid);
      const r = await run(cmd, args, { env: pgEnv(), timeoutMs: (timeoutS + 30) * 1000 });
      if (r.code === 0) {
        started = true;
        break;
      }
      const logs = await readLogs();
      lastErr = new PostgresStartError(`PostgreSQL did not start (pg_ctl exit ${r.code})`, joinOutput(r.stdout, r.stderr, logs));
      await stopServer();
      if (!/could not bind|Address already in use/.test(logs)) break;
    }
    if (!started) throw lastErr;

    const query = async (sql: string, qo: PgQueryOptions = {}): Promise<RunResult> => {
      const env: NodeJS.ProcessEnv = {};
      if (qo.password !== undefined) env.PGPASSWORD = qo.password;
      if (qo.sslmode !== undefined) env.PGSSLMODE = qo.sslmode;
      const host = qo.host === "127.0.0.1" ? "127.0.0.1" : socketDir;
      return asPostgres(
        [
          `${PG_BIN}/psql`, "-X", "-At", "-v", "ON_ERROR_STOP=1", "-w",
          "-h", host, "-p", String(port), "-U", qo.user ?? "postgres", "-d", qo.database ?? "postgres",
          "-f", "-",
        ],
        // SQL on stdin, not in argv (it may hold a password, e.g. CREATE ROLE ... PASSWORD)
        { env: pgEnv(env), timeoutMs: 60_000, input: sql },
        qo.osUser ?? "postgres",
      );
    };
    const show = async (name: string): Promise<string> => {
      if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(name)) throw new Error(`not a setting name: ${name}`);
      const r = await query(`SHOW ${name}`);
      if (r.code !== 0) throw new Error(`SHOW ${name} failed:\n${joinOutput(r.stdout, r.stderr)}`);
      return r.stdout.trim();
    };
    const hbaErrors = async (): Promise<string[]> => {
      const r = await query("SELECT 'line ' || line_number || ': ' || error FROM pg_hba_file_rules WHERE error IS NOT NULL ORDER BY line_number");
      if (r.code !== 0) throw new Error(`reading pg_hba_file_rules failed:\n${joinOutput(r.stdout, r.stderr)}`);
      return r.stdout.split("\n").filter((l) => l.trim() !== "");
    };

    let hbaLoaded = false;
    if (opts.hba) {
      await writeOwned(path.join(dataDir, "pg_hba.conf"), opts.hba.content, 0o640, uid, gid);
      if ((await hbaErrors()).length === 0) {
        const r = await query("SELECT pg_reload_conf()");
        if (r.code !== 0) throw new Error(`pg_reload_conf failed:\n${joinOutput(r.stdout, r.stderr)}`);
        await sleep(300);
        hbaLoaded = true;
      }
    }

    let stopped = false;
    return {
      port,
      socketDir,
      dataDir,
      show,
      query,
      hbaErrors,
      hbaLoaded,
      log: readLogs,
      stop: async () => {
        if (stopped) return;
        stopped = true;
        await cleanupAll();
      },
    };
  } catch (err) {
    await cleanupAll().catch(() => undefined);
    throw err;
  }
}

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

// ---------------------------------------------------------------------------------------------
// cloud-init
// ---------------------------------------------------------------------------------------------

/**
 * Top-level keys that cloud-init reads but that its schema (22.4) does not list.
 */
const CLOUD_INIT_EXTRA_KEYS = [
  "merge_how", "merge_type", "datasource", "datasource_list", "output", "log_cfgs", "logcfg",
  "system_info", "network", "manual_cache_clean", "syslog_fix_perms", "def_log_file",
  "cloud_init_modules", "cloud_config_modules", "cloud_final_modules", "vendor_data",
  "disable_vmware_customization", "create_hostname_file", "launch-index",
];

/** Fixed python program: prints top-level keys of the YAML file that the schema does not know. */
const CLOUD_INIT_KEYS_PY = `
import sys, yaml
from cloudinit.config.schema import get_schema
schema = get_schema()
defs = schema.get("$defs", {})
known = set(schema.get("properties", {}))
for entry in schema.get("allOf", []):
    known |= set(entry.get("properties", {}))
    ref = entry.get("$ref")
    if ref and ref.startswith("#/$defs/"):
        known |= set(defs.get(ref[len("#/$defs/"):], {}).get("properties", {}))
known |= set(sys.argv[2:])
with open(sys.argv[1]) as f:
    data = yaml.safe_load(f)
if isinstance(data, dict):
    for key in data:
        if key not in known:
            print(key)
`;

export interface CloudInitSchemaResult extends CheckResult {
  /** Top-level keys neither in cloud-init's schema nor known extras (cloud-init 22.4 ignores them silently). */
  unknownKeys: string[];
  deprecations: string[];
}

/**
 * `cloud-init schema --config-file <file>` (cloud-init 22.4: -c/--config-file; it exits 1 on
 * schema errors, invalid YAML or a missing `#cloud-config` header), plus a check of top-level
 * keys against the same schema because 22.4 lets unknown top-level keys pass.
 */
export async function cloudInitSchema(userData: string, opts: { allowKeys?: string[] } = {}): Promise<CloudInitSchemaResult> {
  const dir = await makeTempDir("cloudinit");
  try {
    const file = path.join(dir, "user-data.yaml");
    await fsp.writeFile(file, userData, { mode: 0o600 });
    const r = await run("cloud-init", ["schema", "--config-file", file], { timeoutMs: 60_000 });
    let unknownKeys: string[] = [];
    let keysOutput = "";
    if (r.code === 0) {
      const k = await run("/usr/bin/python3", ["-c", CLOUD_INIT_KEYS_PY, file, ...CLOUD_INIT_EXTRA_KEYS, ...(opts.allowKeys ?? [])], { timeoutMs: 60_000 });
      if (k.code !== 0) keysOutput = `top-level key check failed:\n${joinOutput(k.stdout, k.stderr)}`;
      unknownKeys = k.stdout.split("\n").filter((l) => l !== "");
      if (unknownKeys.length) keysOutput = `unknown top-level keys (cloud-init would ignore them): ${unknownKeys.join(", ")}`;
      if (k.code !== 0) return { ok: false, output: joinOutput(r.stdout, r.stderr, keysOutput), unknownKeys, deprecations: [] };
    }
    const all = joinOutput(r.stdout, r.stderr);
    const deprecations: string[] = [];
    const m = /Cloud config schema deprecations:(.*)/.exec(all);
    if (m && m[1].trim()) deprecations.push(...m[1].split(/,\s(?=[\w.-]+:)/).map((s) => s.trim()).filter(Boolean));
    return { ok: r.code === 0 && unknownKeys.length === 0, output: joinOutput(all, keysOutput), unknownKeys, deprecations };
  } finally {
    await removeTempDir(dir);
  }
}

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

// ---------------------------------------------------------------------------------------------
// munin-node
// ---------------------------------------------------------------------------------------------

export interface MuninProbeResult extends CheckResult {
  plugins: string[];
  port: number;
}

/**
 * Starts `munin-node --foreground --config <file>` with the given munin-node.conf, only
 * its `host`/`port` lines replaced by `host 127.0.0.1` / `port <free port>` (allow,
 * cidr_allow, user, log_file, ... are kept), in a private mount namespace in which
 * /var/log/munin and /run/munin are private; connects, reads the banner, sends `list`,
 * and always kills the daemon (its process group, by PID). A config that does not allow
 * 127.0.0.1 fails here: the node drops the connection before the banner.
 */
export async function muninNodeProbe(muninNodeConf: string, opts: { files?: RenderedFile[]; timeoutMs?: number } = {}): Promise<MuninProbeResult> {
  const dir = await makeTempDir("munin");
  const port = await freePort();
  const conf = path.join(dir, "munin-node.conf");
  const kept = muninNodeConf.split("\n").filter((l) => !/^\s*(host|port)(\s|$)/.test(l));
  await fsp.writeFile(conf, [...kept, "", "# realtools: test listener", "host 127.0.0.1", `port ${port}`, ""].join("\n"), { mode: 0o600 });
  let ns: PreparedNamespace | undefined;
  let child: ReturnType<typeof spawn> | undefined;
  let daemonOut = "";
  let exited: { code: number | null; signal: string | null } | undefined;
  const transcript: string[] = [];
  try {
    ns = await prepareHostFiles(opts.files ?? [], { privateDirs: ["/var/log/munin", "/run/munin"] });
    // Only what the node appends to its log (the private copy also holds the package's old logs).
    const logDir = ns.hostPathOf("/var/log/munin");
    const logSizes = new Map<string, number>();
    if (logDir) {
      for (const nme of await fsp.readdir(logDir).catch(() => [] as string[])) {
        logSizes.set(nme, (await fsp.stat(path.join(logDir, nme)).catch(() => ({ size: 0 }))).size);
      }
    }
    const [cmd, ...args] = [...ns.argv, "/usr/sbin/munin-node", "--foreground", "--config", conf];
    child = spawn(cmd, args, { env: baseEnv(), stdio: ["ignore", "pipe", "pipe"], detached: true });
    child.stdout!.setEncoding("utf8").on("data", (d: string) => (daemonOut += d));
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (daemonOut += d));
    child.on("exit", (code, signal) => (exited = { code, signal }));

    const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
    let plugins: string[] | undefined;
    let failure = "";
    while (Date.now() < deadline) {
      if (exited) {
        failure = `munin-node exited (code ${exited.code}, signal ${exited.signal}) before answering`;
        break;
      }
      const res = await muninSession(port, Math.max(1000, deadline - Date.now()));
      if (res.kind === "refused") {
        await sleep(150);
        continue;
      }
      transcript.push(res.transcript);
      if (res.kind === "ok") plugins = res.plugins;
      else failure = res.message;
      break;
    }
    if (!plugins && !failure) failure = "timed out waiting for munin-node to listen";
    let logs = "";
    if (logDir) {
      for (const nme of (await fsp.readdir(logDir).catch(() => [] as string[])).sort()) {
        const buf = await fsp.readFile(path.join(logDir, nme)).catch(() => Buffer.alloc(0));
        const added = buf.subarray(logSizes.get(nme) ?? 0).toString("utf8");
        if (added.trim() !== "") logs += `--- /var/log/munin/${nme} (written during the probe)\n${added}`;
      }
    }
    const output = joinOutput(
      failure ? `FAILED: ${failure}` : "",
      transcript.join("\n"),
      daemonOut ? `munin-node output:\n${daemonOut}` : "",
      logs,
      ...ns.notes.map((x) => `[harness] ${x}`),
    );
    return { ok: !!plugins && !failure, plugins: plugins ?? [], output, port };
  } finally {
    if (child?.pid && !exited) {
      killGroup(child.pid, "SIGTERM");
      for (let i = 0; i < 30 && !exited; i++) await sleep(100);
      if (!exited) killGroup(child.pid, "SIGKILL");
      for (let i = 0; i < 30 && !exited; i++) await sleep(100);
    }
    if (ns) await ns.cleanup();
    await removeTempDir(dir);
  }
}

type MuninSession =
  | { kind: "refused" }
  | { kind: "ok"; plugins: string[]; transcript: string }
  | { kind: "fail"; message: string; transcript: string };

function muninSession(port: number, timeoutMs: number): Promise<MuninSession> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: "127.0.0.1", port });
    let buf = "";
    let stage: "banner" | "list" | "done" = "banner";
    let banner = "";
    let settled = false;
    const finish = (r: MuninSession) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ kind: "fail", message: `no answer within ${timeoutMs} ms (stage ${stage})`, transcript: `< ${buf}` }), timeoutMs);
    sock.setEncoding("utf8");
    sock.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "ECONNREFUSED" && stage === "banner" && buf === "") finish({ kind: "refused" });
      else finish({ kind: "fail", message: `socket error: ${err.message}`, transcript: `< ${buf}` });
    });
    sock.on("close", () => {
      if (stage !== "done") {
        finish({
          kind: "fail",
          message:
            stage === "banner"
              ? "connection closed before the banner (127.0.0.1 not allowed by allow/cidr_allow?)"
              : "connection closed before the answer to list",
          transcript: `< ${banner || buf}`,
        });
      }
    });
    sock.on("data", (d: string) => {
      buf += d;
      const nl = buf.indexOf("\n");
      if (nl < 0) return;
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (stage === "banner") {
        banner = line;
        if (!line.startsWith("# munin node at")) return finish({ kind: "fail", message: `unexpected banner: ${line}`, transcript: `< ${line}` });
        stage = "list";
        sock.write("list\n");
      } else if (stage === "list") {
        stage = "done";
        sock.write("quit\n");
        const plugins = line.trim() === "" ? [] : line.trim().split(/\s+/);
        finish({ kind: "ok", plugins, transcript: `< ${banner}\n> list\n< ${line}` });
      }
    });
  });
}

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

