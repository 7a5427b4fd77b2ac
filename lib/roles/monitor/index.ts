/**
 * Role `monitor`: the munin master polling every node's munin-node, its alert contacts (mail
 * through the send-only postfix), and the munin pages on a small nginx that only the proxy
 * reaches (behind the proxy's login). Templates: templates/monitor/.
 */
import { allNodes, PORTS } from "../../plan/topology";
import { renderTemplate } from "../../render/engine";
import { file, type RenderedFile } from "../../render/file";
import { PATHS } from "../../render/paths";
import { flow, fromNode } from "../flows";
import { NOTHING, type Role, type RoleContext } from "../types";

function files({ plan }: RoleContext): RenderedFile[] {
  const { config, topology } = plan;
  const th = config.monitoring.thresholds;
  const nodes = allNodes(topology).map((n) => ({
    hostname: n.hostname,
    address: n.address,
    loadWarning: +(th.loadWarningPerCpu * Math.max(1, n.budget.cpus)).toFixed(2),
    loadCritical: +(th.loadCriticalPerCpu * Math.max(1, n.budget.cpus)).toFixed(2),
  }));
  return [
    file(PATHS.muninConf, renderTemplate("monitor/munin.conf.hbs", {
      stack: config.stack,
      group: config.domain,
      contacts: config.alerts.recipients.map((address, i) => ({ name: `admin${i + 1}`, address })),
      nodes,
      reminderFile: PATHS.muninReminder,
    }), "0644", "root", "root"),
    file(PATHS.muninReminder, renderTemplate("monitor/munin-reminder.cron.hbs", {
      stack: config.stack, minute: 2, hour: 7, limits: PATHS.muninLimits,
    }), "0644", "root", "root"),
    file(PATHS.nginxConf, renderTemplate("common/nginx.conf.hbs", { stack: config.stack, role: "monitor", hostname: topology.monitor.hostname, workerProcesses: 1 }), "0644", "root", "root", "systemctl reload nginx"),
    file(`${PATHS.nginxSites}/munin.conf`, renderTemplate("monitor/munin-web.conf.hbs", {
      stack: config.stack, address: topology.monitor.address, port: PORTS.muninWeb, hostname: topology.monitor.hostname, proxyAddress: topology.proxy.address,
    }), "0644", "root", "root", "systemctl reload nginx"),
  ];
}

export const monitor: Role = {
  ...NOTHING,
  name: "monitor",
  packages: () => ["munin", "nginx", "cron"],
  files,
  setup: () => ({ nginx: true }),
  services: () => ["nginx"],
  // munin's cron job updates its data every 5 minutes
  statusChecks: () => ["check_service nginx", "check_age munin-update /var/lib/munin/datafile 15 \"munin's last update\""],
  // the monitor makes its first graphs and pages at once (waiting for munin's own cron job if it runs)
  startChecks: ({ node }) => [
    "nginx -t -q",
    renderTemplate("monitor/first-run.sh.hbs", { hostname: node.hostname, lock: PATHS.muninUpdateLock, command: PATHS.muninCron }).trimEnd(),
  ],
  flows: ({ topology }) => [flow(fromNode(topology.proxy), topology.monitor, PORTS.muninWeb, "munin pages behind the proxy")],
};
