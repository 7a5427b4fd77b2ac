/**
 * One entry point for both `npm run render` and the Pulumi program, above the layers it uses:
 * raw stack config → validated config (lib/config) → plan (lib/plan) → cloud plan
 * (lib/platform), or a ConfigError listing every problem before anything is touched.
 */
import { ConfigError } from "./config/model";
import { readStackFile, stackFilePath } from "./config/stack-file";
import { validateStackConfig } from "./config/validate";
import type { SecretSource } from "./config/validate/problems";
import { buildPlan, type Plan } from "./plan";
import { machineWarnings } from "./plan/machines";
import { planCloud, type CloudPlan } from "./platform/cloud";

export interface LoadedDeployment {
  readonly plan: Plan;
  /** hcloud, aws: the servers, network, firewalls and volumes. */
  readonly cloud?: CloudPlan;
  readonly warnings: readonly string[];
}

/**
 * Validate and plan; throws ConfigError with every problem. `source` names the file or stack in the
 * message; `secrets` says how to tell plain-text secrets (refused) from real ones.
 */
export function loadDeployment(stack: string, raw: Record<string, unknown>, source: string, secrets?: SecretSource): LoadedDeployment {
  const v = validateStackConfig(stack, raw, secrets);
  if (!v.config) throw new ConfigError(source, v.problems);
  const p = buildPlan(v.config);
  if (!p.plan) throw new ConfigError(source, p.problems);
  // clouds: every role must get a server type of the table (or the one the stack names)
  const c = planCloud(p.plan);
  if (c.problems.length) throw new ConfigError(source, c.problems);
  const warnings = [...v.warnings, ...machineWarnings(p.plan.machines)];
  for (const s of c.cloud?.servers ?? []) {
    if (s.choice.unknownOverride) warnings.push(`serverType ${s.choice.type.name} of ${s.name} is not in the toolkit's ${c.cloud!.cloud} table (lib/plan/server-types.ts): its CPUs and memory are not checked against the plan`);
  }
  return { plan: p.plan, cloud: c.cloud, warnings };
}

/** Read stacks/Pulumi.<stack>.yaml under projectDir and load it. */
export function loadStackFile(projectDir: string, stack: string): LoadedDeployment {
  const file = stackFilePath(projectDir, stack);
  return loadDeployment(stack, readStackFile(file).project, file, { kind: "file" });
}
