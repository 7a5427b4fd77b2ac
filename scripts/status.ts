/**
 * npm run status -- --stack NAME
 *
 * The health of a deployed stack, host by host: each role's services (nginx, PostgreSQL, DHIS2,
 * munin-node, postfix), the firewall, DHIS2's /api/ping (directly and through the proxy), the
 * certificates' remaining days, disk use, munin's last update: what each host's own health check
 * (/usr/local/sbin/dhis2-status, templates/host/status.sh.hbs) says. Exit status 1 when a check
 * fails or a host does not answer, 0 otherwise. See docs/operations.md.
 */
import { parseArgs } from "node:util";
import { PATHS } from "../lib/render/paths";
import { loadPlanOrSay, stackHosts } from "./lib/stack-hosts";

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { stack: { type: "string" }, help: { type: "boolean", short: "h" } }, strict: true });
  if (values.help || !values.stack) {
    console.error("usage: npm run status -- --stack NAME");
    return values.help ? 0 : 2;
  }
  const plan = loadPlanOrSay(values.stack);
  if (!plan) return 2;
  const hosts = await stackHosts(plan);
  try {
    const reports = await Promise.all(hosts.nodes.map(async (n) => ({ node: n.node, r: await n.run(PATHS.status, { timeoutMs: 120_000 }) })));
    const rows: [string, string, string, string][] = [];
    let bad = 0;
    for (const { node, r } of reports) {
      const lines = r.stdout.split("\n").filter((l) => /^(ok|warn|fail) /.test(l));
      if (lines.length === 0) {
        rows.push([node, "FAIL", "host", `no answer from ${PATHS.status} (exit ${r.code}): ${r.stderr.trim().split("\n").pop() ?? ""}`]);
        bad++;
        continue;
      }
      for (const l of lines) {
        const [status, check, ...detail] = l.split(" ");
        if (status === "fail") bad++;
        rows.push([node, status === "ok" ? "ok" : status === "warn" ? "WARN" : "FAIL", check!, detail.join(" ")]);
      }
    }
    const width = (i: number) => Math.max(...rows.map((r) => r[i]!.length), 4);
    console.log(`Stack ${plan.config.stack} (${plan.config.platform}, ${plan.config.isolation}):`);
    for (const r of rows) console.log(`  ${r[0].padEnd(width(0))}  ${r[1].padEnd(4)}  ${r[2].padEnd(width(2))}  ${r[3]}`);
    console.log(bad ? `\n${bad} check(s) failed.` : "\nEverything is running.");
    return bad ? 1 : 0;
  } finally {
    hosts.close();
  }
}

main().then((code) => { process.exitCode = code; }, (e: Error) => { console.error(`error: ${e.message}`); process.exitCode = 2; });
