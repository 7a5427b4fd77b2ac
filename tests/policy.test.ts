/**
 * The policy pack (policy/, rules in lib/policy/rules.ts): on what the components create for every
 * platform (Pulumi mocks: the clouds' APIs cannot be reached here) no rule fires; on resources and
 * stacks that break a rule, that rule fires with a message naming the resource or the key. The
 * pack itself runs in the real engine in the end-to-end run (phase f: `pulumi preview
 * --policy-pack policy`).
 */
import { optionsRecorder, plain, recorded, settle } from "./support/pulumi-mocks";
import test from "ava";
import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import * as path from "node:path";
import { Dhis2Deployment } from "../components/deployment";
import { loadStackFile } from "../lib/load";
import { dhis2Policies } from "../lib/policy/pack";
import { dataVolumes, internetIngress, plaintextSecrets, publicAddress, selfSigned, sshIngress, type ResourceView, type StackFacts } from "../lib/policy/rules";
import { cloudStack, declaredStack, load, withGeneratedSecrets } from "./support/stacks";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nS3NT1NEL\n-----END OPENSSH PRIVATE KEY-----\n";
const ADMIN = ["196.12.4.0/24"];

/** Every resource a deployment of the stack creates, as a policy sees it (inputs, protect). */
async function views(prefix: string, raw: Record<string, unknown> | "local"): Promise<ResourceView[]> {
  const plan = raw === "local" ? loadStackFile(path.resolve(__dirname, ".."), "local").plan : load(raw, "ke-prod").plan;
  const rec = optionsRecorder();
  new Dhis2Deployment(prefix, { plan: withGeneratedSecrets(plan) }, { transformations: [rec.transformation] });
  await settle();
  return recorded.filter((r) => r.name.startsWith(`${prefix}-`)).map((r) => ({
    type: r.type, name: r.name,
    props: Object.fromEntries(Object.entries(r.inputs).map(([k, v]) => [k, plain(v)])),
    protect: rec.seen.find((s) => s.name === r.name)?.opts.protect === true,
  }));
}

const cloud = (platform: "hcloud" | "aws", isolation: "vm" | "lxd") => {
  const raw = cloudStack({ isolation, cpus: 16, memoryGb: isolation === "lxd" ? 64 : 32, instances: 2 });
  return { ...raw, platform, admin: { ...(raw.admin as object), privateKey: KEY } };
};
const existing = () => {
  const raw = declaredStack({ isolation: "vm", cpus: 8, memoryGb: 16 });
  return { ...raw, admin: { ...(raw.admin as object), privateKey: KEY } };
};

const allRules = (r: ResourceView) => [...internetIngress(r), ...sshIngress(r, { adminCidrs: ADMIN }), ...publicAddress(r), ...dataVolumes(r)];

test("what the components create on every platform passes every resource rule (and the rules saw what they guard)", async (t) => {
  const cases: [string, Record<string, unknown> | "local"][] = [
    ["pol-hv", cloud("hcloud", "vm")], ["pol-hl", cloud("hcloud", "lxd")], ["pol-av", cloud("aws", "vm")], ["pol-al", cloud("aws", "lxd")],
    ["pol-ex", existing()], ["pol-lo", "local"],
  ];
  for (const [prefix, raw] of cases) {
    const all = await views(prefix, raw);
    const found = all.flatMap(allRules);
    t.deepEqual(found, [], `${prefix}: ${found.join("\n")}`);
    const guarded = all.filter((r) => /firewall:Firewall|securityGroupIngressRule|server:Server|ec2\/instance|volume:Volume/.test(r.type) || dataVolumes({ ...r, protect: false }).length > 0);
    t.log(`${prefix}: ${all.length} resources, ${guarded.length} of them firewalls, ingress rules, servers or data volumes`);
    if (prefix !== "pol-ex") t.true(all.some((r) => dataVolumes({ ...r, protect: false }).length > 0), `${prefix}: no data volume seen`);
    if (prefix.startsWith("pol-h") || prefix.startsWith("pol-a")) {
      t.true(all.some((r) => internetIngress({ ...r, name: r.name.replace(/-(proxy|host)-/, "-database-") }).length > 0), `${prefix}: no internet-facing rule seen`);
    }
  }
});

test("each resource rule fires on a resource that breaks it, naming it", (t) => {
  const awsRule = (name: string, props: Record<string, unknown>): ResourceView => ({ type: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", name, props: { ipProtocol: "tcp", ...props }, protect: false });
  const firewall = (name: string, rules: Record<string, unknown>[]): ResourceView => ({ type: "hcloud:index/firewall:Firewall", name, props: { rules }, protect: false });
  // the internet to the database; SSH from everywhere; the proxy's 443 is fine
  t.regex(internetIngress(awsRule("dhis2-aws-database-in-0-0", { cidrIpv4: "0.0.0.0/0", fromPort: 5432, toPort: 5432 })).join(), /dhis2-aws-database-in-0-0: open to the whole internet \(0\.0\.0\.0\/0\) on port 5432/);
  t.deepEqual(internetIngress(awsRule("dhis2-aws-proxy-in-1-0", { cidrIpv4: "0.0.0.0/0", fromPort: 443, toPort: 443 })), []);
  t.regex(internetIngress(awsRule("dhis2-aws-proxy-in-2-0", { cidrIpv6: "::/0", fromPort: 0, toPort: 65535 })).join(), /ports 0-65535/);
  const openSsh = firewall("dhis2-hcloud-proxy-firewall", [{ direction: "in", protocol: "tcp", port: "22", sourceIps: ["0.0.0.0/0"] }]);
  t.regex(internetIngress(openSsh).join(), /rule 0 \(port 22\): open to the whole internet/);
  t.regex(sshIngress(openSsh, { adminCidrs: ADMIN }).join(), /SSH from 0\.0\.0\.0\/0, outside dhis2:admin\.allowedCidrs \(196\.12\.4\.0\/24\)/);
  t.deepEqual(sshIngress(firewall("f-proxy-firewall", [{ direction: "in", port: "22", sourceIps: ["196.12.4.0/25"] }]), { adminCidrs: ADMIN }), [], "inside the admin network");
  t.regex(sshIngress(awsRule("dhis2-aws-proxy-in-0-0", { cidrIpv4: "10.0.0.0/8", fromPort: 22, toPort: 22 }), { adminCidrs: ADMIN }).join(), /SSH from 10\.0\.0\.0\/8/);
  t.deepEqual(sshIngress(awsRule("dhis2-aws-database-in-0-0", { referencedSecurityGroupId: "sg-1", fromPort: 22, toPort: 22 }), { adminCidrs: ADMIN }), [], "through the bastion's group");
  // public addresses behind the proxy
  t.regex(publicAddress({ type: "hcloud:index/server:Server", name: "dhis2-hcloud-database", props: { publicNets: [{ ipv4Enabled: true, ipv6Enabled: false }] }, protect: false }).join(), /dhis2-hcloud-database: a public address/);
  t.regex(publicAddress({ type: "aws:ec2/eip:Eip", name: "dhis2-aws-production-ip", props: {}, protect: true }).join(), /an Elastic IP for a server other than the proxy/);
  t.regex(publicAddress({ type: "aws:ec2/instance:Instance", name: "dhis2-aws-monitor", props: { associatePublicIpAddress: true }, protect: false }).join(), /associatePublicIpAddress/);
  // data volumes
  t.regex(dataVolumes({ type: "hcloud:index/volume:Volume", name: "dhis2-hcloud-pgdata", props: { deleteProtection: true }, protect: false }).join(), /without protect/);
  t.regex(dataVolumes({ type: "hcloud:index/volume:Volume", name: "dhis2-hcloud-pgdata", props: { deleteProtection: false }, protect: true }).join(), /without deleteProtection/);
  t.regex(dataVolumes({ type: "aws:ebs/volume:Volume", name: "dhis2-aws-pgdata", props: {}, protect: false }).join(), /dhis2-aws-pgdata: a data volume without protect/);
  t.regex(dataVolumes({ type: "command:local:Command", name: "dhis2-lxd-pgdata-volume", props: { stdin: "lxc storage volume create dhis2 dhis2-local-pgdata </dev/null" }, protect: false }).join(), /dhis2-lxd-pgdata-volume/);
});

test("stack rules: a self-signed certificate only on a test stack; no secret in plain text in the stack file", (t) => {
  t.regex(selfSigned({ tlsMode: "self-signed", testStack: false }).join(), /dhis2:tls\.mode is self-signed on a stack not marked as a test stack/);
  t.deepEqual(selfSigned({ tlsMode: "self-signed", testStack: true }), []);
  t.deepEqual(selfSigned({ tlsMode: "letsencrypt", testStack: false }), []);
  t.true(loadStackFile(path.resolve(__dirname, ".."), "local").plan.config.testStack, "the local stack is a test stack");
  const plain = [
    "config:",
    "  hcloud:token: abc123",
    "  dhis2:backup:",
    "    offsite: { repository: 's3:https://s3.example.org/b', accessKeyId: AKIA, secretAccessKey: plaintext-key }",
    "  dhis2:generated:",
    "    backup-password: plaintext-password",
    "    monitoring-password:",
    "      secure: v1:abc",
    "  dhis2:alerts:",
    "    smtp: { host: smtp.example.org, password: { secure: 'v1:def' } }",
  ].join("\n");
  const found = plaintextSecrets(plain);
  t.deepEqual(found.map((f) => f.split(" ")[0]), ["hcloud:token", "dhis2:backup.offsite.secretAccessKey", "dhis2:generated.backup-password"]);
  t.regex(found[1]!, /pulumi config set --secret --path dhis2:backup\.offsite\.secretAccessKey/);
  for (const stack of ["local", "example-hcloud", "example-aws", "example-existing"]) {
    t.deepEqual(plaintextSecrets(require("node:fs").readFileSync(path.resolve(__dirname, "..", "stacks", `Pulumi.${stack}.yaml`), "utf8")), [], stack);
  }
});

test("the pack's policies: all mandatory, each reports what its rule finds", (t) => {
  const facts: StackFacts = { adminCidrs: ADMIN, tlsMode: "self-signed", testStack: false };
  const policies = dhis2Policies(() => facts, () => "config:\n  aws:secretKey: plain\n");
  t.deepEqual(policies.map((p) => p.enforcementLevel), policies.map(() => "mandatory"));
  const violations: string[] = [];
  const report: ReportViolation = (message) => { violations.push(message); };
  const args = (type: string, name: string, props: Record<string, unknown>, protect = false) => ({ type, name, props, opts: { protect }, urn: `urn:pulumi:s::dhis2::${type}::${name}` }) as unknown as ResourceValidationArgs;
  const byName = (n: string) => policies.find((p) => p.name === n)!;
  const resourceCheck = (n: string) => (byName(n) as ResourceValidationPolicy).validateResource as (a: ResourceValidationArgs, r: ReportViolation) => void;
  resourceCheck("dhis2-internet-only-to-the-proxy")(args("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "x-database-in-0-0", { cidrIpv4: "0.0.0.0/0", fromPort: 5432, toPort: 5432 }), report);
  resourceCheck("dhis2-ssh-from-admin-networks")(args("hcloud:index/firewall:Firewall", "x-proxy-firewall", { rules: [{ direction: "in", port: "22", sourceIps: ["8.8.8.0/24"] }] }), report);
  resourceCheck("dhis2-no-public-address-behind-the-proxy")(args("hcloud:index/primaryIp:PrimaryIp", "x-database-ipv4", {}), report);
  resourceCheck("dhis2-data-volumes-protected")(args("aws:ebs/volume:Volume", "x-pgdata", {}), report);
  (byName("dhis2-no-self-signed-outside-tests") as StackValidationPolicy).validateStack!({ resources: [] } as never, report);
  (byName("dhis2-secrets-encrypted") as StackValidationPolicy).validateStack!({ resources: [] } as never, report);
  t.is(violations.length, 6, violations.join("\n"));
  t.deepEqual(violations.map((v) => v.split(/[ :]/)[0]), ["x-database-in-0-0", "x-proxy-firewall", "x-database-ipv4", "x-pgdata", "dhis2", "aws"]);
});
