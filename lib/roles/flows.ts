/**
 * Helpers for the flows roles open (lib/roles/types.ts Flow): who a source is, and the builder
 * the roles write their flows with. The whole list is ./registry.ts deploymentFlows: the single
 * source of the host firewalls (nftables), the cloud firewalls and the end-to-end flow checks.
 */
import { allNodes, type Node, type Topology } from "../plan/topology";
import type { Flow, FlowSource } from "./types";

/** The private address of a flow's source (a CIDR for on-demand instances; undefined for internet/admin). */
export function sourceAddress(t: Topology, s: FlowSource): string | undefined {
  if (s.kind === "onDemand") return t.onDemand;
  return s.kind === "node" ? allNodes(t).find((n) => n.name === s.name)?.address : undefined;
}

/** A flow source that is a node. */
export function fromNode(n: Node): FlowSource {
  return { kind: "node", name: n.name };
}

/** A flow from a source to a node. */
export function flow(from: FlowSource, to: Node, port: number, purpose: string): Flow {
  return { from, to: to.name, port, purpose };
}

/** Flows into one node. */
export function flowsTo(flows: readonly Flow[], name: string): Flow[] {
  return flows.filter((f) => f.to === name);
}
