/**
 * The tuning table an administrator reads before a change: per role the CPUs, memory and disk it
 * gets; the PostgreSQL settings; per instance the heap and connection pool. Plain text (Markdown
 * tables), printed by `npm run render` and embedded in docs/sizing.md.
 */
import type { Plan } from "../plan";
import { allNodes } from "../plan/topology";
import { humanMb } from "../plan/units";

export function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = [header, ...rows].map((r) => r.map(String));
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const line = (r: readonly string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(cells[0]!), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...cells.slice(1).map(line)].join("\n");
}

export function tuningReport(plan: Plan): string {
  const { config, sizing, topology } = plan;
  const out: string[] = [];
  const where = config.isolation === "lxd"
    ? `one LXD host of ${sizing.host!.cpus} CPUs / ${humanMb(sizing.host!.memoryGb * 1024)} / ${sizing.host!.disk}; the host OS keeps ${sizing.host!.reservedCpus} CPUs and ${humanMb(sizing.host!.reservedMemoryMb)}`
    : "one server per role";
  out.push(`Stack ${config.stack}: platform ${config.platform}, isolation ${config.isolation} (${where}); PostgreSQL ${plan.postgres.version}.`);
  out.push("");
  out.push(config.isolation === "lxd" ? "Container limits" : "Servers");
  out.push("");
  out.push(table(
    ["role", "host name", "address", "CPUs", "memory", "disk"],
    allNodes(topology).map((n) => [n.role === "instance" ? `instance ${n.name}` : n.role, n.hostname, n.address, n.budget.cpus, humanMb(n.budget.memoryMb), `${n.budget.diskGb} GB ${n.budget.disk}`]),
  ));
  if (sizing.host) {
    const nodes = allNodes(topology);
    const cpus = nodes.reduce((a, n) => a + n.budget.cpus, 0);
    const mem = nodes.reduce((a, n) => a + n.budget.memoryMb, 0);
    out.push("");
    out.push(`Containers together: ${+cpus.toFixed(2)} of ${sizing.host.cpus} CPUs, ${humanMb(mem)} of ${humanMb(sizing.host.memoryGb * 1024)}.`);
  }
  out.push("");
  out.push("DHIS2 instances");
  out.push("");
  out.push(table(
    ["instance", "DHIS2", "URL", "JDK", "container", "heap", "non-heap", "pool (connection.pool.max_size)"],
    plan.instances.map((i) => [
      i.config.name, i.config.runtime.display, i.config.baseUrl, i.config.jdk, i.config.servletContainer,
      `${humanMb(i.jvm.heapMb)}${i.jvm.heapFromStack ? " (set in stack)" : ""}`, humanMb(i.jvm.nonHeapMb), i.jvm.poolMaxSize,
    ]),
  ));
  out.push("");
  out.push(`PostgreSQL ${plan.postgres.version} (database gets ${sizing.database.cpus} CPUs, ${humanMb(sizing.database.memoryMb)}, ${sizing.database.disk})`);
  out.push("");
  out.push(table(["setting", "value", "why"], plan.postgres.settings.map((s) => [s.name, s.value, `${s.why}${s.restart ? " [restart]" : ""}`])));
  return out.join("\n");
}
