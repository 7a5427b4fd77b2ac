/**
 * dhis2:generated (lib/config/generated.ts): which secrets a deployment generates, how, how they
 * are validated in the stack file, and how a stack deployed before keeps its values.
 */
import test from "ava";
import { generatedProblems } from "../lib/config/artifacts";
import { generatedSecretSpecs, generateSecret, legacyGeneratedSecrets } from "../lib/config/generated";
import { loadDeployment } from "../lib/load";
import { ConfigError } from "../lib/config/model";
import { load } from "./support/stacks";

const LOCAL = { platform: "local", instances: [{ name: "production", version: "2.41.3", path: "/" }, { name: "training", version: "2.41.3", path: "/training" }] };

test("a deployment generates a database and an encryption password per instance, the monitoring and the backups' passwords", (t) => {
  const specs = generatedSecretSpecs(["production", "training"]);
  t.deepEqual(specs.map((s) => s.name), [
    "production-database-password", "production-encryption-password",
    "training-database-password", "training-encryption-password",
    "monitoring-password", "backup-password",
  ]);
  // DHIS2 wants at least 24 characters of encryption password; it and the backups' never change
  t.true(specs.filter((s) => /encryption|backup/.test(s.name)).every((s) => s.permanent && s.length >= 24));
});

test("a generated secret: letters and digits from the CSPRNG, the length asked, never the same twice", (t) => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const s = generateSecret(32);
    t.regex(s, /^[A-Za-z0-9]{32}$/);
    seen.add(s);
  }
  t.is(seen.size, 200);
  // every character of the alphabet turns up (uniform choice, no bias to a subset)
  t.is(new Set([...Array.from({ length: 50 }, () => generateSecret(128))].join("")).size, 62);
  t.throws(() => generateSecret(8), { message: /16 to 128/ });
});

test("dhis2:generated in the stack file: encrypted values pass, plain text and bad names are refused by key, unused ones are kept with a warning", (t) => {
  const ok = load({ ...LOCAL, generated: { "production-database-password": { secure: "v1:abc" }, "old-encryption-password": { secure: "v1:def" } } });
  t.deepEqual(ok.plan.config.generated["production-database-password"], { configKey: "dhis2:generated.production-database-password", value: undefined });
  t.true(ok.warnings.some((w) => /dhis2:generated\.old-encryption-password is not used by this stack/.test(w)));
  const plain = t.throws(() => loadDeployment("test", { ...LOCAL, generated: { "production-database-password": "Abcdefghijklmnop1234" } }, "stack test", { kind: "file" }), { instanceOf: ConfigError });
  t.regex(plain.message, /dhis2:generated\.production-database-password: is stored in plain text .*npm run secrets -- --stack test/);
  const bad = t.throws(() => load({ ...LOCAL, generated: { "Bad Name": { secure: "v1:abc" } } }), { instanceOf: ConfigError });
  t.regex(bad.message, /dhis2:generated\."Bad Name": is not the name of a generated secret: lowercase letters, digits and dashes/);
});

test("inside pulumi up (the engine decrypts): every missing generated secret is named with the command that writes it", (t) => {
  const engine = { kind: "engine" as const, secretKeys: new Set(["dhis2:generated"]) };
  const some = loadDeployment("ke-prod", { ...LOCAL, generated: { "production-database-password": "Abcdefghijklmnop1234", "monitoring-password": "Abcdefghijklmnop5678" } }, "stack ke-prod", engine);
  const problems = generatedProblems(some.plan.config);
  t.deepEqual(problems.map((p) => p.key), [
    "dhis2:generated.production-encryption-password", "dhis2:generated.training-database-password",
    "dhis2:generated.training-encryption-password", "dhis2:generated.backup-password",
  ]);
  t.regex(problems[0]!.message, /npm run secrets -- --stack ke-prod/);
  // a value that is not what the generator makes (it goes verbatim into SQL and dhis.conf)
  const quote = t.throws(() => loadDeployment("ke-prod", { ...LOCAL, generated: { "monitoring-password": "it's a password" } }, "stack ke-prod", engine), { instanceOf: ConfigError });
  t.regex(quote.message, /dhis2:generated\.monitoring-password: must be 16 to 128 letters and digits/);
});

test("a stack deployed before keeps its passwords: the values of its GeneratedSecret resources are read from the state", (t) => {
  const secret = (v: string) => ({ "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", plaintext: JSON.stringify(v) });
  const urn = (type: string, name: string) => `urn:pulumi:local::dhis2::dhis2:index:Deployment$${type}::${name}`;
  const exported = { deployment: { resources: [
    { urn: urn("dhis2:secret:GeneratedSecret", "dhis2-production-encryption-password"), type: "dhis2:secret:GeneratedSecret" },
    { urn: urn("dhis2:secret:GeneratedSecret$command:local:Command", "dhis2-production-encryption-password-generate"), type: "command:local:Command",
      parent: urn("dhis2:secret:GeneratedSecret", "dhis2-production-encryption-password"), outputs: { stdout: secret("EncryptionValue0123456789abcdef0123456789abcdef\n") } },
    { urn: urn("dhis2:secret:GeneratedSecret", "dhis2-monitoring-login"), type: "dhis2:secret:GeneratedSecret" },
    { urn: urn("dhis2:secret:GeneratedSecret$command:local:Command", "dhis2-monitoring-login-generate"), type: "command:local:Command",
      parent: urn("dhis2:secret:GeneratedSecret", "dhis2-monitoring-login"), outputs: { stdout: secret("MonitoringValue012345678\nmonitoring:$6$salt$hash\n") } },
    // not shown with --show-secrets: ciphertext only, nothing to take
    { urn: urn("dhis2:secret:GeneratedSecret", "dhis2-backup-password"), type: "dhis2:secret:GeneratedSecret" },
    { urn: urn("dhis2:secret:GeneratedSecret$command:local:Command", "dhis2-backup-password-generate"), type: "command:local:Command",
      parent: urn("dhis2:secret:GeneratedSecret", "dhis2-backup-password"), outputs: { stdout: { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ciphertext: "v1:xyz" } } },
  ] } };
  const legacy = legacyGeneratedSecrets(exported);
  t.deepEqual(Object.keys(legacy).sort(), ["monitoring-password", "production-encryption-password"]);
  t.is(legacy["production-encryption-password"]!.value, "EncryptionValue0123456789abcdef0123456789abcdef");
  t.is(legacy["monitoring-password"]!.value, "MonitoringValue012345678");
  t.is(legacy["monitoring-password"]!.urns.length, 2);
  t.deepEqual(legacyGeneratedSecrets({}), {});
});
