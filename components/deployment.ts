/**
 * The whole recommended topology of one stack: the platform's hosts, then every role converged on
 * them from the rendered plans, then the post-provision steps.
 *
 *   platform (components/platforms)   → a Host per node: LXD containers on this machine (local),
 *                                       existing servers over SSH, hcloud or aws servers over SSH,
 *                                       or containers on one LXD server of those
 *   secrets (dhis2:generated)         → database and encryption passwords, monitoring login
 *   per node: ConvergedHost           → packages, files, services, role steps (lib/render/converge.ts)
 *   post-provision                    → tracker search indexes of each instance
 *
 * Everything is rendered once, before anything is created (lib/render/hosts.ts), with secret
 * placeholders that are filled inside secret Outputs; this component only wires resources.
 */
import * as pulumi from "@pulumi/pulumi";
import { fileSha256 } from "../lib/config/artifacts";
import type { Plan } from "../lib/plan";
import type { CloudPlan } from "../lib/platform/cloud";
import { isLocalArtifact, type ArtifactResolver } from "../lib/render/artifacts";
import { deploymentCredentials, type DeploymentCredentials } from "../lib/render/credentials";
import { renderDeployment, type HostPlan } from "../lib/render/hosts";
import { allNodes } from "../lib/plan/topology";
import { MONITORING_USER, PATHS, stagedPath } from "../lib/render/paths";
import { fillSecrets, placeholderSecrets, type DeploymentSecrets } from "../lib/render/secrets";
import { backupSummary, preUpgradeCommand, type BackupSummary } from "../lib/roles/backup";
import { searchIndexTarget } from "../lib/roles/database/search-indexes";
import { ConvergedHost } from "./converged-host";
import { createPlatform } from "./platforms";
import { HostVerification } from "./host-verification";
import { HtpasswdLine } from "./secrets";
import { generatedName } from "../lib/config/generated";
import { TOKENS } from "./tokens";
import { TrackerSearchIndexes } from "./tracker-search-indexes";

export interface Dhis2DeploymentArgs {
  /** The validated plan of the stack (lib/load.ts). */
  readonly plan: Plan;
  /** hcloud, aws: the cloud plan (lib/load.ts). Default: planned from `plan`. */
  readonly cloud?: CloudPlan;
  /**
   * How long the tracker search index step waits for DHIS2 to create its schema on first start.
   * Default: 90 attempts, 10 s apart (DHIS2's first start with migrations takes minutes).
   */
  readonly schemaWait?: { readonly attempts: number; readonly delaySeconds: number };
}

/** A node's artifacts for `pulumi up`: a local file is staged on the host and checked by its sha256. */
export function artifactsOf(node: string): ArtifactResolver {
  return (what, source) => isLocalArtifact(source) ? { source, staged: stagedPath(`${node}-${what}`), sha256: fileSha256(source) } : { source };
}

export class Dhis2Deployment extends pulumi.ComponentResource {
  /** Public URL of each instance. */
  public readonly urls: pulumi.Output<Record<string, string>>;
  /** Generated credentials (secret): the monitoring login, each instance's database login. */
  public readonly credentials: pulumi.Output<DeploymentCredentials>;
  /** Where each node runs (container names on the local platform). */
  public readonly machines: pulumi.Output<Record<string, string>>;
  /** What the tracker search index step reported, per instance. */
  public readonly searchIndexes: pulumi.Output<Record<string, string>>;
  /** Where the backups are, their password and how to restore (secret). */
  public readonly backup: pulumi.Output<BackupSummary>;
  /** The public IPv4 to point the DNS names at (clouds); empty elsewhere. */
  public readonly publicAddress: pulumi.Output<string>;
  /** What each node really has (CPUs, memory, disk latency, CPU steal) and what is below its size. */
  public readonly hostChecks: pulumi.Output<Record<string, HostVerification["verdict"] extends pulumi.Output<infer V> ? V : never>>;

  constructor(name: string, args: Dhis2DeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
    super(TOKENS.deployment, name, {}, opts);
    const { plan } = args;
    const { config } = plan;
    const child = { parent: this };

    // --- every host's plan, rendered once with secret placeholders -----------------------------
    const placeholders = placeholderSecrets(plan);
    const rendered = renderDeployment(plan, { secrets: placeholders, artifact: artifactsOf });
    const planOf = (node: string): HostPlan => {
      const h = rendered.find((x) => x.host === node);
      if (!h) throw new pulumi.ResourceError(`no rendered plan for ${node}`, this);
      return h;
    };

    // --- secrets ------------------------------------------------------------------------------
    // generated once by `npm run secrets` and kept encrypted in the stack file (dhis2:generated):
    // Pulumi knows them as secrets from the start of every command
    const generated = (name: string): pulumi.Output<string> => {
      const value = config.generated[name]?.value;
      if (value === undefined) throw new pulumi.ResourceError(`dhis2:generated.${name} is missing: run \`npm run secrets -- --stack ${config.stack}\``, this);
      return pulumi.secret(value);
    };
    const dbPasswords: Record<string, pulumi.Output<string>> = {};
    const encryptionPasswords: Record<string, pulumi.Output<string>> = {};
    for (const i of plan.instances) {
      dbPasswords[i.config.name] = generated(generatedName.databasePassword(i.config.name));
      encryptionPasswords[i.config.name] = generated(generatedName.encryptionPassword(i.config.name));
    }
    const monitoringPassword = generated(generatedName.monitoringPassword);
    // the backups' repository password: lost or changed, every backup is unreadable
    const backupPassword = generated(generatedName.backupPassword);

    // --- platform -----------------------------------------------------------------------------
    const key = config.admin.privateKey?.value;
    const platform = createPlatform(name, { plan, hosts: rendered, cloud: args.cloud, privateKey: key === undefined ? undefined : pulumi.secret(key) }, this);
    const { hosts, machines } = platform;

    const monitoring = new HtpasswdLine(`${name}-monitoring-htpasswd`, { user: MONITORING_USER, password: monitoringPassword }, child);
    const smtpPassword = config.alerts.smtp?.password?.value;
    const offsiteSecretAccessKey = config.backup.offsite?.secretAccessKey.value;
    const secrets: pulumi.Output<DeploymentSecrets> = pulumi.secret(pulumi.all([
      pulumi.all(dbPasswords), pulumi.all(encryptionPasswords), monitoring.line, backupPassword,
    ]).apply(([db, enc, htpasswd, backup]) => ({
      databasePasswords: db, encryptionPasswords: enc, monitoringHtpasswd: htpasswd, smtpPassword, backupPassword: backup, offsiteSecretAccessKey,
    })));
    const fill = (text: string): pulumi.Output<string> => pulumi.secret(secrets.apply((s) => fillSecrets(text, placeholders, s)));

    // Servers reached through the bastion wait for the bastion's firewall: a connection that is
    // open while nftables is first loaded is not tracked from its start, and the bastion would
    // drop the replies of a tunnel that spans the load.
    let bastionReady: pulumi.Resource | undefined;
    const verdicts: Record<string, HostVerification["verdict"]> = {};
    const converge = (node: string, startAfter: pulumi.Input<pulumi.Resource>[] = [], installAfter?: pulumi.Input<pulumi.Resource>[]) => {
      const machine = machines[node];
      const converged = new ConvergedHost(`${name}-${node}`, {
        host: hosts[node]!,
        plan: planOf(node),
        fillSecrets: fill,
        dependsOn: [...(machine ? [machine] : []), ...(bastionReady && node !== platform.bastion ? [bastionReady] : [])],
        bootstrap: platform.bootstrap[node],
        startAfter,
        installAfter,
      }, child);
      // post-provision: what the node really has, against the size the plan was tuned to
      verdicts[node] = new HostVerification(`${name}-${node}-verify`, {
        host: hosts[node]!, verification: planOf(node).verify, strict: config.hostCheck.strict,
      }, { ...child, dependsOn: [converged.started] }).verdict;
      return converged;
    };

    // --- drift: a stopped service is started again by `pulumi up`, and named by preview --------
    // (dhis2-status on each host this machine reaches itself: the local platform's containers)
    const mode = pulumi.runtime.isDryRun() ? "" : " --repair";
    for (const node of allNodes(plan.topology)) {
      hosts[node.name]?.run?.(`if command -v ${PATHS.status} >/dev/null; then ${PATHS.status}${mode}; fi; true`).apply((report) => {
        for (const line of report.split("\n")) {
          if (line.startsWith("fail ")) pulumi.log.warn(`${node.name}: ${line.slice(5)}${mode ? "" : " (pulumi up starts a stopped service again)"}`, this);
          else if (line.includes("started by dhis2-status --repair")) pulumi.log.info(`${node.name}: ${line.slice(3)}`, this);
        }
      });
    }

    // --- roles --------------------------------------------------------------------------------
    const proxy = converge("proxy");
    if (platform.bastion === "proxy") bastionReady = proxy.started;
    const database = converge("database");
    converge("monitor");
    const searchReports: Record<string, pulumi.Output<string>> = {};
    for (const inst of plan.instances) {
      // a new DHIS2 version: its database is dumped first (Flyway's migrations are forward-only)
      const preUpgrade = preUpgradeCommand(plan, inst.config.name);
      const dump = preUpgrade === undefined ? undefined : hosts.database!.command(`${name}-${inst.config.name}-pre-upgrade-dump`, {
        create: preUpgrade, update: preUpgrade,
      }, { ...child, dependsOn: [database.started] });
      const instance = converge(inst.config.name, [database.ready], dump && [dump]);
      // post-provision: pg_trgm, btree_gin and the trigram indexes, once DHIS2 made its schema
      const indexes = new TrackerSearchIndexes(`${name}-${inst.config.name}-search-indexes`, {
        host: hosts.database!,
        target: searchIndexTarget(plan, inst),
        wait: args.schemaWait,
      }, { ...child, dependsOn: [instance.started, database.ready] });
      searchReports[inst.config.name] = indexes.report;
    }

    this.urls = pulumi.output(Object.fromEntries(plan.instances.map((i) => [i.config.name, i.config.baseUrl])));
    this.machines = platform.where;
    this.publicAddress = platform.publicAddress;
    this.searchIndexes = pulumi.output(searchReports);
    this.hostChecks = pulumi.all(verdicts);
    this.credentials = pulumi.secret(pulumi.all([monitoringPassword, pulumi.all(dbPasswords)]).apply(([mon, db]) => deploymentCredentials(plan, mon, db)));
    this.backup = pulumi.secret(backupPassword.apply((pw) => backupSummary(plan, pw)));
    this.registerOutputs({ urls: this.urls, machines: this.machines, credentials: this.credentials, backup: this.backup, searchIndexes: this.searchIndexes, publicAddress: this.publicAddress, hostChecks: this.hostChecks });
  }
}
