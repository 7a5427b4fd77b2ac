/**
 * What a role is: everything about one component of the deployment in one module
 * (lib/roles/<role>/, with its templates under templates/<role>/), as dhis2-server-tools keeps a
 * role per component. The convergence (lib/render/converge.ts) asks the roles of a node for their
 * packages, files, set-up, services, start checks and steps; the firewalls (host and cloud) ask
 * every role for the flows it opens. Adding a role: a module here and a line in ./registry.ts.
 */
import type { OsId } from "../os/images";
import type { Plan } from "../plan";
import type { ArtifactResolver } from "../render/artifacts";
import type { RenderedFile } from "../render/file";
import type { DeploymentSecrets } from "../render/secrets";

/** Who opens a connection: the internet, the admins' networks, or a node of the deployment. */
export type FlowSource =
  | { readonly kind: "internet" }
  | { readonly kind: "admin" }
  | { readonly kind: "node"; readonly name: string }
  /** The on-demand instances' addresses (Topology.onDemand). */
  | { readonly kind: "onDemand" };

/** A network flow the deployment allows; anything not listed is refused by every firewall. */
export interface Flow {
  readonly from: FlowSource;
  /** Node name. */
  readonly to: string;
  readonly port: number;
  readonly purpose: string;
}

/** When a role step runs: before the files, after the files (before start), after start. */
export type StepPhase = "prepare" | "install" | "after";

/** A role-specific step of one host, as the components run it and `npm run render` shows it. */
export interface RoleStep {
  readonly name: string;
  readonly phase: StepPhase;
  /** Command on the host that gets `script` on stdin; default: a bash script. */
  readonly command?: string;
  readonly script: string;
  /** The script holds secrets. */
  readonly secret?: boolean;
  /** A local file copied to the host first (sha256 as fingerprint). */
  readonly copy?: { readonly localPath: string; readonly remotePath: string; readonly fingerprint: string };
}

/** A script run on a node once every role of the deployment has started (post-provision). */
export interface PostProvisionScript {
  readonly name: string;
  readonly content: string;
  /** The user it runs as on the host. */
  readonly runAs: string;
}

/** An apt repository a role's packages come from (added by the set-up, signed-by its pinned key). */
export interface AptSource {
  /** Short name: the keyring and the sources file are named after it. */
  readonly name: string;
  /** What comes from it, for the comment in the set-up. */
  readonly purpose: string;
  readonly url: string;
  readonly suite: string;
  readonly component: string;
  /** The signing key's URL, and its fingerprint, which must match. */
  readonly key: string;
  readonly fingerprint: string;
}

/** What a role contributes to its node's set-up script (templates/host/setup.sh.hbs). */
export interface RoleSetup {
  /** apt repositories added before the packages are installed (software the system does not package). */
  readonly repositories?: readonly AptSource[];
  /** Services a package below brings that must never run (the toolkit's own unit replaces them). */
  readonly masked?: readonly string[];
  /** The role runs nginx: the toolkit's site directory is made. */
  readonly nginx?: boolean;
  /** What must hold (or be written) before any package is installed, e.g. the database's refusal of a downgrade. */
  readonly preflight?: string;
  /** The role's own part of the set-up (rendered from templates/<role>/setup.sh.hbs). */
  readonly section?: string;
}

/** A machine roles run on: a node of the topology, or the LXD server that runs the containers. */
export interface HostNode {
  /** proxy, database, monitor, an instance name; "host" for the LXD server. */
  readonly name: string;
  /** The node's own role (proxy, database, monitor, instance, lxd-host). */
  readonly role: string;
  readonly hostname: string;
  readonly address: string;
  /** The operating system it runs. */
  readonly os: OsId;
}

/** What a role's functions are given. */
export interface RoleContext {
  readonly plan: Plan;
  /** The node the role runs on. */
  readonly node: HostNode;
  /** Every flow of the deployment (./registry.ts deploymentFlows), for the firewalls. */
  readonly flows: readonly Flow[];
  /** What the node's roles add to its munin plugin settings (their muninPluginSettings). */
  readonly muninSections: readonly string[];
  /** What the node's roles check in its health check, dhis2-status (their statusChecks). */
  readonly statusChecks: readonly string[];
}

/** Data a role keeps on a volume of its own, apart from compute, protected and retained. */
export interface DataVolume {
  /** Short name, part of the volume's name (e.g. pgdata). */
  readonly key: string;
  /** Where it is mounted on the role's node. */
  readonly path: string;
  /** What it holds, for comments and docs. */
  readonly purpose: string;
}

export interface Role {
  /** The role's name: its folder under lib/roles/ and templates/. */
  readonly name: string;
  /** Its data volumes on a node (the database's clusters, an instance's file store). */
  dataVolumes(ctx: { readonly plan: Plan; readonly node: { readonly name: string } }): DataVolume[];
  /** Distribution packages the role installs on its node. */
  packages(ctx: RoleContext): string[];
  /** Its configuration files (secrets as the placeholders of `secrets`). */
  files(ctx: RoleContext, secrets: DeploymentSecrets): RenderedFile[];
  /** Its part of the node's set-up. */
  setup(ctx: RoleContext): RoleSetup;
  /** Services the start script enables and (re)starts, in order. */
  services(ctx: RoleContext): string[];
  /** Checks at the end of the start script, in order (shell, from templates/<role>/). */
  startChecks(ctx: RoleContext, files: readonly RenderedFile[]): string[];
  /** Its steps besides the files (certificates, the WAR, databases), in order. */
  steps(ctx: RoleContext, inputs: RoleStepInputs): RoleStep[];
  /** Its sections of the node's munin plugin settings (templates/<role>/munin-plugins.conf.hbs). */
  muninPluginSettings(ctx: RoleContext): string[];
  /**
   * Its checks in the node's health check (templates/host/status.sh.hbs): lines calling that
   * script's check_service, check_http, check_certificate, check_disk, check_age.
   */
  statusChecks(ctx: RoleContext): string[];
  /** Scripts run on its node after everything started. */
  postProvision(ctx: RoleContext): PostProvisionScript[];
  /** The flows into the nodes of this role that the role needs (for the whole deployment). */
  flows(plan: Plan): Flow[];
}

export interface RoleStepInputs {
  /** How a WAR or archive source becomes an artifact (a local file gets staged and hashed). */
  readonly artifact: ArtifactResolver;
  /** Database password per instance (placeholders for `npm run render`). */
  readonly databasePasswords: Readonly<Record<string, string>>;
}

/** A role that leaves a part empty. */
export const NOTHING = {
  dataVolumes: (): DataVolume[] => [],
  packages: (): string[] => [],
  files: (): RenderedFile[] => [],
  setup: (): RoleSetup => ({}),
  services: (): string[] => [],
  startChecks: (): string[] => [],
  steps: (): RoleStep[] => [],
  muninPluginSettings: (): string[] => [],
  statusChecks: (): string[] => [],
  postProvision: (): PostProvisionScript[] => [],
  flows: (): Flow[] => [],
} as const;
