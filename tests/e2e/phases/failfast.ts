/**
 * Phase 0: a stack whose WAR cannot be fetched (releases.dhis2.org, which this machine does not
 * reach) fails in the first seconds of `pulumi up`, naming the key, with nothing created.
 */
import { writeGeneratedSecrets, assert, check, pulumi, removeStack, run, tail, timings } from "../harness";
import { stackFile, writeStack } from "../stacks";
import * as fs from "node:fs";

const FAILFAST = "e2e-failfast";

export async function failFastPhase(glowroot: string): Promise<void> {
  writeStack(FAILFAST, "a WAR this machine cannot fetch: pulumi up must stop at once.", {
    "dhis2:platform": "local",
    "dhis2:network": { cidr: "10.231.44.0/24" },
    "dhis2:lxd": { bridge: "dhis2e2ef0", forward: { address: "127.0.0.1", http: 10180, https: 10543 } },
    "dhis2:sizes": { host: { cpus: 2, memoryGb: 8, disk: "ssd", diskGb: 40 } },
    "dhis2:instances": [{ name: "production", version: "2.42.1", path: "/" }],
    "dhis2:monitoring": { glowrootArchive: glowroot },
  });
  try {
    const init = await pulumi(FAILFAST, ["stack", "init", "--secrets-provider", "passphrase"], 60_000);
    assert(init.code === 0, init.stderr);
    await writeGeneratedSecrets(FAILFAST);
    // the time is printed, not asserted (a busy machine takes longer to start the program): what
    // proves "before anything is touched" is that not one resource was created
    await check("0", "an unreachable WAR URL stops pulumi up before anything is created, naming dhis2:instances[0].war (0 containers, 0 commands)", async () => {
      const r = await pulumi(FAILFAST, ["up", "--yes", "--skip-preview"], 5 * 60_000);
      const out = r.stdout + r.stderr;
      assert(r.code !== 0, "pulumi up succeeded");
      assert(/dhis2:instances\[0\]\.war: cannot be reached: the name releases\.dhis2\.org does not resolve/.test(out), tail(out));
      const ls = await run("lxc", ["list", "--format", "csv", "-c", "n"]);
      const made = ls.stdout.split("\n").filter((n) => n.startsWith(`dhis2-${FAILFAST}-`));
      assert(made.length === 0, `containers: ${made.join(", ")}`);
      const state = await pulumi(FAILFAST, ["stack", "export"], 60_000);
      const resources = (JSON.parse(state.stdout) as { deployment: { resources?: { type: string }[] } }).deployment.resources ?? [];
      const commands = resources.filter((x) => x.type.startsWith("command:"));
      assert(commands.length === 0, `${commands.length} commands ran`);
      timings.push({ what: "pulumi up stopped by an unreachable WAR URL", seconds: r.ms / 1000 });
      return `stopped after ${(r.ms / 1000).toFixed(1)} s (the program's start included); 0 containers, 0 commands`;
    });
  } finally {
    await removeStack(FAILFAST);
    fs.rmSync(stackFile(FAILFAST), { force: true });
  }
}
