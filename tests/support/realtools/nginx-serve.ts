/**
 * Real-program harness (see ./index.ts): a real nginx serving on loopback, to send it requests.
 * Runs `nginx -g "daemon off;"` on a configuration the caller gives (an http-context snippet),
 * with every path (pid, logs, temp dirs) inside a temp prefix, so nothing reaches the host's
 * /var; always killed by its PID (process group) and the prefix removed.
 */
import { spawn } from "node:child_process";
import { promises as fsp } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { baseEnv, killGroup, sleep } from "./run";
import { freePort, makeTempDir, removeTempDir } from "./temp";

export interface ServingNginx {
  /** Ports the snippet was given ({{port0}}, {{port1}} ... in the snippet). */
  readonly ports: number[];
  /** The error log so far. */
  errorLog(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Starts nginx with `httpSnippet` inside `http { }`; `{{portN}}` placeholders become free
 * loopback ports. Resolves when the first port accepts connections.
 */
export async function serveNginx(httpSnippet: string, portCount = 1): Promise<ServingNginx> {
  const dir = await makeTempDir("nginx-serve", 0o755);
  const ports: number[] = [];
  for (let i = 0; i < portCount; i++) ports.push(await freePort());
  const snippet = httpSnippet.replace(/\{\{port(\d+)\}\}/g, (_m, n: string) => String(ports[Number(n)]));
  const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((k) => `    ${k}_temp_path ${dir}/${k};`).join("\n");
  const conf = path.join(dir, "nginx.conf");
  await fsp.writeFile(conf, `worker_processes 1;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents { worker_connections 256; }\nhttp {\n    access_log off;\n${temp}\n${snippet}\n}\n`);
  const child = spawn("nginx", ["-p", dir, "-c", conf, "-g", "daemon off;"], { env: baseEnv(), stdio: ["ignore", "pipe", "pipe"], detached: true });
  let out = "";
  let exited = false;
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.on("exit", () => (exited = true));
  const stop = async () => {
    killGroup(child.pid, "SIGTERM");
    for (let i = 0; i < 50 && !exited; i++) await sleep(100);
    if (!exited) killGroup(child.pid, "SIGKILL");
    await removeTempDir(dir);
  };
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (exited) break;
    const open = await new Promise<boolean>((resolve) => {
      const s = net.connect(ports[0]!, "127.0.0.1", () => { s.destroy(); resolve(true); });
      s.on("error", () => resolve(false));
    });
    if (open) return { ports, errorLog: () => fsp.readFile(path.join(dir, "error.log"), "utf8").catch(() => ""), stop };
    await sleep(100);
  }
  const log = await fsp.readFile(path.join(dir, "error.log"), "utf8").catch(() => "");
  await stop();
  throw new Error(`nginx did not start:\n${out}\n${log}`);
}
