/**
 * Sizing → tuning: pure functions, checked over the whole range of hosts the toolkit accepts
 * (1 CPU / 2 GB to 128 CPUs / 512 GB) with fast-check, plus the reference host's exact values.
 */
import test from "ava";
import fc from "fast-check";
import { ConfigError } from "../lib/config/model";
import type { Plan } from "../lib/plan";
import { tunePostgres } from "../lib/plan/postgres";
import { hostReserve, MINIMUM } from "../lib/plan/sizing";
import { allNodes } from "../lib/plan/topology";
import { cloudStack, declaredStack, load } from "./support/stacks";
import { validateStackConfig } from "../lib/config/validate";
import { buildPlan } from "../lib/plan";

const setting = (plan: Plan, name: string) => plan.postgres.settings.find((s) => s.name === name)?.value;

/** PostgreSQL memory text → kB. */
function kb(value: string): number {
  const m = /^(\d+)(kB|MB|GB|TB)$/.exec(value);
  if (!m) throw new Error(`not a memory value: ${value}`);
  return Number(m[1]) * { kB: 1, MB: 1024, GB: 1024 ** 2, TB: 1024 ** 3 }[m[2] as "kB"];
}

const hosts = fc.record({
  cpus: fc.integer({ min: 4, max: 512 }).map((q) => q / 4), // 1 to 128 CPUs in quarters
  memoryGb: fc.integer({ min: 8, max: 2048 }).map((q) => q / 4), // 2 to 512 GB in quarters
  disk: fc.constantFrom("ssd" as const, "nvme" as const, "hdd" as const),
  instances: fc.integer({ min: 1, max: 3 }),
});

/**
 * Validate and plan on declared sizes (platform existing: a cloud stack would be tuned to the
 * server type its sizes buy, tested below and in tests/platforms),
 * or return the ConfigError for a host too small (never anything else).
 */
function planOrTooSmall(raw: Record<string, unknown>): Plan | ConfigError {
  const v = validateStackConfig("test", raw);
  if (!v.config) return new ConfigError("test", v.problems);
  const p = buildPlan(v.config);
  return p.plan ?? new ConfigError("test", p.problems);
}

for (const isolation of ["lxd", "vm"] as const) {
  test(`${isolation}: budgets never exceed the host, every role gets its minimum, or the stack is refused naming the size key`, (t) => {
    fc.assert(fc.property(hosts, (h) => {
      const result = planOrTooSmall(declaredStack({ isolation, ...h }));
      if (result instanceof ConfigError) {
        // only sizes can make a valid stack fail here, and the error must name the key to change
        return result.problems.every((p) => /^dhis2:(sizes\.(host|database|instance|proxy|monitor)|instances\[\d+\]\.size)\.(memoryGb|cpus)$/.test(p.key));
      }
      const nodes = allNodes(result.topology);
      for (const n of nodes) {
        if (n.budget.memoryMb < MINIMUM[n.role].memoryMb || n.budget.cpus < MINIMUM[n.role].cpus - 1e-9) return false;
      }
      if (isolation === "lxd") {
        const host = result.sizing.host!;
        const reserve = hostReserve(host.cpus, host.memoryGb * 1024);
        const mem = nodes.reduce((a, n) => a + n.budget.memoryMb, 0);
        const cpus = nodes.reduce((a, n) => a + n.budget.cpus, 0);
        if (mem + reserve.memoryMb > host.memoryGb * 1024) return false;
        if (cpus + reserve.cpus > host.cpus + 1e-9) return false;
      }
      // database: shared_buffers + maintenance_work_mem fit its memory; instances: heap + non-heap = budget
      const dbKb = result.sizing.database.memoryMb * 1024;
      if (kb(setting(result, "shared_buffers")!) + kb(setting(result, "maintenance_work_mem")!) > dbKb) return false;
      for (const i of result.instances) {
        if (i.jvm.heapMb + i.jvm.nonHeapMb !== i.node.budget.memoryMb) return false;
        if (i.jvm.heapMb > 31 * 1024) return false;
      }
      return true;
    }), { numRuns: 400 });
    t.pass();
  });

  test(`${isolation}: PostgreSQL memory settings and the heap grow with memory`, (t) => {
    const pairs = fc.tuple(hosts, fc.integer({ min: 1, max: 400 }).map((q) => q / 4));
    let compared = 0;
    fc.assert(fc.property(pairs, ([h, extraGb]) => {
      const small = planOrTooSmall(declaredStack({ isolation, ...h }));
      const big = planOrTooSmall(declaredStack({ isolation, ...h, memoryGb: Math.min(512, h.memoryGb + extraGb) }));
      if (small instanceof ConfigError) return true; // a bigger host may fit where a smaller did not
      if (big instanceof ConfigError) return false; // more memory never makes a valid stack invalid
      compared++;
      for (const name of ["shared_buffers", "effective_cache_size", "maintenance_work_mem", "work_mem"]) {
        if (kb(setting(big, name)!) < kb(setting(small, name)!)) return false;
      }
      return big.instances.every((inst, i) => inst.jvm.heapMb >= small.instances[i]!.jvm.heapMb);
    }), { numRuns: 300 });
    t.true(compared > 100, `only ${compared} comparable pairs`);
  });
}

test("reference host (32 CPUs / 32 GB / SSD, dedicated database server): the settings of docs/sizing.md", (t) => {
  const plan = load(declaredStack({ isolation: "vm", cpus: 32, memoryGb: 32 })).plan;
  t.deepEqual(
    Object.fromEntries(["max_connections", "shared_buffers", "effective_cache_size", "maintenance_work_mem", "work_mem", "wal_buffers",
      "random_page_cost", "effective_io_concurrency", "max_worker_processes", "max_parallel_workers_per_gather", "jit",
      "max_locks_per_transaction", "track_activity_query_size", "synchronous_commit", "huge_pages"].map((n) => [n, setting(plan, n)])),
    {
      max_connections: "100", shared_buffers: "8GB", effective_cache_size: "24GB", maintenance_work_mem: "2GB", work_mem: "62MB",
      wal_buffers: "16MB", random_page_cost: "1.1", effective_io_concurrency: "200", max_worker_processes: "32",
      max_parallel_workers_per_gather: "4", jit: "off", max_locks_per_transaction: "128", track_activity_query_size: "8kB",
      synchronous_commit: "on", huge_pages: "try",
    },
  );
  t.is(plan.instances[0]!.jvm.heapMb, 15360); // half of 32 GB − 2 GB for the OS: the rest for non-heap and the page cache
  t.is(plan.instances[0]!.jvm.poolMaxSize, 80);
});

test("disk kind sets random_page_cost and effective_io_concurrency", (t) => {
  const base = { version: 16, memoryMb: 8192, cpus: 8, maxConnections: 100, synchronousCommit: "on" as const, walWriterDelayMs: 200 };
  const get = (disk: "ssd" | "nvme" | "hdd", name: string) => tunePostgres({ ...base, disk }).find((s) => s.name === name)?.value;
  t.deepEqual([get("ssd", "random_page_cost"), get("nvme", "random_page_cost"), get("hdd", "random_page_cost")], ["1.1", "1.1", "4"]);
  t.deepEqual([get("ssd", "effective_io_concurrency"), get("nvme", "effective_io_concurrency"), get("hdd", "effective_io_concurrency")], ["200", "1000", "2"]);
});

test("only values the PostgreSQL major accepts: wal_compression lz4 from 15, pglz before", (t) => {
  const base = { memoryMb: 8192, cpus: 8, disk: "ssd" as const, maxConnections: 100, synchronousCommit: "on" as const, walWriterDelayMs: 200 };
  for (const version of [13, 14, 15, 16, 17]) {
    const value = tunePostgres({ ...base, version }).find((s) => s.name === "wal_compression")?.value;
    t.is(value, version >= 15 ? "lz4" : "on", `PostgreSQL ${version}`);
  }
});

test("synchronous_commit stays on unless the stack opts out; opting out sets wal_writer_delay and states the loss window", (t) => {
  const on = load(cloudStack({ isolation: "vm", cpus: 8, memoryGb: 16 }));
  t.is(setting(on.plan, "synchronous_commit"), "on");
  t.is(setting(on.plan, "wal_writer_delay"), undefined);
  const off = load({ ...cloudStack({ isolation: "vm", cpus: 8, memoryGb: 16 }), postgres: { synchronousCommit: "off", walWriterDelayMs: 10000 } });
  t.is(setting(off.plan, "synchronous_commit"), "off");
  t.is(setting(off.plan, "wal_writer_delay"), "10s");
  t.true(off.warnings.some((w) => w.includes("30000 ms")), off.warnings.join("\n"));
});

test("max_connections is the sum of the instances' pools plus the reserve", (t) => {
  const raw = cloudStack({ isolation: "vm", cpus: 32, memoryGb: 64, instances: 3 });
  (raw.instances as Record<string, unknown>[])[2]!.connectionPoolMaxSize = 30;
  const plan = load(raw).plan;
  t.deepEqual(plan.instances.map((i) => i.jvm.poolMaxSize), [80, 80, 30]);
  t.is(setting(plan, "max_connections"), String(80 + 80 + 30 + 20));
});

test("parallel workers follow the database CPUs and are left at PostgreSQL's defaults below 4 CPUs", (t) => {
  const base = { version: 16, memoryMb: 8192, disk: "ssd" as const, maxConnections: 100, synchronousCommit: "on" as const, walWriterDelayMs: 200 };
  const small = tunePostgres({ ...base, cpus: 2 });
  t.false(small.some((s) => s.name.startsWith("max_parallel") || s.name === "max_worker_processes"));
  const big = tunePostgres({ ...base, cpus: 16 });
  t.is(big.find((s) => s.name === "max_parallel_workers")?.value, "16");
  t.is(big.find((s) => s.name === "max_parallel_workers_per_gather")?.value, "4");
});

test("lxd: raising the host's memory retunes the database and the heap but keeps addresses", (t) => {
  const before = load(declaredStack({ isolation: "lxd", cpus: 32, memoryGb: 32 })).plan;
  const after = load(declaredStack({ isolation: "lxd", cpus: 32, memoryGb: 64 })).plan;
  t.true(kb(setting(after, "shared_buffers")!) > kb(setting(before, "shared_buffers")!));
  t.true(after.instances[0]!.jvm.heapMb > before.instances[0]!.jvm.heapMb);
  t.deepEqual(allNodes(after.topology).map((n) => n.address), allNodes(before.topology).map((n) => n.address));
});

test("autovacuum follows pgtune: 3 workers, 4 from 16 CPUs, 5 from 32; each at most 2 GB, never more than maintenance_work_mem", (t) => {
  const base = { version: 16, disk: "ssd" as const, maxConnections: 100, synchronousCommit: "on" as const, walWriterDelayMs: 200 };
  const get = (cpus: number, memoryGb: number, name: string) => tunePostgres({ ...base, cpus, memoryMb: memoryGb * 1024 }).find((s) => s.name === name)?.value;
  t.deepEqual([8, 15, 16, 31, 32, 128].map((cpus) => get(cpus, 64, "autovacuum_max_workers")), ["3", "3", "4", "4", "5", "5"]);
  // at 128 GB maintenance_work_mem is 8 GB; without the cap 5 workers could take 40 GB
  t.is(get(32, 128, "maintenance_work_mem"), "8GB");
  t.is(get(32, 128, "autovacuum_work_mem"), "2GB");
  t.is(get(4, 8, "autovacuum_work_mem"), "512MB");
  t.true(tunePostgres({ ...base, cpus: 32, memoryMb: 128 * 1024 }).find((s) => s.name === "autovacuum_max_workers")!.restart);
});

test("huge_pages: try from 2 GB of shared_buffers, off below (pgtune)", (t) => {
  const base = { version: 16, cpus: 4, disk: "ssd" as const, maxConnections: 100, synchronousCommit: "on" as const, walWriterDelayMs: 200 };
  const get = (memoryGb: number) => tunePostgres({ ...base, memoryMb: memoryGb * 1024 }).find((s) => s.name === "huge_pages")?.value;
  t.deepEqual([2, 4, 7.75, 8, 64].map(get), ["off", "off", "off", "try", "try"]);
});

test("autovacuum memory never exceeds what the database has left beside shared_buffers and maintenance_work_mem", (t) => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 128 }), fc.integer({ min: 2, max: 512 }), (cpus, memoryGb) => {
    const s = tunePostgres({ version: 16, cpus, memoryMb: memoryGb * 1024, disk: "ssd", maxConnections: 100, synchronousCommit: "on", walWriterDelayMs: 200 });
    const v = (n: string) => s.find((x) => x.name === n)!.value;
    const autovacuum = Number(v("autovacuum_max_workers")) * kb(v("autovacuum_work_mem"));
    return kb(v("autovacuum_work_mem")) <= Math.min(2 * 1024 ** 2, kb(v("maintenance_work_mem")))
      && kb(v("shared_buffers")) + kb(v("maintenance_work_mem")) + autovacuum <= memoryGb * 1024 ** 2;
  }), { numRuns: 300 });
  t.pass();
});
