/**
 * Guardrails before `pulumi up` (npm run check, lib/platform/risks.ts): the example stacks have no
 * risks, and each rule fires on a stack (or a rendered result) that breaks it.
 */
import test from "ava";
import * as path from "node:path";
import { readStackFile, stackFilePath } from "../lib/config/stack-file";
import { loadStackFile } from "../lib/load";
import type { CloudPlan } from "../lib/platform/cloud";
import { stackRisks } from "../lib/platform/risks";
import { renderDeployment, type HostPlan } from "../lib/render/hosts";
import { PATHS } from "../lib/render/paths";
import { placeholderSecrets } from "../lib/render/secrets";
import { cloudStack, load } from "./support/stacks";

const ROOT = path.resolve(__dirname, "..");
const hostsOf = (plan: ReturnType<typeof load>["plan"]) => renderDeployment(plan, { secrets: placeholderSecrets(plan) });

for (const stack of ["local", "example-existing", "example-hcloud", "example-aws"]) {
  test(`npm run check: no risks in stacks/Pulumi.${stack}.yaml`, (t) => {
    const loaded = loadStackFile(ROOT, stack);
    const raw = readStackFile(stackFilePath(ROOT, stack)).project;
    t.deepEqual(stackRisks(loaded.plan, hostsOf(loaded.plan), loaded.cloud, raw), []);
  });
}

/** A cloud stack (vm isolation) and what it would deploy. */
function cloudCase(extra: Record<string, unknown> = {}) {
  const raw = { ...cloudStack({ isolation: "vm", cpus: 8, memoryGb: 16 }), ...extra };
  const loaded = load(raw);
  return { raw, plan: loaded.plan, cloud: loaded.cloud!, hosts: hostsOf(loaded.plan) };
}

/** The hosts with one host's firewall text changed. */
function withFirewall(hosts: readonly HostPlan[], role: string, change: (text: string) => string): HostPlan[] {
  return hosts.map((h) => h.role !== role ? h : { ...h, files: h.files.map((f) => f.path === PATHS.nftables ? { ...f, content: change(f.content) } : f) });
}

test("open-to-the-internet fires for a database port without source restriction (host firewall and cloud firewall)", (t) => {
  const c = cloudCase();
  t.deepEqual(stackRisks(c.plan, c.hosts, c.cloud, c.raw), []);
  const hosts = withFirewall(c.hosts, "database", (x) => x.replace(/ip saddr \{[^}]*\} (tcp dport 5432)/, "$1"));
  const risks = stackRisks(c.plan, hosts, c.cloud, c.raw);
  t.deepEqual(risks.map((r) => r.rule), ["open-to-the-internet"]);
  t.regex(risks[0]!.message, /database \(database\): port 5432 accepts everyone/);
  const cloud: CloudPlan = { ...c.cloud, servers: c.cloud.servers.map((s) => s.name !== "database" ? s : { ...s, rules: [...s.rules, { port: 5432, source: { kind: "anywhere" }, purpose: "oops" }] }) };
  const cloudRisks = stackRisks(c.plan, c.hosts, cloud, c.raw);
  t.deepEqual(cloudRisks.map((r) => r.rule), ["open-to-the-internet"]);
  t.regex(cloudRisks[0]!.message, /cloud firewall of database: port 5432 open to the internet/);
});

test("ssh-from-outside-admin-networks fires for SSH on the proxy from anywhere or from another network", (t) => {
  const c = cloudCase();
  const anywhere = withFirewall(c.hosts, "proxy", (x) => x.replace(/ip saddr \{ 196\.12\.4\.0\/24 \} (tcp dport 22)/, "$1"));
  t.deepEqual(stackRisks(c.plan, anywhere, c.cloud, c.raw).map((r) => r.rule).sort(), ["open-to-the-internet", "ssh-from-outside-admin-networks"]);
  const other = withFirewall(c.hosts, "proxy", (x) => x.replace("196.12.4.0/24 } tcp dport 22", "203.0.113.0/24 } tcp dport 22"));
  const risks = stackRisks(c.plan, other, c.cloud, c.raw);
  t.deepEqual(risks.map((r) => r.rule), ["ssh-from-outside-admin-networks"]);
  t.is(risks[0]!.key, "dhis2:admin.allowedCidrs");
});

test("public-address fires for a database server with a public address", (t) => {
  const c = cloudCase();
  const cloud: CloudPlan = { ...c.cloud, servers: c.cloud.servers.map((s) => s.name === "database" ? { ...s, publicAddress: true } : s) };
  const risks = stackRisks(c.plan, c.hosts, cloud, c.raw);
  t.deepEqual(risks.map((r) => r.rule), ["public-address"]);
  t.regex(risks[0]!.message, /^database gets a public address/);
});

test("self-signed-certificate fires on a stack not marked as a test stack, not on the local stack (dhis2:testStack)", (t) => {
  const c = cloudCase({ tls: { mode: "self-signed" } });
  const risks = stackRisks(c.plan, c.hosts, c.cloud, c.raw);
  t.deepEqual(risks.map((r) => [r.rule, r.key]), [["self-signed-certificate", "dhis2:tls.mode"]]);
  const test = cloudCase({ tls: { mode: "self-signed" }, testStack: true });
  t.deepEqual(stackRisks(test.plan, test.hosts, test.cloud, test.raw), []);
  const local = loadStackFile(ROOT, "local").plan.config;
  t.is(local.tls.mode, "self-signed");
  t.true(local.testStack);
});

test("secret-in-plain-text fires for a relay password or an SSH private key written in plain text", (t) => {
  const c = cloudCase({ alerts: { recipients: ["ops@example.org"], smtp: { host: "smtp.example.org", username: "alerts", password: "plain-text-password" } } });
  const risks = stackRisks(c.plan, c.hosts, c.cloud, c.raw);
  t.deepEqual(risks.map((r) => [r.rule, r.key]), [["secret-in-plain-text", "dhis2:alerts.smtp.password"]]);
  const encrypted = { ...c.raw, alerts: { recipients: ["ops@example.org"], smtp: { host: "smtp.example.org", username: "alerts", password: { secure: "v1:abc" } } } };
  t.deepEqual(stackRisks(c.plan, c.hosts, c.cloud, encrypted), []);
  const key = stackRisks(c.plan, c.hosts, c.cloud, { ...encrypted, admin: { privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----" } });
  t.deepEqual(key.map((r) => r.key), ["dhis2:admin.privateKey"]);
});
