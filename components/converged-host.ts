/**
 * One host brought to its rendered state through the host abstraction, in the order of
 * lib/render/converge.ts: bootstrap (the platform's: a data volume mounted) → set-up script →
 * role steps that prepare → one command per configuration file → role steps that install → start
 * script → role steps that need the running services.
 *
 * Each file is its own command with the content on stdin: `pulumi preview --diff` shows a changed
 * file's new lines (a file holding a secret shows as a changed secret), and `pulumi up` writes just
 * that file and runs just its reload. Nothing is deleted from the host when a resource goes away:
 * removing a role is done by removing its host.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ScriptStep } from "../lib/render/converge";
import type { HostPlan } from "../lib/render/hosts";
import { writeFileCommand } from "../lib/render/shell";
import type { Host, HostCommand } from "./host";
import { TOKENS } from "./tokens";

/** Runs the script on stdin with bash from a temporary file, so that its commands get no stdin. */
export const RUN_SCRIPT = `f=$(mktemp) && cat >"$f" && bash "$f" </dev/null; rc=$?; rm -f "$f"; exit $rc`;

/** A step of a platform before the set-up (e.g. mounting the data volume): a command with its input on stdin. */
export interface HostStep {
  /** Resource name suffix, e.g. "data-volume". */
  readonly name: string;
  /** Command run on the host. Default: RUN_SCRIPT (stdin is a bash script). */
  readonly command?: string;
  readonly stdin: pulumi.Input<string>;
  /** It handles a secret: output kept out of the logs and stored as a secret. Default false. */
  readonly quiet?: boolean;
}

export interface ConvergedHostArgs {
  /** How to reach the host. */
  readonly host: Host;
  /** What to install, write, start and run (lib/render/hosts.ts renderDeployment). */
  readonly plan: HostPlan;
  /** A text with secret placeholders → the text with the real secrets, as a secret. */
  readonly fillSecrets: (text: string) => pulumi.Output<string>;
  /** Steps before the set-up (e.g. mounting the data volume where the packages will put data). Default: none. */
  readonly bootstrap?: readonly HostStep[];
  /** What must be ready before the services start here (e.g. the database for an instance). Default: nothing. */
  readonly startAfter?: pulumi.Input<pulumi.Resource>[];
  /** What must be done before the install steps (e.g. the WAR after the pre-upgrade dump). Default: nothing. */
  readonly installAfter?: pulumi.Input<pulumi.Resource>[];
  /** What must exist before anything runs on the host (its container or server). Default: nothing. */
  readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** Resource-name form of a path: /etc/nginx/nginx.conf → etc-nginx-nginx.conf. */
export function pathSlug(path: string): string {
  return path.replace(/^\/+/, "").replace(/[^A-Za-z0-9._-]+/g, "-");
}

export class ConvergedHost extends pulumi.ComponentResource {
  /** The start step: the services run with the toolkit's configuration. */
  public readonly started: HostCommand;
  /** The last step of the host: everything is in place. */
  public readonly ready: pulumi.Resource;
  /** Paths of the files the toolkit manages on the host. */
  public readonly files: pulumi.Output<string[]>;

  constructor(name: string, args: ConvergedHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super(TOKENS.convergedHost, name, {}, opts);
    const { host, plan } = args;
    const child = { parent: this };
    const command = (suffix: string, s: { command?: string; stdin: pulumi.Input<string>; quiet?: boolean }, after: pulumi.Input<pulumi.Resource>[]) =>
      host.command(`${name}-${suffix}`, { create: s.command ?? RUN_SCRIPT, stdin: s.stdin, quiet: s.quiet }, { ...child, dependsOn: after });
    const script = (s: ScriptStep, after: pulumi.Input<pulumi.Resource>[]): HostCommand => {
      let deps = after;
      if (s.copy) {
        deps = [...after, host.copyFile(`${name}-${s.name}-copy`, s.copy.localPath, s.copy.remotePath, s.copy.fingerprint, { ...child, dependsOn: after })];
      }
      // a secret step is rendered with placeholders: the real values go in inside a secret Output
      return command(s.name, { command: s.command, stdin: s.secret ? args.fillSecrets(s.script) : s.script, quiet: s.secret }, deps);
    };

    let last: pulumi.Input<pulumi.Resource>[] = args.dependsOn ?? [];
    for (const b of args.bootstrap ?? []) last = [command(b.name, b, last)];
    let started: HostCommand | undefined;
    for (const step of plan.steps) {
      if (step.kind === "files") {
        const written = plan.files.map((f) => host.command(`${name}-file-${pathSlug(f.path)}`, {
          create: writeFileCommand(f, false),
          update: writeFileCommand(f, true),
          stdin: f.secret ? args.fillSecrets(f.content) : f.content,
          quiet: f.secret,
        }, { ...child, dependsOn: last }));
        last = [...written, ...last];
      } else if (step.phase === "start") {
        started = script(step, [...last, ...(args.startAfter ?? [])]);
        last = [started];
      } else if (step.phase === "install" && args.installAfter) {
        last = [script(step, [...last, ...args.installAfter])];
      } else {
        last = [script(step, last)];
      }
    }
    if (!started) throw new pulumi.ResourceError(`${plan.host}: the convergence has no start step`, this);
    this.started = started;
    this.ready = last[0] as pulumi.Resource;
    this.files = pulumi.output(plan.files.map((f) => f.path));
    this.registerOutputs({ files: this.files });
  }
}
