/** Stack configurations for tests: plain objects of the `dhis2:` keys, as a stack file holds them. */
import { loadDeployment, type LoadedDeployment } from "../../lib/load";
import { generatedSecretSpecs } from "../../lib/config/generated";
import type { Plan } from "../../lib/plan";

export const SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHJ0d3Bvb2xleGFtcGxla2V5Zm9yZG9jc29ubHkx admin@example.org";

/** An hcloud stack in the given isolation, host/database size as given. */
export function cloudStack(opts: { isolation: "lxd" | "vm"; cpus: number; memoryGb: number; disk?: "ssd" | "nvme" | "hdd"; instances?: number }): Record<string, unknown> {
  const size = { cpus: opts.cpus, memoryGb: opts.memoryGb, disk: opts.disk ?? "ssd", diskGb: 200 };
  const names = ["production", "staging", "training", "test4", "test5", "test6"].slice(0, opts.instances ?? 1);
  return {
    platform: "hcloud",
    isolation: opts.isolation,
    domain: "dhis2.example.org",
    sizes: opts.isolation === "lxd" ? { host: size } : { database: size, instance: { cpus: opts.cpus, memoryGb: opts.memoryGb } },
    instances: names.map((name, i) => ({ name, version: "2.42.1", path: i === 0 ? "/" : `/${name}` })),
    admin: { sshKeys: [SSH_KEY], allowedCidrs: ["196.12.4.0/24"] },
    alerts: { recipients: ["ops@example.org"], smtp: { host: "smtp.example.org" } },
  };
}

/**
 * The same on handed-over servers (platform existing): the plan is tuned to the declared sizes,
 * where a cloud stack is tuned to the server type the sizes buy (lib/plan/machines.ts).
 */
export function declaredStack(opts: Parameters<typeof cloudStack>[0]): Record<string, unknown> {
  const raw = cloudStack(opts);
  const names = (raw.instances as { name: string }[]).map((i) => i.name);
  const servers = opts.isolation === "lxd"
    ? { host: { address: "10.10.20.5" } }
    : { proxy: { address: "10.10.20.2" }, database: { address: "10.10.20.20" }, monitor: { address: "10.10.20.30" }, instances: Object.fromEntries(names.map((n, i) => [n, { address: `10.10.20.${11 + i}` }])) };
  return { ...raw, platform: "existing", ...(opts.isolation === "lxd" ? { network: { cidr: "10.10.20.0/24" } } : {}), servers };
}

export function load(raw: Record<string, unknown>, stack = "test"): LoadedDeployment {
  return loadDeployment(stack, raw, `stack ${stack}`);
}

/**
 * The plan with every generated secret in its config, as `pulumi up` gets it after
 * `npm run secrets`: each value says whose it is (e.g. "UnitProductionDatabasePasswordValue").
 */
export function withGeneratedSecrets(plan: Plan): Plan {
  const value = (name: string) => `Unit${name.split("-").map((w) => w[0]!.toUpperCase() + w.slice(1)).join("")}Value`;
  const generated = Object.fromEntries(generatedSecretSpecs(plan.instances.map((i) => i.config.name))
    .map((s) => [s.name, { configKey: `dhis2:generated.${s.name}`, value: value(s.name) }]));
  return { ...plan, config: { ...plan.config, generated } };
}
