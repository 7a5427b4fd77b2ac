/**
 * The whole recommended topology of one stack: the platform's hosts, then every role converged on
 * them from the rendered files, then the post-provision steps.
 *
 *   platform                          → a Host per node: LXD containers on this machine (local),
 *                                       existing servers over SSH, hcloud or aws servers over SSH,
 *                                       or containers on one LXD server of those
 *   secrets (generated once)          → database and encryption passwords, monitoring login
 *   per node: ConvergedHost           → packages, files, services (+ role steps)
 *   post-provision                    → tracker search indexes of each instance
 *
 * The plan (lib/plan) and every file (lib/render) are computed before anything is created; this
 * component only wires resources.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { fileSha256 } from "../lib/config/artifacts";
import { searchIndexTarget } from "../lib/dhis2/search-indexes";
import type { Plan } from "../lib/plan";
import { planCloud } from "../lib/platform/cloud";
import { hostSetups, type HostSetup } from "../lib/render/converge";
import { deploymentCredentials, MONITORING_USER, type DeploymentCredentials, placeholderSecrets, renderDeployment, type DeploymentSecrets } from "../lib/render/deployment";
import { isLocalArtifact, roleSteps, stagedPath, type ArtifactSource, type StepPhase } from "../lib/render/role-steps";
import { AwsPlatform, HcloudPlatform } from "./cloud";
import { ConvergedHost, RUN_SCRIPT, type HostStep } from "./converged-host";
import { ExistingPlatform } from "./existing";
import type { Host } from "./host";
import { LxdPlatform } from "./lxd";
import { GeneratedSecret } from "./secrets";
import { TrackerSearchIndexes } from "./tracker-search-indexes";

export interface Dhis2DeploymentArgs {
  /** The validated plan of the stack (lib/config/load.ts). */
  readonly plan: Plan;
  /**
   * How long the tracker search index step waits for DHIS2 to create its schema on first start.
   * Default: 90 attempts, 10 s apart (DHIS2's first start with migrations takes minutes).
   */
  readonly schemaWait?: { readonly attempts: number; readonly delaySeconds: number };
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
  /** The public IPv4 to point the DNS names at (clouds); empty elsewhere. */
  public readonly publicAddress: pulumi.Output<string>;

  constructor(name: string, args: Dhis2DeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dhis2:index:Deployment", name, {}, opts);
    const { plan } = args;
    const { config } = plan;
    const child = { parent: this };

    // --- the structure of every file (secret contents come later, from the real secrets) -------
    const placeholders = placeholderSecrets(plan);
    const structure = renderDeployment(plan, placeholders);
    const setups = new Map<string, HostSetup>(hostSetups(plan, structure).map((s) => [s.host, s]));
    const setupOf = (node: string): HostSetup => {
      const s = setups.get(node);
      if (!s) throw new Error(`no set-up for ${node}`);
      return s;
    };

    // --- platform -----------------------------------------------------------------------------
    const platform = this.platform(name, plan, setupOf);
    const { hosts, machines } = platform;

    // --- secrets ------------------------------------------------------------------------------
    const dbPasswords: Record<string, pulumi.Output<string>> = {};
    const encryptionPasswords: Record<string, pulumi.Output<string>> = {};
    for (const i of plan.instances) {
      dbPasswords[i.config.name] = new GeneratedSecret(`${name}-${i.config.name}-database-password`, { length: 32 }, child).value;
      // DHIS2: at least 24 characters, and it must never change
      encryptionPasswords[i.config.name] = new GeneratedSecret(`${name}-${i.config.name}-encryption-password`, { length: 48 }, { ...child, protect: true }).value;
    }
    const monitoring = new GeneratedSecret(`${name}-monitoring-login`, { length: 24, htpasswdUser: MONITORING_USER }, child);
    const smtpPassword = config.alerts.smtp?.password?.value;
    const secrets: pulumi.Output<DeploymentSecrets> = pulumi.secret(pulumi.all([
      pulumi.all(dbPasswords), pulumi.all(encryptionPasswords), monitoring.htpasswd,
    ]).apply(([db, enc, htpasswd]) => ({ databasePasswords: db, encryptionPasswords: enc, monitoringHtpasswd: htpasswd, smtpPassword })));

    // --- the secret contents of files, rendered again with the real secrets -------------------
    const real = secrets.apply((s) => renderDeployment(plan, s));
    const secretContents = (host: string): Record<string, pulumi.Output<string>> => {
      const out: Record<string, pulumi.Output<string>> = {};
      for (const f of structure.find((h) => h.host === host)?.files ?? []) {
        if (!f.secret) continue;
        out[f.path] = pulumi.secret(real.apply((r) => {
          const content = r.find((h) => h.host === host)?.files.find((x) => x.path === f.path)?.content;
          if (content === undefined) throw new Error(`${host}: ${f.path} missing from the rendering with secrets`);
          return content;
        }));
      }
      return out;
    };
    // Servers reached through the bastion wait for the bastion's firewall: a connection that is
    // open while nftables is first loaded is not tracked from its start, and the bastion would
    // drop the replies of a tunnel that spans the load.
    let bastionReady: pulumi.Resource | undefined;
    const converge = (node: string, extra: Partial<ConstructorParameters<typeof ConvergedHost>[1]> = {}) =>
      new ConvergedHost(`${name}-${node}`, {
        host: hosts[node]!,
        setup: setupOf(node),
        secretContents: secretContents(node),
        dependsOn: [...(machines[node] ? [machines[node]!] : []), ...(bastionReady && node !== platform.bastion ? [bastionReady] : [])],
        bootstrap: platform.bootstrap[node],
        ...extra,
      }, child);

    // --- roles --------------------------------------------------------------------------------
    const artifact = (node: string) => (what: string, source: string): ArtifactSource => {
      if (!isLocalArtifact(source)) return { source };
      return { source, staged: stagedPath(`${node}-${what}`), sha256: fileSha256(source) };
    };
    const steps = (node: string, phase: StepPhase): HostStep[] =>
      roleSteps(plan, node, { artifact: artifact(node), databasePasswords: placeholders.databasePasswords })
        .filter((s) => s.phase === phase)
        .map((s) => ({
          name: s.name,
          command: s.command,
          // a secret script is rendered again with the real secrets, inside a secret Output
          stdin: s.secret
            ? pulumi.secret(pulumi.all(dbPasswords).apply((pw) =>
              roleSteps(plan, node, { artifact: artifact(node), databasePasswords: pw }).find((r) => r.name === s.name)!.script))
            : s.script,
          quiet: s.secret,
          copy: s.copy,
        }));
    const roleOf = (node: string) => ({ prepare: steps(node, "prepare"), install: steps(node, "install"), after: steps(node, "after") });

    const proxy = converge("proxy", roleOf("proxy"));
    if (platform.bastion === "proxy") bastionReady = proxy.started;
    const database = converge("database", roleOf("database"));
    converge("monitor", roleOf("monitor"));
    const searchReports: Record<string, pulumi.Output<string>> = {};
    for (const inst of plan.instances) {
      const instance = converge(inst.config.name, { ...roleOf(inst.config.name), startAfter: [database.ready] });
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
    this.credentials = pulumi.secret(pulumi.all([monitoring.value, pulumi.all(dbPasswords)]).apply(([mon, db]) => deploymentCredentials(plan, mon, db)));
    this.registerOutputs({ urls: this.urls, machines: this.machines, credentials: this.credentials, searchIndexes: this.searchIndexes, publicAddress: this.publicAddress });
  }

  /** The platform's hosts: containers on this machine, existing servers, or cloud servers. */
  private platform(name: string, plan: Plan, setupOf: (node: string) => HostSetup): PlatformHosts {
    const { config } = plan;
    const child = { parent: this };
    if (config.platform === "local") {
      const local = new LxdPlatform(`${name}-lxd`, { plan }, child);
      return { hosts: local.hosts, machines: local.machines, bootstrap: {}, where: local.containers, publicAddress: pulumi.output("") };
    }
    const key = config.admin.privateKey?.value;
    if (!key) throw new pulumi.RunError("dhis2:admin.privateKey: is required to reach the servers over SSH");
    const privateKey = pulumi.secret(key);
    if (config.platform === "existing") {
      const existing = new ExistingPlatform(`${name}-servers`, { plan, privateKey }, child);
      if (config.isolation === "vm") {
        return { hosts: existing.hosts, machines: existing.machines, bootstrap: {}, where: existing.connections, publicAddress: pulumi.output(""), bastion: "proxy" };
      }
      return this.lxdServer(name, plan, setupOf("host"), existing.hosts.host!, undefined, [], pulumi.output(config.servers!.host!.address));
    }
    const cloud = planCloud(plan).cloud!;
    const Platform = config.platform === "hcloud" ? HcloudPlatform : AwsPlatform;
    const p = new Platform(`${name}-${config.platform}`, { plan, cloud, privateKey }, child);
    if (config.isolation === "vm") {
      return { hosts: p.hosts, machines: p.machines, bootstrap: p.bootstrap, where: pulumi.output(Object.fromEntries(cloud.servers.map((x) => [x.name, `${x.choice.type.name} ${x.privateAddress}`]))), publicAddress: p.publicAddress, bastion: "proxy" };
    }
    return this.lxdServer(name, plan, setupOf("host"), p.hosts.host!, p.machines.host, p.bootstrap.host ?? [], p.publicAddress);
  }

  /** Isolation lxd on a server of its own: its firewall and LXD first, then the containers. */
  private lxdServer(name: string, plan: Plan, setup: HostSetup, server: Host, machine: pulumi.Resource | undefined, bootstrap: HostStep[], publicAddress: pulumi.Output<string>): PlatformHosts {
    const child = { parent: this };
    const host = new ConvergedHost(`${name}-host`, { host: server, setup, bootstrap, dependsOn: machine ? [machine] : [] }, child);
    const lxd = server.command(`${name}-lxd-setup`, {
      create: RUN_SCRIPT,
      stdin: fs.readFileSync(path.join(__dirname, "..", "scripts", "lxd-setup.sh"), "utf8"),
      environment: { DHIS2_LXD_CIDR: plan.config.networkCidr, DHIS2_CACHE_DIR: "/var/cache/dhis2-toolkit" },
    }, { ...child, dependsOn: [host.ready] });
    const platform = new LxdPlatform(`${name}-lxd`, { plan, lxdHost: server, dependsOn: [lxd] }, child);
    return { hosts: platform.hosts, machines: platform.machines, bootstrap: {}, where: platform.containers, publicAddress };
  }
}

interface PlatformHosts {
  readonly hosts: Readonly<Record<string, Host>>;
  readonly machines: Readonly<Record<string, pulumi.Resource | undefined>>;
  readonly bootstrap: Readonly<Record<string, HostStep[]>>;
  readonly where: pulumi.Output<Record<string, string>>;
  readonly publicAddress: pulumi.Output<string>;
  /** The node every other one is reached through, when there is one. */
  readonly bastion?: string;
}
