/** dhis2:generated: the generated secrets in the stack file (lib/config/generated.ts). */
import { GENERATED_NAME_RE, generatedSecretSpecs, looksGenerated } from "../generated";
import type { SecretRef } from "../model";
import type { StackConfigInput } from "../schema";
import { NAMESPACE } from "../stack-file";
import { isPlaintext, type Problems, type SecretSource } from "./problems";

export function validateGenerated(stack: string, c: StackConfigInput, instances: readonly string[], p: Problems, secrets: SecretSource | undefined): Readonly<Record<string, SecretRef>> {
  const given = c.generated ?? {};
  const known = new Set(generatedSecretSpecs(instances).map((s) => s.name));
  const out: Record<string, SecretRef> = {};
  for (const [name, v] of Object.entries(given)) {
    if (!GENERATED_NAME_RE.test(name)) {
      p.add(["generated", name], "is not the name of a generated secret: lowercase letters, digits and dashes such as production-database-password (npm run secrets writes them)");
      continue;
    }
    if (isPlaintext(v, `${NAMESPACE}:generated`, secrets)) {
      p.add(["generated", name], `is stored in plain text in the stack file: remove it and run \`npm run secrets -- --stack ${stack}\`, which writes it encrypted`);
      continue;
    }
    if (typeof v === "string" && !looksGenerated(v)) {
      p.add(["generated", name], "must be 16 to 128 letters and digits (what npm run secrets generates): the value is used verbatim in dhis.conf, SQL and htpasswd");
      continue;
    }
    // a removed instance leaves its secrets: kept (its encryption password may be needed again)
    if (!known.has(name)) p.warn(`${NAMESPACE}:generated.${name} is not used by this stack (an instance that was removed?): kept; delete it with \`pulumi config rm --path ${NAMESPACE}:generated.${name}\` when it is no longer needed.`);
    out[name] = { configKey: `${NAMESPACE}:generated.${name}`, value: typeof v === "string" ? v : undefined };
  }
  return out;
}
