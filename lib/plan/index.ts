/**
 * The deployment plan: everything the components need, computed from the validated config by
 * pure functions. config → sizing → (PostgreSQL tuning, JVM per instance) → topology.
 */
import type { ConfigProblem, DeploymentConfig, InstanceConfig } from "../config/model";
import { planJvm, type JvmPlan } from "./jvm";
import { chooseMachines, cloudOf, fitBudgets, hostNeed, vmNeeds, type Machine } from "./machines";
import { tunePostgres, type PostgresSetting } from "./postgres";
import { planSizing, type SizingPlan } from "./sizing";
import { planTopology, type Node, type Topology } from "./topology";

export interface InstancePlan {
  readonly config: InstanceConfig;
  readonly node: Node;
  readonly jvm: JvmPlan;
  /** PostgreSQL database and role of this instance. */
  readonly database: string;
  readonly databaseUser: string;
}

export interface Plan {
  readonly config: DeploymentConfig;
  readonly sizing: SizingPlan;
  readonly topology: Topology;
  readonly postgres: {
    readonly version: number;
    readonly maxConnections: number;
    readonly settings: readonly PostgresSetting[];
  };
  readonly instances: readonly InstancePlan[];
  /** hcloud, aws: the server type of each node (or of the LXD server) and the size the plan is tuned to. */
  readonly machines: readonly Machine[];
}

export function databaseNameFor(instance: string): string {
  return `dhis2_${instance}`;
}

export function buildPlan(config: DeploymentConfig): { plan?: Plan; problems: ConfigProblem[] } {
  const m = planMachines(config);
  if (!m.sizing) return { problems: m.problems };
  const { sizing, machines, problems } = m;
  const jvms: JvmPlan[] = [];
  config.instances.forEach((inst, i) => {
    const r = planJvm(inst, i, sizing.instances[i]!, sizing.database.cpus, config.isolation);
    problems.push(...r.problems);
    if (r.jvm) jvms.push(r.jvm);
  });
  if (problems.length) return { problems };

  const maxConnections = jvms.reduce((sum, j) => sum + j.poolMaxSize, 0) + config.postgres.reservedConnections;
  const settings = tunePostgres({
    version: config.postgres.version,
    memoryMb: sizing.database.memoryMb,
    cpus: sizing.database.cpus,
    disk: sizing.database.disk,
    maxConnections,
    synchronousCommit: config.postgres.synchronousCommit,
    walWriterDelayMs: config.postgres.walWriterDelayMs,
    logMinDurationStatementMs: config.postgres.logMinDurationStatementMs,
  });
  const topology = planTopology(config, sizing);
  const instances = config.instances.map((inst, i) => ({
    config: inst,
    node: topology.instances[i]!,
    jvm: jvms[i]!,
    database: databaseNameFor(inst.name),
    databaseUser: databaseNameFor(inst.name),
  }));
  return {
    problems,
    plan: { config, sizing, topology, postgres: { version: config.postgres.version, maxConnections, settings }, instances, machines },
  };
}

/**
 * Sizing on the machines really bought: on a cloud the LXD server's shares come from its type's
 * size (isolation lxd), the budget of a server per role from its type's (isolation vm).
 */
function planMachines(config: DeploymentConfig): { sizing?: SizingPlan; machines: Machine[]; problems: ConfigProblem[] } {
  const cloud = cloudOf(config);
  if (!cloud) return { ...planSizing(config), machines: [] };
  if (config.isolation === "lxd") {
    const host = chooseMachines(config, cloud, [hostNeed(config)]);
    if (host.problems.length) return { machines: [], problems: host.problems };
    const m = host.machines[0]!;
    const fitted: DeploymentConfig = { ...config, sizes: { ...config.sizes, host: { ...config.sizes.host!, cpus: m.cpus, memoryGb: m.memoryMb / 1024 } } };
    return { ...planSizing(fitted), machines: host.machines };
  }
  const declared = planSizing(config);
  if (!declared.sizing) return { machines: [], problems: declared.problems };
  const chosen = chooseMachines(config, cloud, vmNeeds(declared.sizing));
  if (chosen.problems.length) return { machines: [], problems: chosen.problems };
  return { sizing: fitBudgets(declared.sizing, chosen.machines), machines: chosen.machines, problems: [] };
}
