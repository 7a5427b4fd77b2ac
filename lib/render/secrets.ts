/**
 * The secrets a deployment's files hold, and how they get in.
 *
 * Everything is rendered once, with placeholders: `npm run render` shows them as they are (they
 * say where the real value comes from); `pulumi up` fills the real values into the files and
 * steps marked secret, inside a secret Output (fillSecrets), so a real value never exists outside
 * Pulumi's secret handling. Placeholders are unique texts that no template changes: the templates
 * put secrets in verbatim, and the generated secrets are letters and digits only, so that they
 * are also valid inside the SQL string literals of the database step.
 */
import type { Plan } from "../plan";
import { renderTemplate } from "./engine";

export interface DeploymentSecrets {
  /** Database password per instance name. */
  readonly databasePasswords: Readonly<Record<string, string>>;
  /** DHIS2 encryption.password per instance name. */
  readonly encryptionPasswords: Readonly<Record<string, string>>;
  /** One htpasswd line ("user:hash") for /munin and /glowroot. */
  readonly monitoringHtpasswd: string;
  /** SMTP relay password (alerts.smtp.password), when the relay needs a login. */
  readonly smtpPassword?: string;
  /** The password of the backups' restic repositories (one for the deployment). */
  readonly backupPassword: string;
  /** The off-site object store's secret key (backup.offsite.secretAccessKey), when set. */
  readonly offsiteSecretAccessKey?: string;
}

/** Placeholders shown by `npm run render`: they say where the real value comes from. */
export function placeholderSecrets(plan: Plan): DeploymentSecrets {
  const byInstance = (what: string) =>
    Object.fromEntries(plan.instances.map((i) => [i.config.name, `<secret: ${what} of ${i.config.name}, generated at deploy; see pulumi stack output --show-secrets>`]));
  return {
    databasePasswords: byInstance("database password"),
    encryptionPasswords: byInstance("encryption password"),
    monitoringHtpasswd: "monitoring:<secret: password hash, generated at deploy>",
    smtpPassword: plan.config.alerts.smtp?.password ? "<secret: dhis2:alerts.smtp.password>" : undefined,
    backupPassword: "<secret: backup repository password, generated at deploy; see pulumi stack output --show-secrets backup>",
    offsiteSecretAccessKey: plan.config.backup.offsite ? "<secret: dhis2:backup.offsite.secretAccessKey>" : undefined,
  };
}

/** Pairs of (placeholder, real value) of two secret sets. */
function pairs(placeholders: DeploymentSecrets, real: DeploymentSecrets): [string, string][] {
  const out: [string, string][] = [];
  for (const field of ["databasePasswords", "encryptionPasswords"] as const) {
    for (const [name, placeholder] of Object.entries(placeholders[field])) {
      const value = real[field][name];
      if (value === undefined) throw new Error(`no ${field} value for ${name}`);
      out.push([placeholder, value]);
    }
  }
  out.push([placeholders.monitoringHtpasswd, real.monitoringHtpasswd]);
  if (placeholders.smtpPassword !== undefined) {
    if (real.smtpPassword === undefined) throw new Error("no SMTP relay password");
    out.push([placeholders.smtpPassword, real.smtpPassword]);
  }
  out.push([placeholders.backupPassword, real.backupPassword]);
  if (placeholders.offsiteSecretAccessKey !== undefined) {
    if (real.offsiteSecretAccessKey === undefined) throw new Error("no off-site secret access key");
    out.push([placeholders.offsiteSecretAccessKey, real.offsiteSecretAccessKey]);
  }
  return out;
}

/** A text rendered with placeholders, with the real secrets in their places. */
export function fillSecrets(text: string, placeholders: DeploymentSecrets, real: DeploymentSecrets): string {
  let out = text;
  for (const [placeholder, value] of pairs(placeholders, real)) out = out.split(placeholder).join(value);
  return out;
}

const USER_RE = /^[a-z][a-z0-9_-]{0,31}$/;

/** The command that makes an htpasswd line (SHA-512 crypt) for `user` of the password on its stdin (templates/secrets/). */
export function htpasswdCommand(user: string): string {
  if (!USER_RE.test(user)) throw new Error(`bad user name ${user}`);
  return renderTemplate("secrets/htpasswd.sh.hbs", { user }).trimEnd();
}
