/**
 * The roles of the deployment, and which run on which node. Adding a role: its module under
 * lib/roles/<role>/ (templates under templates/<role>/), and a line here.
 */
import type { Plan } from "../plan";
import { allNodes } from "../plan/topology";
import { backsUp, backup } from "./backup";
import { common } from "./common";
import { database } from "./database";
import { instance } from "./instance";
import { lxdHost, lxdHostNode } from "./lxd-host";
import { monitor } from "./monitor";
import { proxy } from "./proxy";
import type { Flow, HostNode, Role } from "./types";

/** Each node's own role, by the node's role name. */
const BY_NODE_ROLE: Readonly<Record<string, Role>> = {
  proxy,
  instance,
  database,
  monitor,
  "lxd-host": lxdHost,
};

/** Roles whose flows the firewalls allow, in the order their rules appear. */
const ALL: readonly Role[] = [proxy, instance, database, monitor, common];

/** A node's own role. */
export function roleOf(node: Pick<HostNode, "role">): Role {
  const own = BY_NODE_ROLE[node.role];
  if (!own) throw new Error(`no role module for ${node.role} (lib/roles/registry.ts)`);
  return own;
}

/**
 * The roles on a node: its own, then `backup` (the database and each instance, unless
 * dhis2:backup.enabled is false), then `common` (every node of the topology; not the LXD server).
 */
export function rolesOf(node: HostNode, plan: Plan): Role[] {
  const own = roleOf(node);
  if (node.role === "lxd-host") return [own];
  return backsUp(plan, node) ? [own, backup, common] : [own, common];
}

/** Every host of the deployment with its roles: the topology's nodes, then the LXD server when there is one. */
export function deploymentHosts(plan: Plan): HostNode[] {
  const host = lxdHostNode(plan);
  return [...allNodes(plan.topology), ...(host ? [host] : [])];
}

/**
 * Every flow of the deployment: the single source of the host firewalls, the cloud firewalls and
 * the end-to-end flow checks; anything not listed is refused.
 */
export function deploymentFlows(plan: Plan): Flow[] {
  return ALL.flatMap((r) => r.flows(plan));
}
