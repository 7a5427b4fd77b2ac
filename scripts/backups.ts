/**
 * npm run backups -- --stack NAME [--repo local|offsite]
 *
 * Every backup of a deployed stack (docs/backups.md): on the database server each instance's
 * dumps, on each instance's server its file store; with the snapshot's ID (for npm run restore
 * --from), age, size (what a restore writes) and where the repository is and how much it stores.
 */
import { parseArgs } from "node:util";
import { PATHS } from "../lib/render/paths";
import { shellQuote } from "../lib/render/shell";
import { backupNodes, parseList } from "./lib/restore";
import { loadPlanOrSay, stackHosts } from "./lib/stack-hosts";

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

function age(time: string, now: number): string {
  const hours = (now - Date.parse(time)) / 3600_000;
  return hours < 48 ? `${hours.toFixed(1)} h` : `${(hours / 24).toFixed(1)} d`;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { stack: { type: "string" }, repo: { type: "string" }, help: { type: "boolean", short: "h" } }, strict: true });
  const repo = values.repo ?? "local";
  if (values.help || !values.stack || (repo !== "local" && repo !== "offsite")) {
    console.error("usage: npm run backups -- --stack NAME [--repo local|offsite]");
    return values.help ? 0 : 2;
  }
  const plan = loadPlanOrSay(values.stack);
  if (!plan) return 2;
  const nodes = backupNodes(plan);
  if (nodes.length === 0) {
    console.log(`stack ${plan.config.stack}: dhis2:backup.enabled is false; there are no backups`);
    return 1;
  }
  const hosts = await stackHosts(plan);
  try {
    const now = Date.now();
    let bad = 0;
    for (const name of nodes) {
      const node = hosts.nodes.find((n) => n.node === name)!;
      const r = await node.run(`${PATHS.restoreCommand} --list --repo ${shellQuote(repo)}`, { timeoutMs: 600_000 });
      const { backups, repository } = parseList(name, r.stdout);
      if (r.code !== 0 || !repository) {
        console.log(`${name}: no answer (exit ${r.code}): ${r.stderr.trim().split("\n").pop() ?? ""}`);
        bad++;
        continue;
      }
      console.log(`${name}: ${repository.kind} repository ${repository.location}, ${mb(repository.bytes)} stored`);
      for (const b of backups.sort((x, y) => x.time.localeCompare(y.time))) {
        console.log(`  ${b.id}  ${b.time.slice(0, 19).replace("T", " ")}  ${age(b.time, now).padStart(7)} ago  ${mb(b.bytes).padStart(10)}  ${b.what}`);
      }
    }
    return bad ? 1 : 0;
  } finally {
    hosts.close();
  }
}

main().then((code) => { process.exitCode = code; }, (e: Error) => { console.error(`error: ${e.message}`); process.exitCode = 2; });
