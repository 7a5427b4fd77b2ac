/** dhis2:backup: the schedule, retention, alert age and off-site copy of the backups (docs/backups.md). */
import { DEFAULTS } from "../defaults";
import type { DeploymentConfig } from "../model";
import type { StackConfigInput } from "../schema";
import { NAMESPACE } from "../stack-file";
import type { PlatformChoice } from "./platform";
import type { Problems } from "./problems";

export function validateBackup(c: StackConfigInput, { rules }: PlatformChoice, p: Problems): DeploymentConfig["backup"] {
  const b = c.backup;
  const retention = { ...DEFAULTS.backup.retention, ...b?.retention };
  const enabled = b?.enabled ?? true;
  if (retention.daily + retention.weekly + retention.monthly === 0) {
    p.add(["backup", "retention", "daily"], "must keep at least one backup: daily, weekly and monthly are all 0", retention.daily);
  }
  const maxAgeHours = b?.maxAgeHours ?? DEFAULTS.backup.maxAgeHours;
  const offsite = b?.offsite;
  if (!enabled) p.warn(`${NAMESPACE}:backup.enabled is false: nothing of this stack is backed up; a lost server loses its data.`);
  // (servers only: a local stack's containers are this machine's)
  else if (!offsite && rules.ssh) p.warn(`${NAMESPACE}:backup.offsite is not set: the backups stay on the servers they protect; a lost database server loses its backups too (docs/backups.md).`);
  if (offsite && typeof offsite.secretAccessKey === "string" && rules.ssh) {
    p.warn(`${NAMESPACE}:backup.offsite.secretAccessKey is stored in plain text in the stack file: set it with \`pulumi config set --path --secret ${NAMESPACE}:backup.offsite.secretAccessKey\` instead.`);
  }
  return {
    enabled,
    schedule: b?.schedule ?? DEFAULTS.backup.schedule,
    retention,
    maxAgeHours,
    offsite: offsite && {
      repository: offsite.repository,
      accessKeyId: offsite.accessKeyId,
      secretAccessKey: {
        configKey: `${NAMESPACE}:backup.offsite.secretAccessKey`,
        value: typeof offsite.secretAccessKey === "string" ? offsite.secretAccessKey : undefined,
      },
    },
  };
}
