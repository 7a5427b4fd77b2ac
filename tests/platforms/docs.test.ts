/** docs/platforms.md shows what the code chooses: the generated tables match, and the examples render. */
import test from "ava";
import * as fs from "node:fs";
import * as path from "node:path";
import { loadStackFile } from "../../lib/load";
import { platformsDocSection } from "../../lib/docs/platforms";
import { replaceGenerated } from "../../lib/docs/sizing";
import { planCloud } from "../../lib/platform/cloud";

const PROJECT = path.resolve(__dirname, "..", "..");

test("docs/platforms.md's server types and prices are the code's (npm run docs:platforms)", (t) => {
  const doc = fs.readFileSync(path.join(PROJECT, "docs", "platforms.md"), "utf8");
  t.is(replaceGenerated(doc, platformsDocSection()), doc);
  t.regex(doc, /\| database +\| ccx53 +\| 32 +\| 128 GB \| dedicated/);
  t.regex(doc, /\| database +\| c6a\.8xlarge \| 32 +\| 64 GB +\| dedicated/);
});

test("the example stacks: the 32/32 reference with a production and a training instance, on each cloud", (t) => {
  for (const cloud of ["hcloud", "aws"] as const) {
    const { plan } = loadStackFile(PROJECT, `example-${cloud}`);
    t.is(plan.config.platform, cloud);
    t.deepEqual(plan.instances.map((i) => i.config.name), ["production", "training"]);
    // the stack asks for 32 CPUs / 32 GB; the plan is tuned to the dedicated type that buys (lib/plan/machines.ts)
    t.is(plan.sizing.database.cpus, 32);
    t.is(plan.sizing.database.memoryMb, (cloud === "hcloud" ? 128 : 64) * 1024);
    const c = planCloud(plan).cloud!;
    t.is(c.servers.filter((s) => s.publicAddress).map((s) => s.name).join(), "proxy");
    t.truthy(c.servers.find((s) => s.name === "database")!.volume);
  }
});
