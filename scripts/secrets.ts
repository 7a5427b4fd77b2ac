/**
 * npm run secrets -- --stack NAME [--quiet]
 *
 * Writes every generated secret the stack needs and its stack file lacks (dhis2:generated: each
 * instance's database and encryption passwords, the monitoring password, the backups' password)
 * into the stack file, encrypted, with `pulumi config set --secret` (the value on stdin, never an
 * argument). Never changes one that is there. A stack deployed by an earlier version of the
 * toolkit keeps its values: they are read from its state and moved into the stack file, and the
 * resources that held them are unprotected so that the next `pulumi up` removes them.
 * npm start and npm run pulumi -- up/preview run it first. Exit 0 when every secret is there.
 */
import { parseArgs } from "node:util";
import { generatedSecretSpecs, generateSecret, legacyGeneratedSecrets } from "../lib/config/generated";
import { loadPlanOrSay, pulumi } from "./lib/stack-hosts";

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { stack: { type: "string" }, quiet: { type: "boolean" }, help: { type: "boolean", short: "h" } }, strict: true });
  if (values.help || !values.stack) {
    console.error("usage: npm run secrets -- --stack NAME [--quiet]");
    return values.help ? 0 : 2;
  }
  const stack = values.stack;
  const plan = loadPlanOrSay(stack);
  if (!plan) return 2;
  const say = (line: string) => { if (!values.quiet) console.error(line); };
  const missing = generatedSecretSpecs(plan.instances.map((i) => i.config.name)).filter((s) => plan.config.generated[s.name] === undefined);
  if (missing.length === 0) {
    say(`stack ${stack}: every generated secret is in the stack file (dhis2:generated)`);
    return 0;
  }
  // a stack deployed before the secrets moved into the stack file: its values are in its state
  const exported = await pulumi(["stack", "export", "--show-secrets"], stack, { timeoutMs: 300_000 });
  if (exported.code !== 0) {
    console.error(`stack ${stack}: cannot read its state (pulumi stack export): ${exported.stderr.trim().split("\n").pop() ?? ""}\n` +
      `Create the stack first: npm run pulumi -- stack init ${stack}`);
    return 1;
  }
  const legacy = legacyGeneratedSecrets(JSON.parse(exported.stdout || "{}"));
  const unprotect: string[] = [];
  for (const spec of missing) {
    const kept = legacy[spec.name];
    const value = kept?.value ?? generateSecret(spec.length);
    const set = await pulumi(["config", "set", "--secret", "--path", `dhis2:generated.${spec.name}`], stack, { input: value, timeoutMs: 120_000 });
    if (set.code !== 0) {
      console.error(`stack ${stack}: pulumi config set dhis2:generated.${spec.name} failed: ${set.stderr.trim()}`);
      return 1;
    }
    if (kept) unprotect.push(...kept.urns);
    console.error(`stack ${stack}: dhis2:generated.${spec.name} (${spec.what}) ${kept ? "moved from the state into the stack file" : "generated"}, encrypted`);
  }
  // the resources that held them before: unprotected, so that the next `pulumi up` deletes them
  // (deleting them removes nothing on any host)
  for (const urn of unprotect) {
    const r = await pulumi(["state", "unprotect", "--yes", urn], stack, { timeoutMs: 120_000 });
    if (r.code !== 0) {
      console.error(`stack ${stack}: pulumi state unprotect ${urn} failed: ${r.stderr.trim()}`);
      return 1;
    }
  }
  if (missing.some((s) => s.permanent)) {
    console.error(`stack ${stack}: keep a copy of the stack file and its passphrase: the encryption and backup passwords in it must never be lost or changed (docs/security.md)`);
  }
  return 0;
}

main().then((code) => { process.exitCode = code; }, (e: Error) => { console.error(`error: ${e.message}`); process.exitCode = 2; });
