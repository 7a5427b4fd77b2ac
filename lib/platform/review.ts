/**
 * The hardware-upgrade review, part one: what a change of the stack does to the plan, before any
 * resource is looked at. Two loaded plans (the stack as it is, and with the overrides) → the
 * sizes, server types and prices, PostgreSQL settings, heaps and pools that change, old → new with
 * why, and what restarts. Pure: `npm run review` (scripts/review.ts) prints it; ./preview.ts adds
 * what Pulumi would do to the resources.
 */
import type { Plan } from "../plan";
import { OS_IMAGES } from "../os/images";
import { allNodes } from "../plan/topology";
import { humanMb } from "../plan/units";
import { table } from "../render/report";
import { cloudChanges, type CloudPlan, type ResourceChange } from "./cloud";

export interface Reviewed {
  readonly plan: Plan;
  readonly cloud?: CloudPlan;
}

export interface Change {
  readonly what: string;
  readonly before: string;
  readonly after: string;
  readonly why: string;
}

export interface PlanReview {
  /** Nodes that move to another operating system: a new container, or a server reinstalled or replaced. */
  readonly systems: readonly Change[];
  /** A change of PostgreSQL's major version: an upgrade in place, or a refused downgrade (`refused`). */
  readonly postgres?: Change & { readonly refused: boolean };
  readonly sizes: readonly Change[];
  readonly servers: readonly Change[];
  /** Monthly price of the servers and volumes, before and after (clouds). */
  readonly monthly?: { readonly before: number; readonly after: number; readonly currency: string };
  readonly settings: readonly Change[];
  readonly jvm: readonly Change[];
  /** What restarts (or reloads) to apply it. */
  readonly restarts: readonly string[];
  /** Cloud resources replaced or deleted by the change (lib/platform/cloud.ts cloudChanges). */
  readonly cloudResources: readonly ResourceChange[];
}

const sizeOf = (cpus: number, memoryMb: number) => `${+cpus.toFixed(2)} CPU / ${humanMb(memoryMb)}`;

export function reviewPlans(before: Reviewed, after: Reviewed): PlanReview {
  const sizes: Change[] = [];
  const oldNodes = new Map(allNodes(before.plan.topology).map((n) => [n.name, n]));
  const systems: Change[] = [];
  const container = after.plan.config.isolation === "lxd";
  for (const n of allNodes(after.plan.topology)) {
    const o = oldNodes.get(n.name);
    if (!o || o.os === n.os) continue;
    systems.push({
      what: n.name, before: OS_IMAGES[o.os].name, after: OS_IMAGES[n.os].name,
      why: container
        ? "a new container from the other system's image: every package installed anew, the services down meanwhile; the data volumes stay"
        : after.plan.config.platform === "existing"
          ? "the server must run the new system before pulumi up (reinstall it): the set-up refuses a server whose system differs"
          : "a new server from the other system's image (the data volume stays)",
    });
  }
  const [pgBefore, pgAfter] = [before.plan.postgres.version, after.plan.postgres.version];
  const postgres = pgBefore === pgAfter ? undefined : {
    what: "PostgreSQL", before: String(pgBefore), after: String(pgAfter), refused: pgAfter < pgBefore,
    why: pgAfter < pgBefore
      ? "REFUSED: PostgreSQL cannot go down a major version; the database's set-up stops before any package (restore a dump into a new server to run an older major)"
      : "upgraded in place by the database's set-up: a backup, then pg_upgradecluster (pg_upgrade's copy: the data volume needs free space as large as the data); the old cluster kept, stopped (docs/upgrades.md)",
  };
  for (const n of allNodes(after.plan.topology)) {
    const o = oldNodes.get(n.name);
    const [b, a] = [o ? sizeOf(o.budget.cpus, o.budget.memoryMb) : "(new)", sizeOf(n.budget.cpus, n.budget.memoryMb)];
    const disk = (x: typeof n) => `${x.budget.diskGb} GB ${x.budget.disk}`;
    if (b !== a || (o && disk(o) !== disk(n))) {
      sizes.push({ what: n.name, before: o ? `${b}, ${disk(o)}` : b, after: `${a}, ${disk(n)}`, why: after.plan.config.isolation === "lxd" ? "container limits (changed in place)" : "the server's size" });
    }
  }
  const bh = before.plan.sizing.host, ah = after.plan.sizing.host;
  if (bh && ah && (bh.cpus !== ah.cpus || bh.memoryGb !== ah.memoryGb)) {
    sizes.unshift({ what: "LXD host", before: sizeOf(bh.cpus, bh.memoryGb * 1024), after: sizeOf(ah.cpus, ah.memoryGb * 1024), why: "the containers share it" });
  }

  const servers: Change[] = [];
  let monthly: PlanReview["monthly"];
  if (before.cloud && after.cloud) {
    const currency = after.cloud.monthly.currency;
    const olds = new Map(before.cloud.servers.map((s) => [s.name, s]));
    for (const s of after.cloud.servers) {
      const o = olds.get(s.name);
      if (o?.choice.type.name === s.choice.type.name) continue;
      const price = (x: typeof s) => `${x.choice.type.name} (${x.choice.type.cpus} vCPU, ${x.choice.type.memoryGb} GB, ${x.choice.type.monthly} ${currency}/month)`;
      const diff = o ? s.choice.type.monthly - o.choice.type.monthly : s.choice.type.monthly;
      servers.push({ what: s.name, before: o ? price(o) : "(new)", after: price(s), why: `${diff >= 0 ? "+" : ""}${diff.toFixed(2)} ${currency}/month; ${s.choice.why}` });
    }
    const total = (c: CloudPlan) => Math.round((c.monthly.servers + c.monthly.volumes) * 100) / 100;
    monthly = { before: total(before.cloud), after: total(after.cloud), currency: after.cloud.monthly.currency };
  }

  const settings: Change[] = [];
  const oldSettings = new Map(before.plan.postgres.settings.map((s) => [s.name, s]));
  const dbMemory = humanMb(after.plan.sizing.database.memoryMb);
  for (const s of after.plan.postgres.settings) {
    const o = oldSettings.get(s.name);
    if (o?.value === s.value) continue;
    settings.push({ what: s.name, before: o?.value ?? "(unset)", after: s.value, why: `${s.why} (database: ${dbMemory}, ${after.plan.sizing.database.cpus} CPU)${s.restart ? " [restart]" : ""}` });
  }
  for (const s of before.plan.postgres.settings) {
    if (!after.plan.postgres.settings.some((x) => x.name === s.name)) settings.push({ what: s.name, before: s.value, after: "(PostgreSQL's default)", why: "no longer set" });
  }

  const jvm: Change[] = [];
  const restarts: string[] = [];
  for (const i of after.plan.instances) {
    const o = before.plan.instances.find((x) => x.config.name === i.config.name);
    const heap = (x: typeof i) => `${humanMb(x.jvm.heapMb)} heap, pool ${x.jvm.poolMaxSize}, ${x.jvm.activeProcessorCount} CPUs`;
    if (!o || heap(o) !== heap(i)) {
      jvm.push({ what: i.config.name, before: o ? heap(o) : "(new)", after: heap(i), why: `${humanMb(i.node.budget.memoryMb)} for the instance; non-heap and page cache ${humanMb(i.jvm.nonHeapMb)}` });
      restarts.push(`DHIS2 ${i.config.name}: restarts (JAVA_OPTS or dhis.conf changes)`);
    }
  }
  if (settings.some((s) => s.why.endsWith("[restart]"))) restarts.unshift(`PostgreSQL: restarts (${settings.filter((s) => s.why.endsWith("[restart]")).map((s) => s.what).join(", ")}): every DHIS2 instance loses its connections for a moment`);
  else if (settings.length) restarts.unshift("PostgreSQL: reloads (no setting needs a restart)");
  if (servers.length && after.plan.config.isolation === "vm") restarts.unshift(`servers ${servers.map((s) => s.what).join(", ")}: the provider powers each off to change its type (minutes of downtime each), disks and volumes are kept`);
  const cloudResources = before.cloud && after.cloud ? cloudChanges(before.cloud, after.cloud).filter((c) => c.action === "replace" || c.action === "delete") : [];
  if (postgres && !postgres.refused) restarts.unshift(`PostgreSQL ${pgBefore} → ${pgAfter}: stopped for the upgrade (as long as copying its data takes); every DHIS2 instance loses its database meanwhile`);
  if (systems.length) restarts.unshift(`${systems.map((s) => s.what).join(", ")}: ${container ? "replaced by new containers" : "reinstalled or replaced"} (another system)`);
  return { systems, ...(postgres ? { postgres } : {}), sizes, servers, monthly, settings, jvm, restarts, cloudResources };
}

/** The review as text (Markdown tables), for the terminal and docs/upgrades.md. */
export function formatPlanReview(r: PlanReview): string {
  const out: string[] = [];
  const section = (title: string, rows: readonly Change[], header: readonly string[]) => {
    if (!rows.length) return;
    out.push(title, "", table(header, rows.map((c) => [c.what, `${c.before} → ${c.after}`, c.why])), "");
  };
  if (r.cloudResources.length) {
    out.push("REPLACED OR DELETED (cloud resources)", "");
    for (const c of r.cloudResources) out.push(`  ${c.action.toUpperCase()} ${c.resource} (${c.changed.join(", ") || "removed from the plan"})`);
    out.push("");
  }
  section("Operating systems", r.systems, ["node", "old → new", "what it takes"]);
  section("PostgreSQL major version", r.postgres ? [r.postgres] : [], ["what", "old → new", "what it takes"]);
  section("Sizes", r.sizes, ["node", "old → new", "what"]);
  section("Server types", r.servers, ["server", "old → new", "price difference, why"]);
  if (r.monthly && r.monthly.before !== r.monthly.after) {
    const d = r.monthly.after - r.monthly.before;
    out.push(`Monthly: ${r.monthly.before.toFixed(2)} → ${r.monthly.after.toFixed(2)} ${r.monthly.currency} (${d >= 0 ? "+" : ""}${d.toFixed(2)})`, "");
  }
  section("PostgreSQL settings", r.settings, ["setting", "old → new", "why"]);
  section("DHIS2 JVMs", r.jvm, ["instance", "old → new", "why"]);
  if (r.restarts.length) out.push("What restarts", "", ...r.restarts.map((x) => `  - ${x}`), "");
  if (out.length === 0) out.push("No system, size, server type, setting or heap changes.", "");
  return out.join("\n");
}
