/**
 * dhis2:generated: the secrets a deployment generates for itself (each instance's database and
 * encryption passwords, the monitoring login, the backups' repository password), kept encrypted
 * in the stack file like every other secret value.
 *
 * Why config and not a resource: Pulumi knows secret stack config as secret from the start of
 * every command (its display and diagnostics replace the values by "[secret]"), the stack file
 * holds every secret of the stack in one place, kept with its passphrase (the encryption and
 * backup passwords must outlive any state), and rotating one is `pulumi config set`. (Verbose
 * logs from level 7 on print resource inputs in plain text in Pulumi 3.248 whatever their origin:
 * docs/security.md.) `npm run secrets` (also run by npm start and npm run pulumi before up and
 * preview) writes the missing ones with `pulumi config set --secret`, the value on stdin. Pure:
 * names, lengths and the generator.
 */
import * as crypto from "node:crypto";

/** The names under dhis2:generated: lowercase letters, digits and dashes. */
export const GENERATED_NAME_RE = /^[a-z][a-z0-9-]{2,62}$/;

/** The characters of a generated secret: valid verbatim in dhis.conf, SQL literals, restic and htpasswd. */
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

export interface GeneratedSecretSpec {
  /** The key under dhis2:generated, e.g. "production-database-password". */
  readonly name: string;
  readonly length: number;
  /** What it is, for messages. */
  readonly what: string;
  /** Must never change once used (DHIS2's encryption password; the backups' password). */
  readonly permanent: boolean;
}

export const generatedName = {
  databasePassword: (instance: string) => `${instance}-database-password`,
  encryptionPassword: (instance: string) => `${instance}-encryption-password`,
  monitoringPassword: "monitoring-password",
  backupPassword: "backup-password",
} as const;

/** Every generated secret a deployment with these DHIS2 instances needs. */
export function generatedSecretSpecs(instances: readonly string[]): GeneratedSecretSpec[] {
  return [
    ...instances.flatMap((i) => [
      { name: generatedName.databasePassword(i), length: 32, what: `the database password of ${i}`, permanent: false },
      // DHIS2: at least 24 characters, and it must never change (it encrypts stored credentials)
      { name: generatedName.encryptionPassword(i), length: 48, what: `the encryption password of ${i}`, permanent: true },
    ]),
    { name: generatedName.monitoringPassword, length: 24, what: "the monitoring login's password (munin, glowroot)", permanent: false },
    { name: generatedName.backupPassword, length: 48, what: "the backups' repository password", permanent: true },
  ];
}

/** A new secret of `length` letters and digits from the system's CSPRNG (uniform: crypto.randomInt). */
export function generateSecret(length: number): string {
  if (!Number.isInteger(length) || length < 16 || length > 128) throw new Error(`secret length must be 16 to 128, not ${length}`);
  let out = "";
  for (let i = 0; i < length; i++) out += ALPHABET[crypto.randomInt(ALPHABET.length)];
  return out;
}

/** Whether a value could have been generated here (what the validation expects of a stored one). */
export function looksGenerated(value: string): boolean {
  return /^[A-Za-z0-9]{16,128}$/.test(value);
}

/**
 * The generated secrets kept by the resources of earlier versions of the toolkit (a component
 * `dhis2:secret:GeneratedSecret` named `<deployment>-<name>`, whose child command printed the value
 * on its first line), read from `pulumi stack export --show-secrets`: the values `npm run secrets`
 * moves into the stack file, so that a deployed stack keeps its passwords. Keyed by the new names.
 */
export function legacyGeneratedSecrets(exported: unknown): Record<string, { value: string; urns: string[] }> {
  const resources = ((exported as { deployment?: { resources?: unknown[] } })?.deployment?.resources ?? []) as Array<{
    urn?: string; type?: string; parent?: string; outputs?: { stdout?: unknown };
  }>;
  const legacyName = (component: string): string | undefined => {
    const m = /^[a-z0-9]+-(.+)$/.exec(component);
    if (!m) return undefined;
    return m[1] === "monitoring-login" ? generatedName.monitoringPassword : m[1];
  };
  const out: Record<string, { value: string; urns: string[] }> = {};
  for (const r of resources) {
    if (r.type !== "dhis2:secret:GeneratedSecret" || !r.urn) continue;
    const name = legacyName(r.urn.split("::").pop() ?? "");
    const child = resources.find((c) => c.parent === r.urn && c.type === "command:local:Command");
    const stdout = plainOf(child?.outputs?.stdout);
    const value = stdout?.split("\n")[0] ?? "";
    if (!name || !GENERATED_NAME_RE.test(name) || !looksGenerated(value)) continue;
    out[name] = { value, urns: [r.urn, ...(child?.urn ? [child.urn] : [])] };
  }
  return out;
}

/** A value of an exported deployment as plain text: a string, or a secret shown with --show-secrets. */
function plainOf(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (v && typeof v === "object" && "plaintext" in v && typeof (v as { plaintext: unknown }).plaintext === "string") {
    try {
      const p = JSON.parse((v as { plaintext: string }).plaintext) as unknown;
      return typeof p === "string" ? p : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
