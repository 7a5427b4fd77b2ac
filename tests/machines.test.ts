/**
 * Tuning follows the machine bought (lib/plan/machines.ts): on a cloud the plan is tuned to the
 * server type the sizes buy, and a warning names the difference; the JVM heap of a DHIS2 VM of
 * its own leaves half for non-heap and the page cache (lib/plan/jvm.ts).
 */
import test from "ava";
import * as path from "node:path";
import { loadStackFile } from "../lib/load";
import type { Plan } from "../lib/plan";
import { planJvm } from "../lib/plan/jvm";
import { machineWarnings } from "../lib/plan/machines";
import { planCloud } from "../lib/platform/cloud";
import { cloudStack, declaredStack, load } from "./support/stacks";

const PROJECT = path.resolve(__dirname, "..");
const setting = (plan: Plan, name: string) => plan.postgres.settings.find((s) => s.name === name)?.value;

test("example-hcloud: the database is tuned to the ccx53's 128 GB it gets, and a warning names the difference", (t) => {
  const { plan, warnings, cloud } = loadStackFile(PROJECT, "example-hcloud");
  const db = plan.machines.find((m) => m.node === "database")!;
  t.is(db.choice.type.name, "ccx53");
  t.deepEqual([db.declared.memoryMb, db.memoryMb], [32 * 1024, 128 * 1024]);
  t.is(setting(plan, "shared_buffers"), "32GB");
  t.is(setting(plan, "effective_cache_size"), "96GB");
  t.is(setting(plan, "maintenance_work_mem"), "8GB");
  // the cloud plan buys the same type the plan was tuned to
  t.is(cloud!.servers.find((s) => s.name === "database")!.choice.type.name, "ccx53");
  const w = warnings.find((x) => x.startsWith("dhis2:sizes.database "));
  t.truthy(w, warnings.join("\n"));
  t.regex(w!, /declares 32 CPU \/ 32 GB; database gets ccx53 with 32 CPU \/ 128 GB .*more than declared: PostgreSQL is tuned to 32 CPU \/ 128 GB/);
  // the production instance's VM is a ccx53 as well: its heap stops at 31 GB (compressed object pointers)
  const production = plan.instances.find((i) => i.config.name === "production")!;
  t.is(production.node.budget.memoryMb, 128 * 1024);
  t.is(production.jvm.heapMb, 31 * 1024);
});

test("a size that is exactly a type's gives no warning; the same size on an existing server is tuned as declared", (t) => {
  const cloud = load(cloudStack({ isolation: "vm", cpus: 8, memoryGb: 32 })); // ccx33: 8 vCPU, 32 GB
  t.is(cloud.plan.machines.find((m) => m.node === "database")!.choice.type.name, "ccx33");
  t.false(cloud.warnings.some((w) => w.startsWith("dhis2:sizes.database ")), cloud.warnings.join("\n"));
  const existing = load(declaredStack({ isolation: "vm", cpus: 8, memoryGb: 24 }));
  t.deepEqual(existing.plan.machines, []);
  t.is(existing.plan.sizing.database.memoryMb, 24 * 1024);
  t.is(setting(existing.plan, "shared_buffers"), "6GB");
});

test("a pinned type smaller than the declared size is tuned to the type and warned about; an unknown type keeps the declared size", (t) => {
  const raw = cloudStack({ isolation: "vm", cpus: 8, memoryGb: 32 });
  const sizes = raw.sizes as Record<string, Record<string, unknown>>;
  const small = load({ ...raw, sizes: { ...sizes, database: { ...sizes.database, serverType: "ccx23" } } });
  t.is(small.plan.sizing.database.memoryMb, 16 * 1024);
  t.is(setting(small.plan, "shared_buffers"), "4GB");
  t.true(small.warnings.some((w) => /^dhis2:sizes\.database .*ccx23 .*LESS than declared/.test(w)), small.warnings.join("\n"));
  const unknown = load({ ...raw, sizes: { ...sizes, database: { ...sizes.database, serverType: "ccx99" } } });
  t.is(unknown.plan.sizing.database.memoryMb, 32 * 1024);
  t.deepEqual(machineWarnings(unknown.plan.machines.filter((m) => m.node === "database")), []);
  t.true(unknown.warnings.some((w) => w.includes("serverType ccx99 of database is not in the toolkit's hcloud table")));
});

test("isolation lxd on a cloud: the containers share the LXD server's type, not the declared host", (t) => {
  const { plan, warnings } = load(cloudStack({ isolation: "lxd", cpus: 16, memoryGb: 32 })); // ccx43: 16 vCPU, 64 GB
  t.is(plan.machines[0]!.choice.type.name, "ccx43");
  t.is(plan.sizing.host!.memoryGb, 64);
  const declared = load(declaredStack({ isolation: "lxd", cpus: 16, memoryGb: 32 })).plan;
  t.true(plan.sizing.database.memoryMb > declared.sizing.database.memoryMb);
  t.is(planCloud(plan).cloud!.servers[0]!.choice.type.name, "ccx43");
  t.true(warnings.some((w) => /^dhis2:sizes\.host declares 16 CPU \/ 32 GB; host gets ccx43 with 16 CPU \/ 64 GB .*the LXD containers' shares/.test(w)), warnings.join("\n"));
});

test("no type large enough: the plan refuses at the size key, naming the largest type", (t) => {
  const err = t.throws(() => load(cloudStack({ isolation: "vm", cpus: 64, memoryGb: 32 })));
  t.regex(err!.message, /dhis2:sizes\.database\.cpus.*no hcloud server type in fsn1 has 64 dedicated vCPUs.*ccx63/s);
});

test("the heap of a DHIS2 VM of its own: half of what the OS leaves, so non-heap and the page cache keep the other half; 31 GB at most", (t) => {
  const vm = (memoryGb: number) => planJvm({ name: "production" } as never, 0, { role: "instance", name: "production", cpus: 16, memoryMb: memoryGb * 1024, disk: "ssd", diskGb: 100 }, 16, "vm").jvm!;
  const v32 = vm(32);
  t.is(v32.heapMb, 15 * 1024); // (32 GB − 2 GB for the OS) / 2; it used to be 26 GB
  t.is(v32.nonHeapMb, 17 * 1024);
  t.true(v32.javaOpts.includes("-Xmx15360m"));
  t.is(vm(8).heapMb, 3840); // (8 GB − 512 MB for the OS) / 2
  t.is(vm(128).heapMb, 31 * 1024);
  // a container keeps its former rule: the host's page cache is shared and PostgreSQL is elsewhere
  const lxd = planJvm({ name: "production" } as never, 0, { role: "instance", name: "production", cpus: 8, memoryMb: 16 * 1024, disk: "ssd", diskGb: 20 }, 8, "lxd").jvm!;
  t.is(lxd.heapMb, 16 * 1024 - 512 - 3968);
});
