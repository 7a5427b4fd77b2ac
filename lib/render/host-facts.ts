/**
 * What the host verification (templates/host/verify-host.sh.hbs) printed, parsed, and judged
 * against what the node was declared (or bought) with. Pure.
 *
 * Thresholds:
 * - CPUs: at least the declared count (rounded up: an LXD CPU quota of 1.5 needs 2 CPUs visible).
 * - Memory: at least 90% of the declared memory (a VM's kernel, firmware and crash kernel keep a
 *   few percent of the nominal size: a 32 GB cloud server shows about 31.3 GB).
 * - Disk (seed 000's dd test, 1000 synchronous 512-byte writes): an SSD or NVMe disk does it in
 *   under 0.5 s; anything over 5 s is too slow whatever the disk. With fio: random 4k IOPS (read
 *   and write, direct I/O) at least 1000 on ssd and 10000 on nvme (a rough floor: a local SATA SSD
 *   does tens of thousands, a cloud volume a few thousand).
 * - CPU steal over 5%: the hypervisor gives the CPUs to other guests (over-provisioned host, seed 000).
 * The kernel's "rotational" flag is reported, not judged: virtual disks often claim to rotate.
 */
import type { DiskKind } from "../config/model";

export interface HostFacts {
  readonly cpus?: number;
  readonly memoryMb?: number;
  readonly diskDir?: string;
  readonly diskDevice?: string;
  readonly diskRotational?: boolean;
  readonly ddSeconds?: number;
  readonly fioReadIops?: number;
  readonly fioWriteIops?: number;
  readonly stealPercent?: number;
  /** Lines the script printed that are not key=value, or values that are not numbers. */
  readonly unreadable: readonly string[];
}

export interface ExpectedHost {
  readonly node: string;
  /** The stack key of its size, for messages. */
  readonly key: string;
  readonly cpus: number;
  readonly memoryMb: number;
  readonly disk: DiskKind;
}

export interface HostVerdict {
  readonly node: string;
  readonly facts: HostFacts;
  /** Below the declared size or kind; failures instead when the stack says dhis2:hostCheck.strict. */
  readonly warnings: readonly string[];
  readonly failures: readonly string[];
}

export const THRESHOLDS = {
  memoryShare: 0.9,
  ddGoodSeconds: 0.5,
  ddTooSlowSeconds: 5,
  minIops: { ssd: 1000, nvme: 10000, hdd: 0 } as Record<DiskKind, number>,
  stealPercent: 5,
} as const;

const NUMERIC: Record<string, keyof HostFacts> = {
  cpus: "cpus", dd_seconds: "ddSeconds", fio_read_iops: "fioReadIops", fio_write_iops: "fioWriteIops", steal_pct: "stealPercent",
};

/** The script's output → facts; a key it does not know, or a number that is not one, is kept in `unreadable`. */
export function parseHostFacts(output: string): HostFacts {
  const facts: Record<string, unknown> = {};
  const unreadable: string[] = [];
  for (const line of output.split("\n").map((l) => l.trim()).filter(Boolean)) {
    const eq = line.indexOf("=");
    const [key, value] = eq < 0 ? [line, ""] : [line.slice(0, eq), line.slice(eq + 1)];
    const number = Number(value);
    const isNumber = value !== "" && Number.isFinite(number);
    if (key in NUMERIC) {
      if (isNumber) facts[NUMERIC[key]!] = number; else unreadable.push(line);
    } else if (key === "memory_kb" && isNumber) facts.memoryMb = Math.floor(number / 1024);
    else if (key === "disk_dir") facts.diskDir = value;
    else if (key === "disk_device") facts.diskDevice = value;
    else if (key === "disk_rotational") { if (value === "0" || value === "1") facts.diskRotational = value === "1"; }
    else if (key === "verify_version" || key === "fio") continue;
    else unreadable.push(line);
  }
  return { ...(facts as Omit<HostFacts, "unreadable">), unreadable };
}

const gb = (mb: number) => `${Math.round((mb / 1024) * 10) / 10} GB`;

/** What is below the declared size or kind; every finding is a failure when `strict`. */
export function judgeHost(facts: HostFacts, expected: ExpectedHost, strict: boolean): HostVerdict {
  const found: string[] = [];
  const { node, key } = expected;
  const needCpus = Math.ceil(expected.cpus - 1e-9);
  if (facts.cpus === undefined) found.push(`${node}: the CPU count could not be read`);
  else if (facts.cpus < needCpus) found.push(`${node} has ${facts.cpus} CPUs, ${key}.cpus declares ${expected.cpus}`);
  if (facts.memoryMb === undefined) found.push(`${node}: the memory could not be read`);
  else if (facts.memoryMb < expected.memoryMb * THRESHOLDS.memoryShare) {
    found.push(`${node} has ${gb(facts.memoryMb)} of memory, ${key}.memoryGb declares ${gb(expected.memoryMb)} (at least ${THRESHOLDS.memoryShare * 100}% expected)`);
  }
  const dd = facts.ddSeconds;
  if (dd === undefined) found.push(`${node}: the dd disk latency test did not run`);
  else if (dd > THRESHOLDS.ddTooSlowSeconds) found.push(`${node}'s disk is too slow: dd of 1000 synchronous 512-byte writes took ${dd} s (seed 000: over ${THRESHOLDS.ddTooSlowSeconds} s is too slow for DHIS2)`);
  else if (expected.disk !== "hdd" && dd > THRESHOLDS.ddGoodSeconds) found.push(`${node}'s disk is slower than the declared ${expected.disk}: dd of 1000 synchronous 512-byte writes took ${dd} s (seed 000: under ${THRESHOLDS.ddGoodSeconds} s on a good disk)`);
  const minIops = THRESHOLDS.minIops[expected.disk];
  for (const [what, iops] of [["read", facts.fioReadIops], ["write", facts.fioWriteIops]] as const) {
    if (iops !== undefined && iops < minIops) found.push(`${node}'s disk does ${iops} random 4k ${what} IOPS (fio), below ${minIops} for the declared ${expected.disk}`);
  }
  if (facts.stealPercent !== undefined && facts.stealPercent > THRESHOLDS.stealPercent) {
    found.push(`${node} loses ${facts.stealPercent}% of its CPU time to the hypervisor (steal over ${THRESHOLDS.stealPercent}%: the host is over-provisioned, seed 000)`);
  }
  if (facts.unreadable.length) found.push(`${node}: unreadable lines in the verification output: ${facts.unreadable.join(" | ")}`);
  return { node, facts, warnings: strict ? [] : found, failures: strict ? found : [] };
}

/** One line per node for the stack output and the review. */
export function verdictSummary(v: HostVerdict): string {
  const f = v.facts;
  const parts = [
    f.cpus !== undefined ? `${f.cpus} CPU` : "CPU ?",
    f.memoryMb !== undefined ? gb(f.memoryMb) : "memory ?",
    f.ddSeconds !== undefined ? `dd ${f.ddSeconds} s` : "dd ?",
    ...(f.fioReadIops !== undefined ? [`fio ${f.fioReadIops}/${f.fioWriteIops ?? "?"} IOPS r/w`] : []),
    ...(f.stealPercent !== undefined ? [`steal ${f.stealPercent}%`] : []),
  ];
  const state = v.failures.length ? "FAIL" : v.warnings.length ? "warn" : "ok";
  return `${state} ${v.node}: ${parts.join(", ")}`;
}

/** The stack output hostChecks (node → verdict with its summary) as lines for the review; [] when absent. */
export function formatHostChecks(output: unknown): string[] {
  if (typeof output !== "object" || output === null) return [];
  return Object.entries(output as Record<string, Partial<HostVerdict> & { summary?: string }>).flatMap(([node, v]) => [
    v.summary ?? `? ${node}: no summary`,
    ...[...(v.failures ?? []), ...(v.warnings ?? [])].map((w) => `    ${w}`),
  ]);
}
