/**
 * npm run restore -- --stack NAME --instance I [--from LATEST|ID] [--files-from LATEST|ID]
 *                    [--repo local|offsite] [--database-only] [--dry-run] [--yes]
 *
 * Restores one instance of a deployed stack from its backups (docs/backups.md): first what would
 * be replaced (dhis2-restore --dry-run on the database server and the instance's server), then,
 * once the instance's name is typed (or --yes), DHIS2 stopped, its database restored, its file
 * store restored and DHIS2 started again. Prints how long it took (the recovery time).
 */
import * as readline from "node:readline/promises";
import { parseArgs } from "node:util";
import { dryRunCommands, restoreCommands, restoreProblems, type HostCommand, type RestoreOptions } from "./lib/restore";
import { loadPlanOrSay, stackHosts, type StackHosts } from "./lib/stack-hosts";

const USAGE = "usage: npm run restore -- --stack NAME --instance I [--from LATEST|ID] [--files-from LATEST|ID] [--repo local|offsite] [--database-only] [--dry-run] [--yes]";

async function runAll(hosts: StackHosts, commands: readonly HostCommand[]): Promise<boolean> {
  for (const c of commands) {
    const node = hosts.nodes.find((n) => n.node === c.node);
    if (!node) throw new Error(`no host ${c.node} in the stack`);
    console.log(`${c.node}: ${c.command}`);
    const r = await node.run(c.command, { timeoutMs: 6 * 3600_000 });
    for (const l of `${r.stdout}${r.stderr}`.trimEnd().split("\n").filter(Boolean)) console.log(`  ${l}`);
    if (r.code !== 0) {
      console.error(`${c.node}: failed (exit ${r.code}); nothing after it was run`);
      return false;
    }
  }
  return true;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      stack: { type: "string" }, instance: { type: "string" }, from: { type: "string" }, "files-from": { type: "string" },
      repo: { type: "string" }, "database-only": { type: "boolean" }, "dry-run": { type: "boolean" }, yes: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help || !values.stack || !values.instance) {
    console.error(USAGE);
    return values.help ? 0 : 2;
  }
  const plan = loadPlanOrSay(values.stack);
  if (!plan) return 2;
  const opts: RestoreOptions = {
    instance: values.instance,
    from: (values.from ?? "latest").toLowerCase(),
    filesFrom: (values["files-from"] ?? "latest").toLowerCase(),
    repo: (values.repo ?? "local") as RestoreOptions["repo"],
    databaseOnly: values["database-only"] ?? false,
  };
  const problems = restoreProblems(plan, opts);
  if (problems.length) {
    for (const p of problems) console.error(`error: ${p}`);
    console.error(USAGE);
    return 2;
  }
  const hosts = await stackHosts(plan);
  try {
    console.log(`Restore of ${opts.instance} in stack ${plan.config.stack} from the ${opts.repo} backups; what would be replaced:`);
    if (!(await runAll(hosts, dryRunCommands(opts)))) return 1;
    if (values["dry-run"]) {
      console.log("dry run: nothing changed");
      return 0;
    }
    if (!values.yes) {
      const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
      const answer = await rl.question(`DHIS2 ${opts.instance} is stopped and its data replaced. Type the instance's name (${opts.instance}) to go on: `);
      rl.close();
      if (answer.trim() !== opts.instance) {
        console.log("not confirmed: nothing changed");
        return 1;
      }
    }
    const started = Date.now();
    const ok = await runAll(hosts, restoreCommands(opts));
    console.log(ok ? `restored in ${((Date.now() - started) / 1000).toFixed(0)} s; DHIS2 ${opts.instance} is starting` : "the restore did not finish: see above");
    return ok ? 0 : 1;
  } finally {
    hosts.close();
  }
}

main().then((code) => { process.exitCode = code; }, (e: Error) => { console.error(`error: ${e.message}`); process.exitCode = 2; });
