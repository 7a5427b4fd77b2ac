/**
 * Pulumi entry point: read the stack's `dhis2:` configuration, validate it and compute the plan
 * before any resource is touched. An invalid stack stops here with one message listing every
 * problem (the key, the value, what is allowed).
 *
 * The plan is exported as stack outputs so that `pulumi preview` shows the sizing and tuning a
 * stack will get. The platform components (local LXD, existing servers, hcloud, aws) turn this
 * plan into resources; see docs/architecture.md for what is built so far.
 */
import * as pulumi from "@pulumi/pulumi";
import { loadDeployment, type LoadedDeployment } from "./lib/config/load";
import { ConfigError } from "./lib/config/model";
import { decodeEngineConfig } from "./lib/config/stack-file";

const stack = pulumi.getStack();

function load(): LoadedDeployment {
  const raw = decodeEngineConfig(pulumi.runtime.allConfig());
  try {
    return loadDeployment(stack, raw.project, `stack ${stack} (stacks/Pulumi.${stack}.yaml)`);
  } catch (e) {
    // a RunError is printed without a stack trace: the message is the whole story
    if (e instanceof ConfigError) throw new pulumi.RunError(e.message);
    throw e;
  }
}

const { plan, warnings } = load();
for (const w of warnings) pulumi.log.warn(w);

/** Where each role runs and what it gets. */
export const roles = [plan.topology.proxy, ...plan.topology.instances, plan.topology.database, plan.topology.monitor]
  .map((n) => ({ role: n.role, name: n.name, hostname: n.hostname, address: n.address, cpus: n.budget.cpus, memoryMb: n.budget.memoryMb }));
/** PostgreSQL settings computed for the database's size. */
export const postgresSettings = Object.fromEntries(plan.postgres.settings.map((s) => [s.name, s.value]));
/** Per DHIS2 instance: URL, version, heap and connection pool. */
export const instances = plan.instances.map((i) => ({
  name: i.config.name, url: i.config.baseUrl, version: i.config.runtime.display, heapMb: i.jvm.heapMb, poolMaxSize: i.jvm.poolMaxSize,
}));
