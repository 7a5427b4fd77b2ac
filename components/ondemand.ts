/**
 * An on-demand instance (docs/instances.md): one DHIS2 instance of its own stack, attached to a
 * country stack on this machine.
 *
 *   its container        an LXD container on the country's bridge at an on-demand address, from
 *                        the same package image as the country's instances, with a file store
 *                        volume of its own (removed with it: a copy, not the country's data)
 *   its database         on the country's database server: role and database dhis2_<name>,
 *                        seeded from a backup or a dump, scrubbed for training; dropped on destroy
 *   its location         /<name>/ on the country's proxy, removed on destroy
 *
 * The country stack's own resources are never touched: its database server accepts on-demand
 * addresses for databases of their own name only (pg_hba sameuser), and its proxy includes the
 * on-demand locations' directory (lib/roles/database, lib/roles/proxy).
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { fileSha256 } from "../lib/config/artifacts";
import { generatedName } from "../lib/config/generated";
import type { OnDemandPlan } from "../lib/ondemand/plan";
import { onDemandScripts, seedDumpPath } from "../lib/ondemand/render";
import { renderDeployment } from "../lib/render/hosts";
import { containerName, LXD, lxdContainers, lxdDataVolumes, lxdImagesScript, lxdRoleImages } from "../lib/render/lxd";
import { fillSecrets, placeholderSecrets } from "../lib/render/secrets";
import { shellQuote } from "../lib/render/shell";
import { ConvergedHost, RUN_SCRIPT } from "./converged-host";
import { artifactsOf } from "./deployment";
import { LocalHost, LxdContainerHost } from "./host";
import { TOKENS } from "./tokens";

export interface OnDemandInstanceArgs {
  /** The instance's plan and the country's (lib/ondemand/plan.ts loadOnDemand). */
  readonly onDemand: OnDemandPlan;
  /** Where the LXD host caches the images it builds. Default: the project's .cache. */
  readonly cacheDir?: string;
}

/** The training password's name under dhis2:generated (scrubbed instances). */
export const trainingPasswordName = (instance: string) => `${instance}-training-password`;

export class OnDemandInstance extends pulumi.ComponentResource {
  /** https://<country domain>/<name>/ */
  public readonly url: pulumi.Output<string>;
  /** Its container on this machine. */
  public readonly container: pulumi.Output<string>;
  /** Its private address on the country's network. */
  public readonly address: pulumi.Output<string>;
  /** What the database step reported (seed, size, time). */
  public readonly databaseReport: pulumi.Output<string>;

  constructor(name: string, args: OnDemandInstanceArgs, opts?: pulumi.ComponentResourceOptions) {
    super(TOKENS.onDemandInstance, name, {}, opts);
    const od = args.onDemand;
    const { plan, spec, country } = od;
    const node = spec.name;
    const child = { parent: this };
    const generated = (key: string): pulumi.Output<string> => {
      const value = plan.config.generated[key]?.value;
      if (value === undefined) throw new pulumi.ResourceError(`dhis2:generated.${key} is missing: npm run instance -- create makes it`, this);
      return pulumi.secret(value);
    };

    // --- the instance host's plan, rendered with the country's choices ------------------------
    const placeholders = placeholderSecrets(plan);
    const rendered = renderDeployment(plan, { secrets: placeholders, artifact: artifactsOf });
    const hostPlan = rendered.find((h) => h.host === node);
    if (!hostPlan) throw new pulumi.ResourceError(`no rendered plan for ${node}`, this);
    const dbPassword = generated(generatedName.databasePassword(node));
    const smtpPassword = plan.config.alerts.smtp?.password?.value;
    const secrets = pulumi.all([dbPassword, generated(generatedName.encryptionPassword(node))]).apply(([db, enc]) => ({
      databasePasswords: { [node]: db }, encryptionPasswords: { [node]: enc }, monitoringHtpasswd: "", backupPassword: "", smtpPassword,
    }));
    const fill = (text: string): pulumi.Output<string> => pulumi.secret(secrets.apply((s) => fillSecrets(text, placeholders, s)));

    // --- its container on the country's bridge ------------------------------------------------
    const lxdHost = new LocalHost("lxd-host");
    const cacheDir = args.cacheDir ?? path.resolve(".cache");
    const system = lxdHost.command(`${name}-system`, {
      create: RUN_SCRIPT, stdin: lxdImagesScript(), environment: { DHIS2_CACHE_DIR: cacheDir, DHIS2_LXD_OS: plan.instances[0]!.node.os },
    }, child);
    const image = lxdRoleImages(plan, rendered).find((i) => i.node === node);
    const imageCmd = image && lxdHost.command(`${name}-image`, { create: RUN_SCRIPT, stdin: image.script }, { ...child, dependsOn: [system] });
    const volumes = lxdDataVolumes(plan).filter((v) => v.node === node).map((v) => lxdHost.command(`${name}-${v.key}-volume`, {
      create: RUN_SCRIPT, stdin: v.script,
      // a copy's files go with it
      delete: `lxc storage volume delete ${shellQuote(LXD.pool)} ${shellQuote(v.volume)}`,
    }, { ...child, dependsOn: [system] }));
    const c = lxdContainers(plan, image ? [image] : []).find((x) => x.node === node)!;
    const container = lxdHost.command(`${name}-container`, {
      create: RUN_SCRIPT, stdin: c.script, triggers: [c.base, c.name],
      delete: `lxc delete --force ${shellQuote(c.name)}`,
    }, { ...child, dependsOn: [imageCmd ?? system, ...volumes], replaceOnChanges: ["triggers"], deleteBeforeReplace: true });

    // --- its database on the country's database server ---------------------------------------
    const scripts = onDemandScripts(od, {
      database: placeholders.databasePasswords[node]!,
      training: spec.scrub ? "<secret: training password>" : undefined,
    });
    const countryDb = new LxdContainerHost("country-database", containerName(country.config.stack, "database"), lxdHost);
    const seedCopy = spec.seed.kind === "dump"
      ? countryDb.copyFile(`${name}-seed-dump`, spec.seed.path, seedDumpPath(node), fileSha256(spec.seed.path), child)
      : undefined;
    const training = spec.scrub ? generated(trainingPasswordName(node)) : pulumi.output("");
    const databaseScript = pulumi.secret(pulumi.all([fill(scripts.database), training]).apply(([text, pw]) => text.split("<secret: training password>").join(pw)));
    const database = countryDb.command(`${name}-database`, {
      create: RUN_SCRIPT, stdin: databaseScript, quiet: true,
      delete: `bash -c ${shellQuote(scripts.databaseDrop)}`,
    }, { ...child, dependsOn: seedCopy ? [seedCopy] : [] });

    // --- the instance, started once its database is there -------------------------------------
    const converged = new ConvergedHost(`${name}-${node}`, {
      host: new LxdContainerHost(node, c.name, lxdHost), plan: hostPlan, fillSecrets: fill, dependsOn: [container], startAfter: [database],
    }, child);

    // --- its location on the country's proxy --------------------------------------------------
    const countryProxy = new LxdContainerHost("country-proxy", containerName(country.config.stack, "proxy"), lxdHost);
    countryProxy.command(`${name}-location`, {
      create: RUN_SCRIPT, stdin: scripts.proxyAdd, delete: `bash -c ${shellQuote(scripts.proxyRemove)}`,
    }, { ...child, dependsOn: [converged.started] });

    this.url = pulumi.output(scripts.url);
    this.container = pulumi.output(c.name);
    this.address = pulumi.output(c.address);
    this.databaseReport = database.stdout.apply((s) => s.trim().split("\n").pop() ?? "");
    this.registerOutputs({ url: this.url, container: this.container, address: this.address });
  }
}
