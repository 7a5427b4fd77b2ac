/**
 * The deployment plan: everything the components need, computed from the validated config by
 * pure functions. config → sizing → (PostgreSQL tuning, JVM per instance) → topology.
 */
import type { ConfigProblem, DeploymentConfig, InstanceConfig } from "../config/model";
import { planJvm, type JvmPlan } from "./jvm";
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
}

export function databaseNameFor(instance: string): string {
  return `dhis2_${instance}`;
}

export function buildPlan(config: DeploymentConfig): { plan?: Plan; problems: ConfigProblem[] } {
  const { sizing, problems } = planSizing(config);
  if (!sizing) return { problems };
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
    plan: { config, sizing, topology, postgres: { version: config.postgres.version, maxConnections, settings }, instances },
  };
}
