/** The stack's `credentials` output: the monitoring login and where it opens, each instance's database login. */
import type { Plan } from "../plan";
import { glowrootPath, MONITORING_USER } from "./paths";

export interface DeploymentCredentials {
  readonly monitoring: { readonly user: string; readonly password: string; readonly urls: string[] };
  readonly databases: Record<string, { readonly database: string; readonly user: string; readonly password: string }>;
}

export function deploymentCredentials(plan: Plan, monitoringPassword: string, databasePasswords: Record<string, string>): DeploymentCredentials {
  const base = `https://${plan.config.domain}`;
  const glowroots = plan.config.monitoring.glowroot ? plan.instances.map((i) => `${base}${glowrootPath(i.config.name)}/`) : [];
  return {
    monitoring: { user: MONITORING_USER, password: monitoringPassword, urls: [`${base}/munin/`, ...glowroots] },
    databases: Object.fromEntries(plan.instances.map((i) => [i.config.name, { database: i.database, user: i.databaseUser, password: databasePasswords[i.config.name]! }])),
  };
}
