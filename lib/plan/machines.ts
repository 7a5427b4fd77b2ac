/**
 * The machine each node really gets on a cloud, and the sizes the plan tunes to.
 *
 * A cloud stack declares sizes (CPUs, memory); the cloud plan buys the cheapest server type that
 * has at least that much (lib/plan/server-types.ts), or the type the stack names. The type often
 * has more than was asked for (hcloud's dedicated types come with 4 GB per vCPU: 32 vCPUs bring
 * 128 GB), so PostgreSQL, the JVM heap and the LXD containers are tuned to the type's CPUs and
 * memory, and a warning names the difference. A type the stack names but the table does not know
 * keeps the declared size (its CPUs and memory cannot be checked).
 *
 * Existing servers and the local containers keep the declared size; the host verification after
 * provisioning (templates/host/verify-host.sh.hbs) checks it against the real machine.
 */
import type { ConfigProblem, DeploymentConfig } from "../config/model";
import { chooseServerType, DEFAULT_LOCATION, largestType, needsDedicatedCpus, type Cloud, type TypeChoice } from "./server-types";
import type { RoleBudget, SizingPlan } from "./sizing";

const GB = 1024;

export interface Machine {
  /** The node: proxy, database, monitor, an instance name; "host" for the LXD server (isolation lxd). */
  readonly node: string;
  /** proxy, database, monitor, instance, lxd-host. */
  readonly role: string;
  /** The stack key of its size (dhis2:sizes.database, dhis2:instances[0].size, ...). */
  readonly key: string;
  /** What the stack declared. */
  readonly declared: { readonly cpus: number; readonly memoryMb: number };
  readonly choice: TypeChoice;
  /** What the plan is tuned to: the type's CPUs and memory, or the declared ones for a type outside the table. */
  readonly cpus: number;
  readonly memoryMb: number;
}

export interface MachineNeed {
  readonly node: string;
  readonly role: string;
  readonly key: string;
  readonly cpus: number;
  readonly memoryMb: number;
  readonly serverType?: string;
}

/** The cloud of a stack, or undefined on the local and existing platforms. */
export function cloudOf(config: DeploymentConfig): Cloud | undefined {
  return config.platform === "hcloud" || config.platform === "aws" ? config.platform : undefined;
}

/** The server type of one node and the size it brings; a problem at the node's size key when no type fits. */
export function chooseMachine(cloud: Cloud, location: string, need: MachineNeed): { machine: Machine; problem?: ConfigProblem } {
  const memoryGb = Math.ceil(need.memoryMb / GB);
  const typeNeed = { role: need.role, cpus: Math.ceil(need.cpus), memoryGb, dedicated: needsDedicatedCpus(need.role), location, override: need.serverType };
  const declared = { cpus: need.cpus, memoryMb: need.memoryMb };
  const base = { node: need.node, role: need.role, key: need.key, declared };
  const choice = chooseServerType(cloud, typeNeed);
  if (choice) {
    const known = !choice.unknownOverride;
    return { machine: { ...base, choice, cpus: known ? choice.type.cpus : need.cpus, memoryMb: known ? choice.type.memoryGb * GB : need.memoryMb } };
  }
  const big = largestType(cloud, typeNeed.dedicated);
  // name the size that cannot be met: the CPUs if no type has that many, else the memory
  const cpusExist = chooseServerType(cloud, { ...typeNeed, memoryGb: 0 }) !== undefined;
  return {
    machine: { ...base, choice: { type: big, why: "too small" }, cpus: need.cpus, memoryMb: need.memoryMb },
    problem: {
      key: `${need.key}.${cpusExist ? "memoryGb" : "cpus"}`,
      value: cpusExist ? memoryGb : need.cpus,
      message: `no ${cloud} server type in ${location} has ${typeNeed.cpus} ${typeNeed.dedicated ? "dedicated " : ""}vCPUs and ${memoryGb} GB (the largest is ${big.name}: ${big.cpus} vCPU, ${big.memoryGb} GB): lower the size or set serverType`,
    },
  };
}

/** The node budgets of a server per role (isolation vm) as needs. */
export function vmNeeds(sizing: SizingPlan): MachineNeed[] {
  const need = (b: RoleBudget, key: string): MachineNeed => ({ node: b.name, role: b.role, key, cpus: b.cpus, memoryMb: b.memoryMb, serverType: b.serverType });
  return [
    need(sizing.proxy, "dhis2:sizes.proxy"),
    need(sizing.database, "dhis2:sizes.database"),
    need(sizing.monitor, "dhis2:sizes.monitor"),
    ...sizing.instances.map((b, i) => need(b, `dhis2:instances[${i}].size`)),
  ];
}

/** The LXD server of a cloud stack (isolation lxd) as a need. */
export function hostNeed(config: DeploymentConfig): MachineNeed {
  const host = config.sizes.host!;
  return { node: "host", role: "lxd-host", key: "dhis2:sizes.host", cpus: host.cpus, memoryMb: Math.round(host.memoryGb * GB) };
}

/** Choose every need's type in the stack's location. */
export function chooseMachines(config: DeploymentConfig, cloud: Cloud, needs: readonly MachineNeed[]): { machines: Machine[]; problems: ConfigProblem[] } {
  const location = config.cloud.location ?? DEFAULT_LOCATION[cloud];
  const results = needs.map((n) => chooseMachine(cloud, location, n));
  return { machines: results.map((r) => r.machine), problems: results.flatMap((r) => (r.problem ? [r.problem] : [])) };
}

/** The vm budgets with the CPUs and memory of the machines bought. */
export function fitBudgets(sizing: SizingPlan, machines: readonly Machine[]): SizingPlan {
  const fit = (b: RoleBudget): RoleBudget => {
    const m = machines.find((x) => x.node === b.name);
    return m ? { ...b, cpus: m.cpus, memoryMb: m.memoryMb } : b;
  };
  return { ...sizing, proxy: fit(sizing.proxy), database: fit(sizing.database), monitor: fit(sizing.monitor), instances: sizing.instances.map(fit) };
}

function size(cpus: number, memoryMb: number): string {
  return `${cpus} CPU / ${Math.round((memoryMb / GB) * 100) / 100} GB`;
}

/** A warning for each machine whose type differs from the declared size: what the plan is tuned to instead. */
export function machineWarnings(machines: readonly Machine[]): string[] {
  return machines.flatMap((m) => {
    if (m.choice.unknownOverride) return [];
    const { declared } = m;
    if (m.cpus === declared.cpus && m.memoryMb === declared.memoryMb) return [];
    const more = m.cpus >= declared.cpus && m.memoryMb >= declared.memoryMb;
    const what = m.role === "lxd-host" ? "the LXD containers' shares" : m.role === "database" ? "PostgreSQL" : m.role === "instance" ? "the JVM heap" : "the node";
    return [`${m.key} declares ${size(declared.cpus, declared.memoryMb)}; ${m.node} gets ${m.choice.type.name} with ${size(m.cpus, m.memoryMb)} (${m.choice.why}), ${more ? "more than declared" : "LESS than declared"}: ${what} is tuned to ${size(m.cpus, m.memoryMb)}. Declare the type's size to silence this${more ? ", or set serverType to pin another type" : ", or choose a larger serverType"}`];
  });
}
