/**
 * Plan → everything each host of the deployment gets, from the roles that run on it
 * (lib/roles/registry.ts): its packages, files, set-up and start scripts and role steps, in the
 * order they run (./converge.ts), cloud-init user-data where the toolkit creates the server, and
 * the post-provision scripts.
 *
 * Pure, and done once: secrets are placeholders (./secrets.ts) that `pulumi up` fills in inside
 * secret Outputs, only in the files and steps marked secret.
 */
import type { Plan } from "../plan";
import { deploymentFlows, deploymentHosts, rolesOf } from "../roles/registry";
import type { AptSource, Flow, HostNode, PostProvisionScript, RoleContext, RoleStep, RoleStepInputs } from "../roles/types";
import { previewArtifact, type ArtifactResolver } from "./artifacts";
import { userDataFor } from "./cloud-init";
import { convergence, type ConvergeStep } from "./converge";
import type { RenderedFile } from "./file";
import type { DeploymentSecrets } from "./secrets";
import { hostVerification, type HostVerification } from "./verify-host";

export interface HostPlan {
  /** Node name (proxy, database, monitor, an instance name) or "host" for the LXD server. */
  readonly host: string;
  readonly role: string;
  readonly hostname: string;
  readonly address: string;
  /** Distribution packages its set-up installs. */
  readonly packages: readonly string[];
  /** Services its set-up masks before installing the packages (the toolkit's own units replace them). */
  readonly masked: readonly string[];
  /** apt repositories its set-up adds (software its system does not package). */
  readonly repositories: readonly AptSource[];
  /** Services its start script (re)starts, in order. */
  readonly services: readonly string[];
  readonly files: readonly RenderedFile[];
  /** What runs on it, in order; the files are written at the `files` step. */
  readonly steps: readonly ConvergeStep[];
  /** cloud-init user-data, for servers the toolkit creates on hcloud or aws. */
  readonly userData?: string;
  /** Scripts run on the host after every role has started (e.g. tracker search indexes). */
  readonly postProvision: readonly PostProvisionScript[];
  /** The host verification run after its roles started (./verify-host.ts). */
  readonly verify: HostVerification;
}

export interface RenderOptions {
  /** The secrets' placeholders (./secrets.ts placeholderSecrets). */
  readonly secrets: DeploymentSecrets;
  /** How a node's WAR or archive source becomes an artifact. Default: as `npm run render` shows it. */
  readonly artifact?: (node: string) => ArtifactResolver;
}

/** The roles' context on one host. */
function contextOf(plan: Plan, node: HostNode, flows: readonly Flow[]): RoleContext {
  const base: RoleContext = { plan, node, flows, muninSections: [], statusChecks: [] };
  const roles = rolesOf(node, plan);
  const muninSections = roles.flatMap((r) => r.muninPluginSettings(base)).map((s) => s.trimEnd());
  const statusChecks = roles.flatMap((r) => r.statusChecks(base));
  return { ...base, muninSections, statusChecks };
}

/** Everything every host of the deployment gets. */
export function renderDeployment(plan: Plan, opts: RenderOptions): HostPlan[] {
  const flows = deploymentFlows(plan);
  return deploymentHosts(plan).map((node) => {
    const ctx = contextOf(plan, node, flows);
    const roles = rolesOf(node, plan);
    // the node's own role first, then common: files and services; packages common first
    const files = roles.flatMap((r) => r.files(ctx, opts.secrets));
    const packages = [...roles].reverse().flatMap((r) => r.packages(ctx));
    const services = roles.flatMap((r) => r.services(ctx));
    const artifact = opts.artifact?.(node.name) ?? previewArtifact;
    const roleSteps = roles.flatMap((r) => r.steps(ctx, { artifact, databasePasswords: opts.secrets.databasePasswords }));
    return {
      host: node.name,
      role: node.role,
      hostname: node.hostname,
      address: node.address,
      packages,
      masked: roles.flatMap((r) => r.setup(ctx).masked ?? []),
      repositories: roles.flatMap((r) => r.setup(ctx).repositories ?? []),
      services,
      files,
      steps: convergence(ctx, roles, { packages, services, files, roleSteps }),
      userData: userDataFor(plan, node),
      postProvision: roles.flatMap((r) => r.postProvision(ctx)),
      verify: hostVerification(plan, node),
    };
  });
}

/** The script of a host's step by name (setup, start, or a role step's name). */
export function scriptOf(host: HostPlan, name: string): string {
  const step = host.steps.find((s) => s.kind === "script" && s.name === name);
  if (!step || step.kind !== "script") throw new Error(`${host.host} has no step ${name}`);
  return step.script;
}

/** The role steps of one node (by name), with the given artifacts and database passwords. */
export function nodeRoleSteps(plan: Plan, nodeName: string, inputs: RoleStepInputs): RoleStep[] {
  const node = deploymentHosts(plan).find((n) => n.name === nodeName);
  if (!node) throw new Error(`no node ${nodeName} in the plan`);
  const ctx = contextOf(plan, node, deploymentFlows(plan));
  return rolesOf(node, plan).flatMap((r) => r.steps(ctx, inputs));
}
