/** Real-program check harness (see ./index.ts): running programs: spawn with an argument array, time limits, process groups. */
import { spawn } from "node:child_process";
import { promises as fsp } from "node:fs";

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
export function baseEnv(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
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

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** stdout and stderr together, for printing in a failing test. */
export function joinOutput(...parts: Array<string | undefined>): string {
  return parts
    .filter((p): p is string => !!p && p.trim() !== "")
    .map((p) => p.replace(/\s+$/, ""))
    .join("\n");
}

export async function exists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch {
    return false;
  }
}

export async function isDir(p: string): Promise<boolean> {
  try {
    return (await fsp.stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** What a check of a rendered file with a real program found. */
export interface CheckResult {
  ok: boolean;
  /** Everything the tool printed (and what the harness adds), for a failing test to print. */
  output: string;
}
