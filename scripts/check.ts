/**
 * npm run check -- --stack NAME
 *
 * The guardrails to run before every `pulumi up`: validates stacks/Pulumi.NAME.yaml like `npm run
 * render`, then looks for stack risks (lib/platform/risks.ts): ports other than 80/443 open to the
 * internet, SSH from outside dhis2:admin.allowedCidrs, a public address on anything but the proxy
 * (or the LXD server), a self-signed certificate on a real deployment, secrets in plain text in
 * the stack file. Exit 0: none; 1: risks (each with the stack key to change); 2: usage.
 */
import * as path from "node:path";
import { parseArgs } from "node:util";
import { readStackFile, stackFilePath } from "../lib/config/stack-file";
import { stackRisks } from "../lib/platform/risks";
import { renderDeployment } from "../lib/render/hosts";
import { placeholderSecrets } from "../lib/render/secrets";
import { loadForCli } from "./lib/load-stack";

const PROJECT_DIR = path.resolve(__dirname, "..");

function main(): number {
  const { values } = parseArgs({ options: { stack: { type: "string" }, help: { type: "boolean", short: "h" } }, strict: true });
  if (values.help || !values.stack) {
    console.error("usage: npm run check -- --stack NAME");
    return values.help ? 0 : 2;
  }
  const loaded = loadForCli(PROJECT_DIR, values.stack);
  if (!loaded) return 1;
  const hosts = renderDeployment(loaded.plan, { secrets: placeholderSecrets(loaded.plan) });
  const raw = readStackFile(stackFilePath(PROJECT_DIR, values.stack)).project;
  const risks = stackRisks(loaded.plan, hosts, loaded.cloud, raw);
  if (risks.length === 0) {
    console.log(`stack ${values.stack}: no risks found (${hosts.length} hosts checked)`);
    return 0;
  }
  console.error(`stack ${values.stack}: ${risks.length} risk(s):`);
  for (const r of risks) console.error(`  ${r.rule} [${r.key}]: ${r.message}`);
  return 1;
}

process.exitCode = main();
