/**
 * The hosts of a deployed stack, as the administrator's commands (npm run status, backups,
 * restore, instance) reach them from this machine: `lxc exec` into the local platform's containers;
 * `ssh` (with the stack's own admin key, through the proxy as bastion, pinned host keys where the
 * stack has them) to servers, and `lxc exec` on the LXD server in isolation lxd. Everything runs
 * as root on the host; the key lives in a temporary 0600 file for the command's lifetime only.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConfigError } from "../../lib/config/model";
import { loadStackFile } from "../../lib/load";
import type { Plan } from "../../lib/plan";
import { allNodes } from "../../lib/plan/topology";
import { containerName } from "../../lib/render/lxd";
import { shellQuote } from "../../lib/render/shell";

export const PROJECT_DIR = path.resolve(__dirname, "..", "..");

export interface RunResult { code: number; stdout: string; stderr: string }

/** Run a program, its input on stdin; never through a shell built from content. */
export function run(cmd: string, args: readonly string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: PROJECT_DIR, env: opts.env ?? process.env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on("data", (d: Buffer) => { stderr += d.toString(); });
    const timer = opts.timeoutMs ? setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs) : undefined;
    child.on("error", (e) => { stderr += String(e); });
    child.on("close", (code) => { if (timer) clearTimeout(timer); resolve({ code: code ?? 124, stdout, stderr }); });
    child.stdin.end(opts.input ?? "");
  });
}

/** A stack file's plan, or undefined after printing why it cannot be loaded. */
export function loadPlanOrSay(stack: string): Plan | undefined {
  try {
    return loadStackFile(PROJECT_DIR, stack).plan;
  } catch (e) {
    console.error(e instanceof ConfigError ? e.message : `error: ${(e as Error).message}`);
    return undefined;
  }
}

/** `npm run pulumi` (the project's pulumi with its environment) for a stack. */
export function pulumi(args: readonly string[], stack: string, opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return run("bash", [path.join(PROJECT_DIR, "scripts", "pulumi.sh"), ...args, "--stack", stack], opts);
}

export interface NodeReach {
  /** proxy, database, monitor, an instance name. */
  readonly node: string;
  /** Run a shell command as root on the node. */
  run(command: string, opts?: { input?: string; timeoutMs?: number }): Promise<RunResult>;
}

export interface StackHosts {
  readonly nodes: readonly NodeReach[];
  /** Removes the temporary key and known_hosts files. */
  close(): void;
}

/** How to reach every node of a deployed stack from this machine. */
export async function stackHosts(plan: Plan): Promise<StackHosts> {
  const { config } = plan;
  const nodes = allNodes(plan.topology);
  if (config.platform === "local") {
    return {
      nodes: nodes.map((n) => ({ node: n.name, run: (command, opts) => run("lxc", ["exec", containerName(config.stack, n.name), "--", "/bin/sh", "-c", command], opts) })),
      close: () => undefined,
    };
  }
  const key = await pulumi(["config", "get", "--path", "dhis2:admin.privateKey"], config.stack, { timeoutMs: 120_000 });
  if (key.code !== 0 || !key.stdout.includes("PRIVATE KEY")) throw new Error(`dhis2:admin.privateKey of stack ${config.stack} cannot be read (${key.stderr.trim() || "empty"}): set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dhis2-ssh-"));
  const keyFile = path.join(dir, "key");
  fs.writeFileSync(keyFile, key.stdout.endsWith("\n") ? key.stdout : `${key.stdout}\n`, { mode: 0o600 });
  const knownHosts = path.join(dir, "known_hosts");
  const servers = config.servers ?? {};
  const pinned = [servers.host, servers.proxy, servers.database, servers.monitor, ...Object.values(servers.instances ?? {})]
    .filter((s) => s?.hostKey).map((s) => `${s!.address} ${s!.hostKey}`);
  fs.writeFileSync(knownHosts, pinned.length ? `${pinned.join("\n")}\n` : "", { mode: 0o600 });
  const options = ["-i", keyFile, "-o", "IdentitiesOnly=yes", "-o", `UserKnownHostsFile=${knownHosts}`, "-o", `StrictHostKeyChecking=${pinned.length ? "yes" : "accept-new"}`, "-o", "BatchMode=yes", "-o", "ConnectTimeout=15", "-o", "LogLevel=ERROR"];
  const user = (s?: { user?: string }) => s?.user ?? config.admin.user;
  let publicAddress = "";
  if (config.platform === "hcloud" || config.platform === "aws") {
    const out = await pulumi(["stack", "output", "publicAddress"], config.stack, { timeoutMs: 120_000 });
    publicAddress = out.stdout.trim();
    if (!publicAddress) throw new Error(`stack ${config.stack} has no publicAddress output: is it deployed?`);
  }
  const ssh = (target: string, bastion: string | undefined, command: string, opts?: { input?: string; timeoutMs?: number }) => {
    const jump = bastion ? ["-o", `ProxyCommand=ssh ${options.map((o) => shellQuote(o)).join(" ")} -W %h:%p ${bastion}`] : [];
    return run("ssh", [...options, ...jump, target, `sudo /bin/sh -c ${shellQuote(command)}`], opts);
  };
  const close = () => fs.rmSync(dir, { recursive: true, force: true });
  if (config.isolation === "lxd") {
    const server = config.platform === "existing" ? `${user(servers.host)}@${servers.host!.address}` : `${config.admin.user}@${publicAddress}`;
    return {
      nodes: nodes.map((n) => ({ node: n.name, run: (command, opts) => ssh(server, undefined, `lxc exec ${shellQuote(containerName(config.stack, n.name))} -- /bin/sh -c ${shellQuote(command)}`, opts) })),
      close,
    };
  }
  const proxy = config.platform === "existing" ? `${user(servers.proxy)}@${servers.proxy!.address}` : `${config.admin.user}@${publicAddress}`;
  const serverOf = (name: string) => name === "proxy" || name === "database" || name === "monitor" ? servers[name] : servers.instances?.[name];
  return {
    nodes: nodes.map((n) => {
      const target = n.name === "proxy" ? proxy : `${user(serverOf(n.name))}@${n.sshAddress ?? n.address}`;
      return { node: n.name, run: (command, opts) => ssh(target, n.name === "proxy" ? undefined : proxy, command, opts) };
    }),
    close,
  };
}
