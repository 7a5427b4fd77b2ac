/** What the benchmark machine is and how busy it is while a benchmark runs (printed with every figure). */
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { run } from "../../tests/support/realtools";

// ---------------------------------------------------------------------------------------------
// machine
// ---------------------------------------------------------------------------------------------

export interface MachineInfo {
  cores: number;
  ramGb: number;
  cpuModel: string;
  kernel: string;
  loadavg: number[];
  /** Other processes using CPU, and PostgreSQL servers that are not ours. */
  otherLoad: string[];
}

interface PsRow {
  pid: number;
  ppid: number;
  pcpu: number;
  rssKb: number;
  etimes: number;
  args: string;
}

async function psRows(): Promise<PsRow[]> {
  const ps = await run("ps", ["-eo", "pid=,ppid=,pcpu=,rss=,etimes=,args="]);
  return ps.stdout
    .split("\n")
    .map((l) => /^\s*(\d+)\s+(\d+)\s+([\d.]+)\s+(\d+)\s+(\d+)\s+(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), pcpu: Number(m[3]), rssKb: Number(m[4]), etimes: Number(m[5]), args: m[6] }));
}

/** Processes that are not ours (not below this process or below `ownRoots`) and are busy or big. */
async function otherHeavyProcesses(ownRoots: readonly number[]): Promise<string[]> {
  const rows = await psRows();
  const mine = new Set<number>([process.pid, ...ownRoots]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const r of rows) if (!mine.has(r.pid) && mine.has(r.ppid)) (mine.add(r.pid), (grew = true));
  }
  const other: string[] = [];
  for (const r of rows) {
    if (mine.has(r.pid)) continue;
    const isPostmaster = /\/postgres(\s|$).*-D\s/.test(r.args) || /postgres: .*checkpointer/.test(r.args);
    // ps pcpu is the average since the process started: report busy ones that ran a while
    if (isPostmaster || (r.pcpu >= 25 && r.etimes >= 5) || r.rssKb > 2 * 1024 * 1024) {
      other.push(`pid ${r.pid} (${r.pcpu}% CPU, ${Math.round(r.rssKb / 1024)} MB): ${r.args.slice(0, 100)}`);
    }
  }
  return other;
}

export async function machineInfo(ownRoots: readonly number[] = []): Promise<MachineInfo> {
  return {
    cores: os.cpus().length,
    ramGb: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    cpuModel: os.cpus()[0]?.model ?? "?",
    kernel: `${os.type()} ${os.release()}`,
    loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
    otherLoad: await otherHeavyProcesses(ownRoots),
  };
}

/**
 * Samples `ps` every `intervalMs` while a benchmark runs and collects other busy processes (not
 * this process's children, not our PostgreSQL: its postmaster is read from dataDir/postmaster.pid).
 */
export function startLoadMonitor(dataDir: string, intervalMs = 10_000): { stop(): Promise<string[]> } {
  const seen = new Map<string, string>();
  let stopped = false;
  const sample = async () => {
    const pidText = await fsp.readFile(path.join(dataDir, "postmaster.pid"), "utf8").catch(() => "");
    const postmaster = Number(pidText.split("\n")[0]) || 0;
    for (const line of await otherHeavyProcesses(postmaster ? [postmaster] : [])) {
      const key = line.replace(/\(.*?\)/, "");
      seen.set(key, `${new Date().toISOString().slice(11, 19)} ${line}`);
    }
  };
  let running: Promise<void> = sample().catch(() => undefined);
  const timer = setInterval(() => {
    if (!stopped) running = running.then(sample).catch(() => undefined);
  }, intervalMs);
  return {
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
      return [...seen.values()];
    },
  };
}

export function describeMachine(m: MachineInfo, pgVersion?: string): string {
  return [
    `machine: ${m.cores} CPU cores (${m.cpuModel}), ${m.ramGb} GB RAM, ${m.kernel}`,
    ...(pgVersion ? [`server:  ${pgVersion}`] : []),
    `load average (1/5/15 min) at start: ${m.loadavg.join(" / ")}`,
    m.otherLoad.length === 0
      ? "other heavy processes at start: none (ps: no other PostgreSQL server, nothing else above 25% CPU or 2 GB)"
      : `other heavy processes at start (figures may be disturbed):\n  ${m.otherLoad.join("\n  ")}`,
  ].join("\n");
}
