/** Alerts by mail (recipients, the relay) and the monitoring options. */
import { DEFAULTS, glowrootArchiveUrl } from "../defaults";
import type { DeploymentConfig } from "../model";
import type { StackConfigInput } from "../schema";
import { NAMESPACE } from "../stack-file";
import type { PlatformChoice } from "./platform";
import { isPlaintext, type Problems, type SecretSource } from "./problems";

export function validateAlerts(c: StackConfigInput, { platform, rules }: PlatformChoice, domain: string | undefined, p: Problems, secrets?: SecretSource): DeploymentConfig["alerts"] {
  const recipients = c.alerts?.recipients ?? [];
  if (rules.alertsRequired && recipients.length === 0) p.add(["alerts", "recipients"], `needs at least one e-mail address for platform ${platform}: monitoring alerts must reach someone`);
  if (recipients.length > 0 && !c.alerts?.smtp) p.add(["alerts", "smtp"], "is required when alerts.recipients is set: a send-only mail setup delivers through a relay (most clouds block direct port 25)");
  const smtp = c.alerts?.smtp;
  if (smtp?.password !== undefined && smtp.username === undefined) p.add(["alerts", "smtp", "username"], "is required when alerts.smtp.password is set");
  if (smtp?.username !== undefined && smtp.password === undefined) p.add(["alerts", "smtp", "password"], "is required when alerts.smtp.username is set (set it with `pulumi config set --secret dhis2:alerts.smtp.password`)");
  if (smtp?.username !== undefined && smtp.security === "none") p.add(["alerts", "smtp", "security"], "must be starttls or tls when a username and password are sent: allowed: starttls, tls", "none");
  if (isPlaintext(smtp?.password, `${NAMESPACE}:alerts`, secrets)) {
    p.add(["alerts", "smtp", "password"], `is stored in plain text in the stack file: remove it and set it as a secret (pulumi prompts for it, so it stays off the command line): \`pulumi config set --path --secret ${NAMESPACE}:alerts.smtp.password\``);
  }
  return {
    recipients,
    from: c.alerts?.from ?? `dhis2-alerts@${domain}`,
    smtp: smtp && {
      host: smtp.host,
      port: smtp.port ?? DEFAULTS.smtpPort[smtp.security ?? "starttls"],
      security: smtp.security ?? "starttls",
      username: smtp.username,
      password: smtp.password === undefined
        ? undefined
        : { configKey: `${NAMESPACE}:alerts.smtp.password`, value: typeof smtp.password === "string" ? smtp.password : undefined },
    },
  };
}

export function validateMonitoring(c: StackConfigInput, p: Problems): DeploymentConfig["monitoring"] {
  const th = { ...DEFAULTS.thresholds, ...c.monitoring?.thresholds };
  if (th.diskWarningPercent >= th.diskCriticalPercent) p.add(["monitoring", "thresholds", "diskWarningPercent"], `must be below diskCriticalPercent (${th.diskCriticalPercent})`, th.diskWarningPercent);
  if (th.loadWarningPerCpu >= th.loadCriticalPerCpu) p.add(["monitoring", "thresholds", "loadWarningPerCpu"], `must be below loadCriticalPerCpu (${th.loadCriticalPerCpu})`, th.loadWarningPerCpu);
  if (th.certificateWarningDays <= th.certificateCriticalDays) p.add(["monitoring", "thresholds", "certificateWarningDays"], `must be above certificateCriticalDays (${th.certificateCriticalDays})`, th.certificateWarningDays);
  const glowrootVersion = c.monitoring?.glowrootVersion ?? DEFAULTS.glowrootVersion;
  return {
    glowroot: c.monitoring?.glowroot ?? true,
    glowrootVersion,
    glowrootArchive: c.monitoring?.glowrootArchive ?? glowrootArchiveUrl(glowrootVersion),
    thresholds: th,
  };
}
