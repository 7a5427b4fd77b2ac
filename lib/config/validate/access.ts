/** TLS, the admins' SSH access, the servers handed over (platform existing), cloud placement. */
import { DEFAULTS } from "../defaults";
import type { DeploymentConfig } from "../model";
import type { ServerInput, StackConfigInput } from "../schema";
import { NAMESPACE } from "../stack-file";
import type { PlatformChoice } from "./platform";
import { isPlaintext, type KeyPath, type Problems, type SecretSource } from "./problems";

export function validateTls(c: StackConfigInput, { rules }: PlatformChoice, p: Problems): DeploymentConfig["tls"] {
  const mode = c.tls?.mode ?? rules.tlsModes[0]!;
  if (!rules.tlsModes.includes(mode)) p.add(["tls", "mode"], `${rules.tlsWhy}: allowed: ${rules.tlsModes.join(", ")}`, mode);
  const email = c.tls?.email ?? c.alerts?.recipients?.[0];
  if (mode === "letsencrypt" && !email) p.add(["tls", "email"], "is required for tls.mode letsencrypt (the ACME account address for expiry notices), or set alerts.recipients");
  if (mode === "provided") {
    if (!c.tls?.certificateFile) p.add(["tls", "certificateFile"], "is required for tls.mode provided: absolute path of the PEM certificate chain");
    if (!c.tls?.keyFile) p.add(["tls", "keyFile"], "is required for tls.mode provided: absolute path of the PEM private key");
  } else {
    if (c.tls?.certificateFile) p.add(["tls", "certificateFile"], `applies to tls.mode provided only (mode is ${mode})`, c.tls.certificateFile);
    if (c.tls?.keyFile) p.add(["tls", "keyFile"], `applies to tls.mode provided only (mode is ${mode})`, c.tls.keyFile);
  }
  return { mode, email, certificateFile: c.tls?.certificateFile, keyFile: c.tls?.keyFile };
}

export function validateAdmin(c: StackConfigInput, { platform, rules }: PlatformChoice, p: Problems, secrets?: SecretSource): DeploymentConfig["admin"] {
  const sshKeys = c.admin?.sshKeys ?? [];
  const allowedCidrs = c.admin?.allowedCidrs ?? [];
  if (rules.ssh && sshKeys.length === 0) p.add(["admin", "sshKeys"], `needs at least one public key for platform ${platform}: servers accept SSH keys only, no passwords`);
  if (rules.ssh && allowedCidrs.length === 0) p.add(["admin", "allowedCidrs"], `needs at least one CIDR for platform ${platform}: SSH is open only to these networks (e.g. the ministry's office range)`);
  if (!rules.ssh && c.admin?.privateKey !== undefined) p.add(["admin", "privateKey"], `applies to platforms that reach servers over SSH (existing, hcloud, aws), not ${platform}`);
  if (isPlaintext(c.admin?.privateKey, `${NAMESPACE}:admin`, secrets)) {
    p.add(["admin", "privateKey"], `is stored in plain text in the stack file: remove it and set it as a secret, read from the key file: \`pulumi config set --path --secret ${NAMESPACE}:admin.privateKey < ~/.ssh/id_ed25519\``);
  }
  allowedCidrs.forEach((cidr, i) => {
    if (/\/0$/.test(cidr)) p.add(["admin", "allowedCidrs", i], "would open SSH to the whole internet: list the networks administrators connect from", cidr);
  });
  return {
    user: c.admin?.user ?? DEFAULTS.adminUser,
    sshKeys,
    allowedCidrs,
    privateKey: c.admin?.privateKey === undefined ? undefined
      : { configKey: `${NAMESPACE}:admin.privateKey`, value: typeof c.admin.privateKey === "string" ? c.admin.privateKey : undefined },
  };
}

/** dhis2:servers (platform existing) and dhis2:cloud (hcloud, aws). */
export function validatePlacement(c: StackConfigInput, { platform, isolation, rules }: PlatformChoice, instanceNames: readonly string[], p: Problems): void {
  checkServers(c, platform, isolation, rules.handedOver, instanceNames, p);
  if (c.cloud && !rules.serverTypes) p.add(["cloud"], `applies to platforms hcloud and aws only, not ${platform}`, c.cloud);
}

function checkServers(c: StackConfigInput, platform: string, isolation: "lxd" | "vm", handedOver: boolean, instanceNames: readonly string[], p: Problems): void {
  const s = c.servers;
  if (!handedOver) {
    if (s) p.add(["servers"], `applies to platform existing only (platform is ${platform}: the toolkit creates the servers)`, Object.keys(s));
    return;
  }
  if (!s) {
    p.add(["servers"], isolation === "lxd"
      ? "is required for platform existing with isolation lxd: servers.host = { address } of the server that runs LXD"
      : "is required for platform existing: servers.proxy, servers.database, servers.monitor and servers.instances.<name> = { address }");
    return;
  }
  if (isolation === "lxd") {
    if (!s.host) p.add(["servers", "host"], "is required for isolation lxd: the server that runs every container");
    for (const role of ["proxy", "database", "monitor", "instances"] as const) {
      if (s[role]) p.add(["servers", role], "applies to isolation vm only (with lxd, every role runs in a container on servers.host)");
    }
    return;
  }
  if (s.host) p.add(["servers", "host"], "applies to isolation lxd only; with isolation vm list servers.proxy, servers.database, servers.monitor, servers.instances");
  for (const role of ["proxy", "database", "monitor"] as const) {
    if (!s[role]) p.add(["servers", role], `is required for platform existing with isolation vm: { address: <IP>, user: <ssh user> }`);
  }
  for (const name of instanceNames) {
    if (!s.instances?.[name]) p.add(["servers", "instances", name], `is required: the server for DHIS2 instance "${name}"`);
  }
  for (const name of Object.keys(s.instances ?? {})) {
    if (!instanceNames.includes(name)) p.add(["servers", "instances", name], `names no instance: instances are ${instanceNames.join(", ") || "(none)"}`);
  }
  const all: [KeyPath, ServerInput | undefined][] = [
    [["servers", "proxy"], s.proxy], [["servers", "database"], s.database], [["servers", "monitor"], s.monitor],
    ...Object.entries(s.instances ?? {}).map(([n, v]) => [["servers", "instances", n], v] as [KeyPath, ServerInput]),
  ];
  const seen = new Map<string, string>();
  const seenPrivate = new Map<string, string>();
  for (const [path, server] of all) {
    if (!server) continue;
    const name = path.join(".");
    if (seen.has(server.address)) p.add([...path, "address"], `uses the same address as ${seen.get(server.address)}: isolation vm needs a server per role`, server.address);
    else seen.set(server.address, name);
    // the private address (default: address) is what the firewalls and the other roles use
    const priv = server.privateAddress ?? server.address;
    const other = seenPrivate.get(priv);
    if (other !== undefined && other !== seen.get(server.address)) {
      p.add([...path, server.privateAddress ? "privateAddress" : "address"], `is also the private address of ${other}: isolation vm needs a server per role`, priv);
    } else if (other === undefined) seenPrivate.set(priv, name);
  }
}
