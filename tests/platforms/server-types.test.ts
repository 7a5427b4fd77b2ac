/**
 * Sizes → cloud server types (lib/plan/server-types.ts): the cheapest type of the table that
 * meets each role's CPUs and memory, dedicated CPUs for the database and DHIS2, the location's
 * offer, and the stack's explicit serverType.
 */
import test from "ava";
import { chooseServerType, HCLOUD_TYPES, AWS_TYPES } from "../../lib/plan/server-types";
import { planCloud } from "../../lib/platform/cloud";
import { ConfigError } from "../../lib/config/model";
import { cloudStack, load } from "../support/stacks";

test("the 32 CPU / 32 GB reference: ccx53 on hcloud, c6a.8xlarge on aws (cheapest with 32 dedicated vCPUs)", (t) => {
  const need = { role: "database", cpus: 32, memoryGb: 32, dedicated: true };
  t.is(chooseServerType("hcloud", need)!.type.name, "ccx53");
  t.is(chooseServerType("aws", need)!.type.name, "c6a.8xlarge");
  const cheaper = [...AWS_TYPES].filter((x) => x.cpus >= 32 && x.memoryGb >= 32 && x.dedicated && x.monthly < chooseServerType("aws", need)!.type.monthly);
  t.deepEqual(cheaper, []);
});

test("the proxy and the monitor may use shared CPUs; the database and DHIS2 get dedicated ones", (t) => {
  t.is(chooseServerType("hcloud", { role: "proxy", cpus: 2, memoryGb: 4, dedicated: false })!.type.name, "cx22");
  t.is(chooseServerType("aws", { role: "proxy", cpus: 2, memoryGb: 4, dedicated: false })!.type.name, "t3.medium");
  t.is(chooseServerType("hcloud", { role: "instance", cpus: 2, memoryGb: 4, dedicated: true })!.type.name, "ccx13");
  t.false(chooseServerType("aws", { role: "instance", cpus: 2, memoryGb: 4, dedicated: true })!.type.name.startsWith("t3"));
  const plan = load({ ...cloudStack({ isolation: "vm", cpus: 8, memoryGb: 16 }) }).plan;
  const types = Object.fromEntries(planCloud(plan).cloud!.servers.map((s) => [s.name, s.choice.type]));
  t.true(types.database!.dedicated && types.production!.dedicated);
  t.false(types.proxy!.dedicated);
});

test("a location that does not offer a type gets the next cheapest (CX only in Europe)", (t) => {
  t.is(chooseServerType("hcloud", { role: "proxy", cpus: 2, memoryGb: 4, dedicated: false, location: "fsn1" })!.type.name, "cx22");
  t.is(chooseServerType("hcloud", { role: "proxy", cpus: 2, memoryGb: 4, dedicated: false, location: "ash" })!.type.name, "cpx21");
  for (const x of HCLOUD_TYPES.filter((y) => y.name.startsWith("cx"))) t.deepEqual(x.locations, ["fsn1", "nbg1", "hel1"]);
});

test("an explicit serverType wins; one the table does not know is used with a warning", (t) => {
  t.is(chooseServerType("hcloud", { role: "database", cpus: 32, memoryGb: 32, dedicated: true, override: "ccx63" })!.type.name, "ccx63");
  const raw = cloudStack({ isolation: "vm", cpus: 8, memoryGb: 16 });
  (raw.sizes as Record<string, Record<string, unknown>>).database!.serverType = "ccx99";
  const loaded = load(raw);
  t.is(planCloud(loaded.plan).cloud!.servers.find((s) => s.name === "database")!.choice.type.name, "ccx99");
  t.true(loaded.warnings.some((w) => w.includes("ccx99") && w.includes("not in the toolkit's hcloud table")));
});

test("a size no type of the table has is refused before anything is touched, naming the key", (t) => {
  const memory = t.throws(() => load(cloudStack({ isolation: "vm", cpus: 8, memoryGb: 300 })), { instanceOf: ConfigError })!;
  t.true(memory.problems.some((p) => p.key === "dhis2:sizes.database.memoryGb" && p.value === 300), memory.message);
  const raw = cloudStack({ isolation: "vm", cpus: 64, memoryGb: 512 });
  const e = t.throws(() => load(raw), { instanceOf: ConfigError })!;
  t.true(e.problems.some((p) => p.key === "dhis2:sizes.database.cpus" && /no hcloud server type in fsn1 has 64 dedicated vCPUs and 512 GB .*ccx63/.test(p.message)), e.message);
});

test("monthly prices: per cloud, servers and volumes, from the dated table", (t) => {
  const hc = planCloud(load(cloudStack({ isolation: "vm", cpus: 32, memoryGb: 32 })).plan).cloud!;
  t.deepEqual(hc.servers.map((s) => s.choice.type.name), ["cx22", "ccx53", "ccx53", "cx22"]);
  t.is(hc.monthly.servers, Math.round((3.79 * 2 + 192.49 * 2) * 100) / 100);
  t.is(hc.monthly.currency, "EUR");
  t.true(hc.monthly.volumes > 0);
});
