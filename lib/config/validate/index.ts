/**
 * Validation and defaults: raw stack config → DeploymentConfig, or every problem at once.
 *
 * Pure: no file system, no network, no Pulumi. The shape comes from ../schema.ts (zod); each
 * section of the file has its own checks here, and what each platform allows is ../platforms.ts.
 * Sizing problems (containers that do not fit the host, a heap larger than the instance) are
 * found by the plan (lib/plan) and reported the same way.
 */
import { DEFAULTS } from "../defaults";
import type { ConfigProblem, DeploymentConfig } from "../model";
import { stackConfig } from "../schema";
import { validateAdmin, validatePlacement, validateTls } from "./access";
import { validateAlerts, validateMonitoring } from "./alerts";
import { validateBackup } from "./backup";
import { validateGenerated } from "./generated";
import { validateInstances } from "./instances";
import { checkCloudImage, roleSystems, validateOs, validateSources, warnEndOfLife } from "./os";
import { validateLxd, validatePlatform } from "./platform";
import { validatePostgres } from "./postgres";
import { Problems, zodProblems, type SecretSource } from "./problems";
import { validateSizes } from "./sizes";

export interface ValidationResult {
  readonly config?: DeploymentConfig;
  readonly problems: readonly ConfigProblem[];
  readonly warnings: readonly string[];
}

/**
 * Validate a raw stack config (the `dhis2:` keys, prefix removed) and apply defaults.
 * Returns every problem found; `config` is set only when there are none.
 */
export function validateStackConfig(stack: string, raw: Record<string, unknown>, secrets?: SecretSource): ValidationResult {
  const parsed = stackConfig.safeParse(raw, { reportInput: true });
  if (!parsed.success) return { problems: zodProblems(parsed.error), warnings: [] };
  const c = parsed.data;
  const p = new Problems();
  const choice = validatePlatform(c, p);
  const oses = validateOs(c, choice, p);
  const { os: databaseOs, ...postgres } = validatePostgres(c, oses, p);
  const sizes = validateSizes(c, choice, p);
  const instances = validateInstances(c, choice, oses, postgres.version, sizes, p);
  const os = roleSystems(oses, databaseOs);
  const systems = [os.proxy, os.database, os.monitor, ...instances.map((i) => i.os)];
  warnEndOfLife(systems, p);
  checkCloudImage(c, systems, p);
  const tls = validateTls(c, choice, p);
  const admin = validateAdmin(c, choice, p, secrets);
  const alerts = validateAlerts(c, choice, choice.domain, p, secrets);
  const monitoring = validateMonitoring(c, p);
  const lxd = validateLxd(c, choice, p);
  const backup = validateBackup(c, choice, p);
  const generated = validateGenerated(stack, c, instances.map((x) => x.name), p, secrets);
  validatePlacement(c, choice, instances.map((x) => x.name), p);

  if (p.problems.length > 0) return { problems: p.problems, warnings: p.warnings };
  return {
    problems: p.problems,
    warnings: p.warnings,
    config: {
      stack,
      platform: choice.platform,
      isolation: choice.isolation,
      domain: choice.domain!,
      testStack: c.testStack ?? false,
      networkCidr: choice.networkCidr,
      postgres,
      os,
      sources: validateSources(c),
      sizes: { host: sizes.host, proxy: sizes.proxy, database: sizes.database, monitor: sizes.monitor },
      instances,
      maintenance: { window: c.maintenance?.window ?? DEFAULTS.maintenanceWindow },
      proxy: {
        analyticsRatePerSecond: c.proxy?.analyticsRatePerSecond ?? DEFAULTS.analyticsRatePerSecond,
        analyticsBurst: c.proxy?.analyticsBurst ?? DEFAULTS.analyticsBurst,
      },
      tls,
      admin,
      alerts,
      monitoring,
      backup,
      generated,
      servers: c.servers,
      cloud: { location: c.cloud?.location, image: c.cloud?.image },
      lxd,
      checkUrls: c.checkUrls ?? true,
      hostCheck: { strict: c.hostCheck?.strict ?? false },
    },
  };
}
