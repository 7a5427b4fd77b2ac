/**
 * Role `common`: what every node of the deployment gets besides its own role — the host firewall
 * (the flows into it, nothing else), munin-node answering only the monitor, a send-only postfix
 * with the `mail` command the alerts use, and the host hardening (./hardening.ts); and the flows every node needs: the munin
 * master polling it, and admin SSH (on servers: to the proxy from the admins' networks, to every
 * other server through the proxy).
 */
import { maintenanceFiles, maintenancePackages } from "./maintenance";
import { allNodes, hostCidr, PORTS } from "../../plan/topology";
import { file, type RenderedFile } from "../../render/file";
import { PATHS } from "../../render/paths";
import { renderTemplate } from "../../render/engine";
import { flow, fromNode } from "../flows";
import { NOTHING, type Flow, type Role, type RoleContext } from "../types";
import type { DeploymentSecrets } from "../../render/secrets";
import { nodeFirewall } from "./firewall";
import { isSshServer, sshdDropIn } from "./ssh";
import { HARDENING_PACKAGES, hardeningFiles, hardeningSetup } from "./hardening";

/** Packages every host gets: host firewall, munin-node, send-only postfix with a mail command. */
export const COMMON_PACKAGES = [
  "nftables",
  "munin-node",
  "libnet-cidr-perl", // munin-node's cidr_allow
  "postfix",
  "bsd-mailx", // the `mail` command munin's alerts use
  "ca-certificates",
  "curl",
] as const;

/** The relay as postfix writes it, [host]:port, or "" for direct delivery. */
function relayOf(ctx: RoleContext): string {
  const smtp = ctx.plan.config.alerts.smtp;
  return smtp ? `[${smtp.host}]:${smtp.port}` : "";
}

function files(ctx: RoleContext, secrets: DeploymentSecrets): RenderedFile[] {
  const { plan, node } = ctx;
  const { config, topology } = plan;
  const smtp = config.alerts.smtp;
  const relay = relayOf(ctx);
  const th = config.monitoring.thresholds;
  const out: RenderedFile[] = [
    file(PATHS.nftables, nodeFirewall(plan, node, ctx.flows), "0755", "root", "root", "nft -f /etc/nftables.conf"),
    file(PATHS.muninNodeConf, renderTemplate("common/munin-node.conf.hbs", {
      stack: config.stack,
      hostname: node.hostname,
      monitorAddress: topology.monitor.address,
      allow: ["127\\.0\\.0\\.1", topology.monitor.address.replace(/\./g, "\\.")],
      cidrAllow: [hostCidr(topology.monitor.address)],
      listenAddress: node.address,
      port: PORTS.muninNode,
    }), "0644", "root", "root", "systemctl restart munin-node"),
    file(PATHS.muninPluginConf, renderTemplate("common/munin-plugins.conf.hbs", {
      stack: config.stack,
      role: node.role,
      hostname: node.hostname,
      diskWarning: th.diskWarningPercent,
      diskCritical: th.diskCriticalPercent,
      sections: ctx.muninSections,
    }), "0644", "root", "root", "systemctl restart munin-node"),
    file(`${PATHS.postfixDir}/main.cf`, renderTemplate("common/main.cf.hbs", {
      stack: config.stack,
      hostname: node.hostname,
      domain: config.domain,
      relay,
      from: config.alerts.from,
      security: smtp?.security ?? "none",
      auth: Boolean(smtp?.username),
    }), "0644", "root", "root", "systemctl reload postfix"),
    file(`${PATHS.postfixDir}/master.cf`, renderTemplate("common/master.cf.hbs", { stack: config.stack }), "0644", "root", "root", "systemctl restart postfix"),
    file(`${PATHS.postfixDir}/virtual_alias`, renderTemplate("common/virtual_alias.hbs", {
      stack: config.stack, recipients: config.alerts.recipients, domain: config.domain,
    }), "0644", "root", "root", "systemctl reload postfix"),
    file(PATHS.alertTest, renderTemplate("common/alert-test.sh.hbs", {
      stack: config.stack, relay: relay || "(none: direct delivery)", recipients: config.alerts.recipients.length ? config.alerts.recipients : ["root"],
    }), "0755", "root", "root"),
  ];
  // the health check of the node, and its timer that mails when something stops or comes back
  out.push(
    file(PATHS.status, renderTemplate("host/status.sh.hbs", {
      stack: config.stack, hostname: node.hostname, role: node.role, checks: ctx.statusChecks,
      recipients: config.alerts.recipients.length ? config.alerts.recipients : ["root"],
    }), "0755", "root", "root"),
    file(PATHS.statusService, renderTemplate("host/status.service.hbs", { stack: config.stack, statusCommand: PATHS.status }), "0644", "root", "root", "systemctl daemon-reload"),
    file(PATHS.statusTimer, renderTemplate("host/status.timer.hbs", { stack: config.stack }), "0644", "root", "root", "systemctl daemon-reload && systemctl restart dhis2-status.timer"),
  );
  out.push(...maintenanceFiles(plan));
  out.push(...hardeningFiles(plan, node));
  if (isSshServer(plan, node)) out.push(sshdDropIn(plan, node));
  if (smtp?.username) {
    out.push(file(`${PATHS.postfixDir}/sasl_passwd`, renderTemplate("common/sasl_passwd.hbs", {
      relay, username: smtp.username, password: secrets.smtpPassword ?? "",
    }), "0600", "root", "root", "systemctl reload postfix", true));
  }
  return out;
}

export const common: Role = {
  ...NOTHING,
  name: "common",
  packages: ({ plan }) => [...COMMON_PACKAGES, ...HARDENING_PACKAGES, ...maintenancePackages(plan)],
  files,
  setup: ({ plan }) => ({ section: hardeningSetup(plan) }),
  services: () => ["munin-node", "postfix", "dhis2-status.timer"],
  statusChecks: ({ plan }) => [
    "check_firewall",
    "check_service munin-node",
    "check_service postfix",
    `check_disk / ${plan.config.monitoring.thresholds.diskWarningPercent} ${plan.config.monitoring.thresholds.diskCriticalPercent}`,
  ],
  flows(plan): Flow[] {
    const { config, topology } = plan;
    const nodes = allNodes(topology);
    const out = nodes.map((n) => flow(fromNode(topology.monitor), n, PORTS.muninNode, "munin master polls munin-node"));
    if (config.isolation === "vm" && config.platform !== "local") {
      // SSH: admins reach the proxy only; the proxy is the bastion for every other server
      out.push(flow({ kind: "admin" }, topology.proxy, PORTS.ssh, "admin SSH (bastion)"));
      for (const n of nodes.filter((x) => x.role !== "proxy")) out.push(flow(fromNode(topology.proxy), n, PORTS.ssh, "admin SSH through the bastion"));
    }
    return out;
  },
};
