/**
 * The host verification of each node (templates/host/verify-host.sh.hbs): the script that measures
 * what the node really has, and the size it is checked against (./host-facts.ts judges). It runs
 * after the node's roles started, and again whenever the script changes (a new declared size or
 * server type changes its header): a hardware upgrade is verified by the `pulumi up` that makes it.
 */
import type { Plan } from "../plan";
import { allNodes } from "../plan/topology";
import { rolesOf } from "../roles/registry";
import type { HostNode } from "../roles/types";
import { renderTemplate } from "./engine";
import type { ExpectedHost } from "./host-facts";
import { shellQuote } from "./shell";

/** How long the script samples CPU steal and runs fio, seconds. */
export const VERIFY_SECONDS = { steal: 5, fio: 10 } as const;

export interface HostVerification {
  readonly script: string;
  readonly expected: ExpectedHost;
}

/** The size a node is checked against: its budget (on clouds the server type's), or the LXD server's. */
export function expectedHost(plan: Plan, node: HostNode): ExpectedHost {
  if (node.role === "lxd-host") {
    const host = plan.sizing.host!;
    return { node: node.name, key: "dhis2:sizes.host", cpus: host.cpus, memoryMb: Math.round(host.memoryGb * 1024), disk: host.disk };
  }
  const n = allNodes(plan.topology).find((x) => x.name === node.name);
  if (!n) throw new Error(`no node ${node.name} in the plan`);
  const index = plan.instances.findIndex((i) => i.config.name === n.name);
  const key = n.role === "instance" ? `dhis2:instances[${index}].size` : `dhis2:sizes.${n.name}`;
  return { node: n.name, key, cpus: n.budget.cpus, memoryMb: n.budget.memoryMb, disk: n.budget.disk };
}

export function hostVerification(plan: Plan, node: HostNode): HostVerification {
  const expected = expectedHost(plan, node);
  // the disk that matters: the role's data volume (PostgreSQL's clusters), else the root disk
  const dir = rolesOf(node, plan).flatMap((r) => r.dataVolumes({ plan, node }))[0]?.path ?? "/var/tmp";
  const script = renderTemplate("host/verify-host.sh.hbs", {
    stack: plan.config.stack,
    hostname: node.hostname,
    role: node.role,
    declaredCpus: expected.cpus,
    declaredMemoryMb: expected.memoryMb,
    disk: expected.disk,
    dirQuoted: shellQuote(dir),
    stealSeconds: VERIFY_SECONDS.steal,
    fioSeconds: VERIFY_SECONDS.fio,
  });
  return { script, expected };
}
