/** Real-program check harness (see ./index.ts): users and temp dirs. */
import { promises as fsp } from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { run } from "./run";

// ---------------------------------------------------------------------------------------------
// users, temp dirs
// ---------------------------------------------------------------------------------------------

const idCache = new Map<string, number | null>();

export async function lookupId(db: "passwd" | "group", name: string): Promise<number | null> {
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

export async function uidOf(user: string): Promise<number> {
  const id = await lookupId("passwd", user);
  if (id === null) throw new Error(`no such user on this machine: ${user}`);
  return id;
}

export async function gidOf(group: string): Promise<number> {
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
export async function makeTempDir(prefix: string, mode = 0o700): Promise<string> {
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
export async function removeTempDir(dir: string): Promise<void> {
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
