/**
 * Pulumi entry point: read the stack's `dhis2:` configuration, validate it and compute the plan
 * before any resource is touched (lib/load.ts); check what `pulumi up` needs beyond a valid stack
 * (the local files it names, the SSH key, and that the WAR and glowroot URLs answer). An invalid
 * stack stops here with one message listing every problem (the key, the value, what is allowed),
 * in the first seconds and with nothing created. Then the Dhis2Deployment component creates the
 * platform's hosts and converges every role on them (components/deployment.ts).
 */
import * as pulumi from "@pulumi/pulumi";
// No stack traces while the program runs: Pulumi captures one for every resource and every
// promise it makes (for its own debugging messages). Mapped through ts-node's source maps they
// cost over a second of every `pulumi up` of the local stack; captured at all, another 0.4 s of
// CPU (docs/deploy-speed.md). An error still shows its message, without a stack: set
// DHIS2_STACK_TRACES=1 to get source-mapped stacks back when debugging the program.
if (process.env.DHIS2_STACK_TRACES !== "1") {
  (Error as { prepareStackTrace?: unknown }).prepareStackTrace = undefined;
  Error.stackTraceLimit = 0;
}
import { artifactUrlProblems, deployProblems, generatedProblems } from "./lib/config/artifacts";
import { ConfigError } from "./lib/config/model";
import { decodeEngineConfig, engineSecretSource } from "./lib/config/stack-file";
import { loadDeployment, type LoadedDeployment } from "./lib/load";
import { Dhis2Deployment } from "./components/deployment";
import { loadOnDemand, type OnDemandPlan } from "./lib/ondemand/plan";
import { OnDemandInstance } from "./components/ondemand";

const stack = pulumi.getStack();
const source = `stack ${stack} (stacks/Pulumi.${stack}.yaml)`;

async function load(): Promise<LoadedDeployment> {
  const raw = decodeEngineConfig(pulumi.runtime.allConfig());
  try {
    const loaded = loadDeployment(stack, raw.project, source, engineSecretSource(process.env.PULUMI_CONFIG_SECRET_KEYS));
    const missing = [...generatedProblems(loaded.plan.config), ...deployProblems(loaded.plan.config), ...await artifactUrlProblems(loaded.plan.config)];
    if (missing.length) throw new ConfigError(source, missing);
    return loaded;
  } catch (e) {
    // a RunError is printed without a stack trace: the message is the whole story
    if (e instanceof ConfigError) throw new pulumi.RunError(e.message);
    throw e;
  }
}

/** An on-demand instance's stack (`dhis2:onDemand`, made by `npm run instance`; docs/instances.md). */
async function loadInstance(project: Record<string, unknown>): Promise<OnDemandPlan> {
  try {
    const od = loadOnDemand(stack, project, process.cwd(), source, engineSecretSource(process.env.PULUMI_CONFIG_SECRET_KEYS));
    const missing = [...deployProblems(od.plan.config), ...await artifactUrlProblems(od.plan.config)];
    if (missing.length) throw new ConfigError(source, missing);
    return od;
  } catch (e) {
    if (e instanceof ConfigError) throw new pulumi.RunError(e.message);
    throw e;
  }
}

export = async () => {
  const raw = decodeEngineConfig(pulumi.runtime.allConfig());
  if (raw.project.onDemand !== undefined) {
    const od = await loadInstance(raw.project);
    const instance = new OnDemandInstance(od.spec.name, { onDemand: od });
    return {
      /** The instance's URL on the country's proxy. */
      url: instance.url,
      container: instance.container,
      address: instance.address,
      /** What it is: its country stack, source instance, version, size, seed and expiry. */
      onDemand: {
        from: od.spec.from, source: od.spec.source, version: od.instance.config.runtime.display,
        size: od.spec.sizeName, cpus: od.instance.node.budget.cpus, memoryMb: od.instance.node.budget.memoryMb, heapMb: od.instance.jvm.heapMb,
        seed: od.spec.seed, scrub: od.spec.scrub, created: od.spec.created, expires: od.spec.expires,
      },
    };
  }
  const { plan, cloud, warnings } = await load();
  for (const w of warnings) pulumi.log.warn(w);
  const deployment = new Dhis2Deployment("dhis2", { plan, cloud });
  return {
    /** Public URL of each DHIS2 instance. */
    urls: deployment.urls,
    /** Generated logins (secret): `pulumi stack output credentials --show-secrets`. */
    credentials: deployment.credentials,
    /** Where the backups are, their password, how to restore (secret): `pulumi stack output backup --show-secrets`. */
    backup: deployment.backup,
    /** Where each role runs. */
    machines: deployment.machines,
    /** The public IPv4 to point the DNS names at (hcloud, aws); empty on local and existing servers. */
    publicAddress: deployment.publicAddress,
    /** What the tracker search index step did, per instance. */
    searchIndexes: deployment.searchIndexes,
    /** The host verification of each node: CPUs, memory, dd latency, fio IOPS, CPU steal, and what is below its size. */
    hostChecks: deployment.hostChecks,
    /** Where each role runs and what it gets. */
    roles: [plan.topology.proxy, ...plan.topology.instances, plan.topology.database, plan.topology.monitor]
      .map((n) => ({ role: n.role, name: n.name, hostname: n.hostname, address: n.address, cpus: n.budget.cpus, memoryMb: n.budget.memoryMb })),
    /** PostgreSQL settings computed for the database's size. */
    postgresSettings: Object.fromEntries(plan.postgres.settings.map((s) => [s.name, s.value])),
    /** Per DHIS2 instance: URL, version, heap and connection pool. */
    instances: plan.instances.map((i) => ({
      name: i.config.name, url: i.config.baseUrl, version: i.config.runtime.display, heapMb: i.jvm.heapMb, poolMaxSize: i.jvm.poolMaxSize,
    })),
  };
};
