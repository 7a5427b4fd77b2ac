/**
 * Stack risks: what must not go out with `pulumi up`, checked on what the stack would deploy
 * (the rendered host firewalls, the cloud plan, the stack file's raw values). Pure; run by
 * `npm run check -- --stack NAME` before every change. Each risk names the stack key to look at.
 */
import type { Plan } from "../plan";
import type { HostPlan } from "../render/hosts";
import { PATHS } from "../render/paths";
import { ruleSources, type CloudPlan } from "./cloud";

export interface Risk {
  /** Short rule name (docs/security.md, "Guardrails"). */
  readonly rule: "open-to-the-internet" | "ssh-from-outside-admin-networks" | "public-address" | "self-signed-certificate" | "secret-in-plain-text";
  /** The stack key (or keys) that decide it. */
  readonly key: string;
  readonly message: string;
}

const WEB_PORTS = new Set([80, 443]);
const FACING = new Set(["proxy", "lxd-host"]);
const ANYWHERE = new Set(["0.0.0.0/0", "::/0"]);

/** `tcp dport N accept` rules of a rendered nftables file, with their source match ("" for anywhere). */
export function nftAcceptRules(text: string): { port: number; sources: string[]; line: string }[] {
  const out: { port: number; sources: string[]; line: string }[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const m = /tcp dport (\d+)\b.*\baccept\b/.exec(line);
    if (!m || /^#/.test(line)) continue;
    const src = /ip6? saddr \{([^}]*)\}/.exec(line);
    out.push({ port: Number(m[1]), sources: src ? src[1]!.split(",").map((s) => s.trim()).filter(Boolean) : [], line });
  }
  return out;
}

export function stackRisks(plan: Plan, hosts: readonly HostPlan[], cloud: CloudPlan | undefined, raw: Readonly<Record<string, unknown>>): Risk[] {
  const risks: Risk[] = [];
  const { config } = plan;
  const admin = new Set(config.admin.allowedCidrs);
  // 1, 2: host firewalls (every platform)
  for (const h of hosts) {
    const nft = h.files.find((f) => f.path === PATHS.nftables);
    for (const r of nft ? nftAcceptRules(nft.content) : []) {
      const open = r.sources.length === 0 || r.sources.some((s) => ANYWHERE.has(s));
      if (open && !(WEB_PORTS.has(r.port) && FACING.has(h.role))) {
        risks.push({ rule: "open-to-the-internet", key: "dhis2:platform, dhis2:isolation", message: `${h.host} (${h.role}): port ${r.port} accepts everyone (${r.line})` });
      }
      if (r.port === 22 && FACING.has(h.role) && (open || r.sources.some((s) => !admin.has(s)))) {
        risks.push({ rule: "ssh-from-outside-admin-networks", key: "dhis2:admin.allowedCidrs", message: `${h.host}: SSH from ${r.sources.join(", ") || "anywhere"}, not only ${[...admin].join(", ")}` });
      }
    }
  }
  // 1, 2, 3: cloud firewalls and addresses
  for (const s of cloud?.servers ?? []) {
    const facing = s.publicAddress;
    if (facing && s.name !== "proxy" && s.name !== "host") {
      risks.push({ rule: "public-address", key: "dhis2:isolation", message: `${s.name} gets a public address: only the proxy (or the LXD server) may` });
    }
    for (const r of s.rules) {
      const cidrs = ruleSources(r).flatMap((x) => ("cidr" in x ? [x.cidr] : []));
      if (cidrs.some((c) => ANYWHERE.has(c)) && !(WEB_PORTS.has(r.port) && facing)) {
        risks.push({ rule: "open-to-the-internet", key: "dhis2:platform", message: `cloud firewall of ${s.name}: port ${r.port} open to the internet (${r.purpose})` });
      }
      if (r.port === 22 && cidrs.some((c) => !admin.has(c))) {
        risks.push({ rule: "ssh-from-outside-admin-networks", key: "dhis2:admin.allowedCidrs", message: `cloud firewall of ${s.name}: SSH from ${cidrs.join(", ")}` });
      }
    }
  }
  // 5: a certificate browsers warn about, on a stack that is not this machine's test stack
  if (config.tls.mode === "self-signed" && !config.testStack) {
    risks.push({ rule: "self-signed-certificate", key: "dhis2:tls.mode", message: `tls.mode self-signed on a stack not marked as a test stack (platform ${config.platform}): users learn to click through certificate warnings; use letsencrypt or provided, or set dhis2:testStack: true for a test, training or demonstration stack` });
  }
  // 6: secrets must be set with `pulumi config set --secret` (encrypted in the stack file)
  const smtp = ((raw.alerts as Record<string, unknown> | undefined)?.smtp ?? {}) as Record<string, unknown>;
  for (const [key, value] of [["dhis2:alerts.smtp.password", smtp.password], ["dhis2:admin.privateKey", (raw.admin as Record<string, unknown> | undefined)?.privateKey]] as const) {
    if (typeof value === "string") risks.push({ rule: "secret-in-plain-text", key, message: `${key} is in plain text in the stack file: set it with \`pulumi config set --secret ${key.slice(6)}\`` });
  }
  return risks;
}
