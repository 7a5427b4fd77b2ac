/**
 * The maintenance window of a server (dhis2:maintenance.window): unattended-upgrades installs
 * security updates daily except the data path (PostgreSQL, Tomcat, the JDK), whose upgrades
 * restart the database or DHIS2; a timer upgrades those in the window. Templates: templates/host/.
 * On every platform (PLATFORM_RULES unattendedUpgrades): a local container lives as long as a server.
 */
import { PLATFORM_RULES } from "../../config/platforms";
import type { Plan } from "../../plan";
import { renderTemplate } from "../../render/engine";
import { file, type RenderedFile } from "../../render/file";
import { PATHS } from "../../render/paths";

/** Package name prefixes (regular expressions for unattended-upgrades and grep -E) of the data path. */
export const DATA_PATH_PACKAGES = ["postgresql-", "libpq5", "tomcat", "openjdk-"] as const;

const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] as const;

/** "Sun 03:00" → "Sun *-*-* 03:00:00"; "daily 03:00" → "*-*-* 03:00:00" (systemd OnCalendar). */
export function maintenanceCalendar(window: string): string {
  const [day, time] = window.split(" ");
  if (!time || !/^([01]\d|2[0-3]):[0-5]\d$/.test(time) || !(day === "daily" || (DAYS as readonly string[]).includes(day!))) {
    throw new Error(`not a maintenance window: ${window}`);
  }
  return `${day === "daily" ? "" : `${day} `}*-*-* ${time}:00`;
}

/** unattended-upgrades, in the host's package list (and so in its LXD package image), where the platform has it. */
export function maintenancePackages(plan: Plan): string[] {
  return PLATFORM_RULES[plan.config.platform].unattendedUpgrades ? ["unattended-upgrades"] : [];
}

export function maintenanceFiles(plan: Plan): RenderedFile[] {
  const { stack, maintenance } = plan.config;
  if (!PLATFORM_RULES[plan.config.platform].unattendedUpgrades) return [];
  const ctx = { stack, window: maintenance.window, dataPath: DATA_PATH_PACKAGES };
  return [
    file(PATHS.maintenanceApt, renderTemplate("host/maintenance-apt.conf.hbs", ctx), "0644", "root", "root"),
    file(PATHS.maintenance, renderTemplate("host/maintenance.sh.hbs", { ...ctx, statusCommand: PATHS.status }), "0755", "root", "root"),
    file(PATHS.maintenanceService, renderTemplate("host/maintenance.service.hbs", { stack, command: PATHS.maintenance }), "0644", "root", "root", "systemctl daemon-reload"),
    file(PATHS.maintenanceTimer, renderTemplate("host/maintenance.timer.hbs", { ...ctx, onCalendar: maintenanceCalendar(maintenance.window) }),
      "0644", "root", "root", "systemctl daemon-reload && systemctl enable --now dhis2-maintenance.timer"),
  ];
}
