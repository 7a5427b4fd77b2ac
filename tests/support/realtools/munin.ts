/** Real-program check harness (see ./index.ts): munin-node probe. */
import { spawn } from "node:child_process";
import { promises as fsp } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import type { RenderedFile } from "../../../lib/render/file";
import { PreparedNamespace, prepareHostFiles } from "./hostfiles";
import { CheckResult, baseEnv, joinOutput, killGroup, sleep } from "./run";
import { freePort, makeTempDir, removeTempDir } from "./temp";

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

    const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
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
      else {
        // a daemon that bound its port and then died (a bad user, say) resets the connection:
        // say that it exited, which is what happened, once it has (at most 3 s later)
        const gone = async () => { for (let i = 0; i < 30 && !exited; i++) await sleep(100); return exited; };
        const e = await gone();
        failure = e ? `munin-node exited (code ${e.code}, signal ${e.signal}) after ${res.message}` : res.message;
      }
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
