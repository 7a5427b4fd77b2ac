/**
 * Sizing: how much CPU and memory each role gets.
 *
 * - isolation vm: every role has its own server; its budget is the server's size.
 * - isolation lxd: one host runs every role in a container. The host OS keeps a reserve; the proxy
 *   and monitor get small fixed shares; the database and the DHIS2 instances share the rest (the
 *   database half, the instances the other half in equal parts), unless the stack sets a role's
 *   size explicitly. Container limits never add up to more than the host minus its reserve.
 */
import type { ConfigProblem, DeploymentConfig, DiskKind, HostSize, RequestedSize } from "../config/model";
import { clamp, floorCpus, floorTo } from "./units";

export type Role = "proxy" | "database" | "monitor" | "instance";

export interface RoleBudget {
  readonly role: Role;
  /** Role name as used for hosts/containers: proxy, database, monitor, or the instance name. */
  readonly name: string;
  /** CPUs this role may use (fractional in lxd isolation: a CPU quota). */
  readonly cpus: number;
  readonly memoryMb: number;
  readonly disk: DiskKind;
  readonly diskGb: number;
  /** Cloud server type requested for this role, if any. */
  readonly serverType?: string;
}

export interface SizingPlan {
  readonly isolation: "lxd" | "vm";
  /** lxd: the host and what its OS keeps. */
  readonly host?: HostSize & { readonly reservedCpus: number; readonly reservedMemoryMb: number };
  readonly proxy: RoleBudget;
  readonly database: RoleBudget;
  readonly monitor: RoleBudget;
  readonly instances: readonly RoleBudget[];
}

/** Smallest shares a role can run with. */
export const MINIMUM = {
  proxy: { cpus: 0.1, memoryMb: 128 },
  monitor: { cpus: 0.1, memoryMb: 256 },
  database: { cpus: 0.25, memoryMb: 1024 },
  instance: { cpus: 0.25, memoryMb: 1536 },
} as const;

const GB = 1024;

/** What the OS of a whole host (lxd host or VM) keeps for itself. */
export function hostReserve(cpus: number, memoryMb: number): { cpus: number; memoryMb: number } {
  return {
    cpus: floorCpus(clamp(cpus / 16, Math.min(0.25, cpus / 4), 2)),
    memoryMb: floorTo(clamp(memoryMb / 16, 512, 4 * GB), 64),
  };
}

export function planSizing(config: DeploymentConfig): { sizing?: SizingPlan; problems: ConfigProblem[] } {
  return config.isolation === "vm" ? planVm(config) : planLxd(config);
}

function planVm(config: DeploymentConfig): { sizing?: SizingPlan; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const budget = (role: Role, name: string, s: RequestedSize, key: string): RoleBudget => {
    const b: RoleBudget = {
      role,
      name,
      cpus: s.cpus!,
      memoryMb: Math.round(s.memoryGb! * GB),
      disk: s.disk ?? "ssd",
      diskGb: s.diskGb ?? 40,
      serverType: s.serverType,
    };
    const min = MINIMUM[role];
    const need = min.memoryMb + hostReserve(b.cpus, b.memoryMb).memoryMb;
    if (b.memoryMb < need) {
      problems.push({ key: `${key}.memoryGb`, value: s.memoryGb, message: `is too small for the ${role} server: it needs at least ${Math.ceil((need / GB) * 4) / 4} GB (${min.memoryMb} MB for the ${role} plus the OS)` });
    }
    return b;
  };
  const sizing: SizingPlan = {
    isolation: "vm",
    proxy: budget("proxy", "proxy", config.sizes.proxy, "dhis2:sizes.proxy"),
    database: budget("database", "database", config.sizes.database, "dhis2:sizes.database"),
    monitor: budget("monitor", "monitor", config.sizes.monitor, "dhis2:sizes.monitor"),
    instances: config.instances.map((inst, i) => budget("instance", inst.name, inst.size, `dhis2:instances[${i}].size`)),
  };
  return problems.length ? { problems } : { sizing, problems };
}

/**
 * lxd isolation: the host must hold every container at its smallest (or at its explicit size) plus
 * what the host OS keeps. Checked before the shares are computed, so that a host that is too small
 * is reported at the keys the stack sets (the host, or the explicit sizes that fill it).
 */
function checkHostCapacity(config: DeploymentConfig, host: HostSize): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const reserve = hostReserve(host.cpus, host.memoryGb * GB);
  const { sizes, instances } = config;
  type Entry = { size: RequestedSize; min: { cpus: number; memoryMb: number }; keys: { cpus: string; memoryGb: string } };
  const roleKeys = (role: string) => ({ cpus: `dhis2:sizes.${role}.cpus`, memoryGb: `dhis2:sizes.${role}.memoryGb` });
  const entries: Entry[] = [
    { size: sizes.proxy, min: MINIMUM.proxy, keys: roleKeys("proxy") },
    { size: sizes.monitor, min: MINIMUM.monitor, keys: roleKeys("monitor") },
    { size: sizes.database, min: MINIMUM.database, keys: roleKeys("database") },
    ...instances.map((inst) => ({ size: inst.size, min: MINIMUM.instance, keys: inst.sizeKeys })),
  ];
  const explicit = (field: "cpus" | "memoryGb") => [...new Set(entries.flatMap((e) => e.size[field] === undefined ? [] : [`${e.keys[field]} ${e.size[field]}`]))];
  const needMb = reserve.memoryMb + entries.reduce((a, e) => a + (e.size.memoryGb !== undefined ? e.size.memoryGb * GB : e.min.memoryMb), 0);
  const needCpus = reserve.cpus + entries.reduce((a, e) => a + (e.size.cpus ?? e.min.cpus), 0);
  const fix = (field: "cpus" | "memoryGb", what: string) => {
    const e = explicit(field);
    return e.length ? ` (explicit sizes: ${e.join(", ")}): raise the host's ${what} or lower the explicit sizes` : `: raise the host's ${what} or run fewer instances`;
  };
  if (host.memoryGb * GB + 1e-6 < needMb) {
    problems.push({ key: "dhis2:sizes.host.memoryGb", value: host.memoryGb, message: `is too small for the containers: proxy, monitor, database and ${instances.length} DHIS2 instance(s) need at least ${Math.ceil((needMb / GB) * 4) / 4} GB including ${reserve.memoryMb} MB for the host OS${fix("memoryGb", "memory")}` });
  }
  if (host.cpus + 1e-6 < needCpus) {
    problems.push({ key: "dhis2:sizes.host.cpus", value: host.cpus, message: `is too small for the containers: proxy, monitor, database and ${instances.length} DHIS2 instance(s) need at least ${Math.ceil(needCpus * 4) / 4} CPUs including ${reserve.cpus} for the host OS${fix("cpus", "CPUs")}` });
  }
  return problems;
}

function planLxd(config: DeploymentConfig): { sizing?: SizingPlan; problems: ConfigProblem[] } {
  const host = config.sizes.host!;
  const problems: ConfigProblem[] = checkHostCapacity(config, host);
  if (problems.length) return { problems };
  const hostMb = Math.round(host.memoryGb * GB);
  const reserve = hostReserve(host.cpus, hostMb);

  const explicit = (s: RequestedSize) => ({
    cpus: s.cpus,
    memoryMb: s.memoryGb === undefined ? undefined : Math.round(s.memoryGb * GB),
  });
  const proxyReq = explicit(config.sizes.proxy);
  const monitorReq = explicit(config.sizes.monitor);
  const dbReq = explicit(config.sizes.database);
  const instReq = config.instances.map((i) => explicit(i.size));

  const proxy = {
    cpus: proxyReq.cpus ?? floorCpus(clamp(host.cpus / 16, MINIMUM.proxy.cpus, 2)),
    memoryMb: proxyReq.memoryMb ?? floorTo(clamp(hostMb / 64, MINIMUM.proxy.memoryMb, GB), 64),
  };
  const monitor = {
    cpus: monitorReq.cpus ?? floorCpus(clamp(host.cpus / 32, MINIMUM.monitor.cpus, 1)),
    memoryMb: monitorReq.memoryMb ?? floorTo(clamp(hostMb / 32, MINIMUM.monitor.memoryMb, 2 * GB), 64),
  };

  /**
   * Share what is left after the reserve, the proxy and the monitor: explicit sizes first, then the
   * database half and the open instances the other half, moving the line so that every open share
   * gets its minimum when the host allows it.
   */
  const share = (total: number, fixed: number, dbGiven: number | undefined, instGiven: (number | undefined)[], floor: (v: number) => number, minDb: number, minInst: number) => {
    const rest = total - fixed - (dbGiven ?? 0) - instGiven.reduce<number>((a, v) => a + (v ?? 0), 0);
    const open = instGiven.filter((v) => v === undefined).length;
    let db = dbGiven ?? (open === 0 ? rest : rest / 2);
    let perInstance = open === 0 ? 0 : (dbGiven === undefined ? rest / 2 : rest) / open;
    if (dbGiven === undefined && open > 0) {
      if (perInstance < minInst) [perInstance, db] = [minInst, rest - minInst * open];
      if (db < minDb) [db, perInstance] = [minDb, (rest - minDb) / open];
    }
    return { rest, db: dbGiven ?? floor(db), inst: instGiven.map((v) => v ?? floor(perInstance)) };
  };
  const cpu = share(host.cpus - reserve.cpus, proxy.cpus + monitor.cpus, dbReq.cpus, instReq.map((r) => r.cpus), floorCpus, MINIMUM.database.cpus, MINIMUM.instance.cpus);
  const mem = share(hostMb - reserve.memoryMb, proxy.memoryMb + monitor.memoryMb, dbReq.memoryMb, instReq.map((r) => r.memoryMb), (v) => floorTo(v, 64), MINIMUM.database.memoryMb, MINIMUM.instance.memoryMb);

  const totalCpus = proxy.cpus + monitor.cpus + cpu.db + cpu.inst.reduce((a, b) => a + b, 0);
  const totalMb = proxy.memoryMb + monitor.memoryMb + mem.db + mem.inst.reduce((a, b) => a + b, 0);
  const minimumMb = reserve.memoryMb + MINIMUM.proxy.memoryMb + MINIMUM.monitor.memoryMb + MINIMUM.database.memoryMb + MINIMUM.instance.memoryMb * config.instances.length;
  const minimumCpus = reserve.cpus + MINIMUM.proxy.cpus + MINIMUM.monitor.cpus + MINIMUM.database.cpus + MINIMUM.instance.cpus * config.instances.length;

  if (totalMb > hostMb - reserve.memoryMb + 1e-6) {
    problems.push({
      key: "dhis2:sizes.host.memoryGb",
      value: host.memoryGb,
      message: `is too small for the containers: they need ${(totalMb / GB).toFixed(2)} GB plus ${(reserve.memoryMb / GB).toFixed(2)} GB for the host OS${hasExplicit(config) ? " (lower the explicit sizes or raise the host)" : ""}; with ${config.instances.length} instance(s) the host needs at least ${Math.ceil(minimumMb / GB)} GB`,
    });
  }
  if (totalCpus > host.cpus - reserve.cpus + 1e-6) {
    problems.push({
      key: "dhis2:sizes.host.cpus",
      value: host.cpus,
      message: `is too small for the containers: they ask for ${totalCpus.toFixed(2)} CPUs plus ${reserve.cpus} for the host OS; with ${config.instances.length} instance(s) the host needs at least ${Math.ceil(minimumCpus * 4) / 4} CPUs`,
    });
  }
  const below = (v: number, min: number) => v + 1e-9 < min;
  /** A role below its minimum: blame its own key when the stack sized it, else the host. */
  const checkMin = (role: Role, c: number, m: number, key: string, req: { cpus?: number; memoryMb?: number }) => {
    if (problems.length) return;
    if (below(m, MINIMUM[role].memoryMb)) {
      problems.push(req.memoryMb !== undefined
        ? { key: `${key}.memoryGb`, value: m / GB, message: `gives the ${role} ${m} MB; it needs at least ${MINIMUM[role].memoryMb} MB` }
        : { key: "dhis2:sizes.host.memoryGb", value: host.memoryGb, message: `leaves the ${role} only ${m} MB (it needs ${MINIMUM[role].memoryMb} MB): give the host more memory or lower the explicit sizes of other roles` });
    }
    if (below(c, MINIMUM[role].cpus)) {
      problems.push(req.cpus !== undefined
        ? { key: `${key}.cpus`, value: c, message: `gives the ${role} ${c} CPUs; it needs at least ${MINIMUM[role].cpus}` }
        : { key: "dhis2:sizes.host.cpus", value: host.cpus, message: `leaves the ${role} only ${c} CPUs (it needs ${MINIMUM[role].cpus}): give the host more CPUs or lower the explicit sizes of other roles` });
    }
  };
  checkMin("proxy", proxy.cpus, proxy.memoryMb, "dhis2:sizes.proxy", proxyReq);
  checkMin("monitor", monitor.cpus, monitor.memoryMb, "dhis2:sizes.monitor", monitorReq);
  checkMin("database", cpu.db, mem.db, "dhis2:sizes.database", dbReq);
  config.instances.forEach((_, i) => checkMin("instance", cpu.inst[i]!, mem.inst[i]!, `dhis2:instances[${i}].size`, instReq[i]!));
  if (problems.length) return { problems };

  const disk = host.disk;
  const sizing: SizingPlan = {
    isolation: "lxd",
    host: { ...host, reservedCpus: reserve.cpus, reservedMemoryMb: reserve.memoryMb },
    proxy: { role: "proxy", name: "proxy", cpus: proxy.cpus, memoryMb: proxy.memoryMb, disk, diskGb: config.sizes.proxy.diskGb ?? 10 },
    monitor: { role: "monitor", name: "monitor", cpus: monitor.cpus, memoryMb: monitor.memoryMb, disk, diskGb: config.sizes.monitor.diskGb ?? 20 },
    database: { role: "database", name: "database", cpus: cpu.db, memoryMb: mem.db, disk, diskGb: config.sizes.database.diskGb ?? Math.max(10, Math.floor(host.diskGb * 0.6)) },
    instances: config.instances.map((inst, i) => ({ role: "instance" as const, name: inst.name, cpus: cpu.inst[i]!, memoryMb: mem.inst[i]!, disk, diskGb: inst.size.diskGb ?? 20 })),
  };
  return { sizing, problems };
}

function hasExplicit(config: DeploymentConfig): boolean {
  const s = config.sizes;
  return [s.proxy, s.database, s.monitor, ...config.instances.map((i) => i.size)].some((r) => r.cpus !== undefined || r.memoryGb !== undefined);
}
