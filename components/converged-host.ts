/**
 * One host brought to its rendered state through the host abstraction (lib/render/converge.ts):
 * set-up script → role steps that prepare → one command per configuration file → role steps that
 * install → start script → role steps that need the running services.
 *
 * Each file is its own command with the content on stdin: `pulumi preview --diff` shows a changed
 * file's new lines (a file holding a secret shows as a changed secret), and `pulumi up` writes just
 * that file and runs just its reload. Nothing is deleted from the host when a resource goes away:
 * removing a role is done by removing its host.
 */
import * as pulumi from "@pulumi/pulumi";
import { writeFileCommand, type HostSetup } from "../lib/render/converge";
import type { Host, HostCommand } from "./host";

/** Runs the script on stdin with bash from a temporary file, so that its commands get no stdin. */
export const RUN_SCRIPT = `f=$(mktemp) && cat >"$f" && bash "$f" </dev/null; rc=$?; rm -f "$f"; exit $rc`;

/** A role-specific step: a command on the host, with its input on stdin. */
export interface HostStep {
  /** Resource name suffix, e.g. "certificates". */
  readonly name: string;
  /** Command run on the host. Default: RUN_SCRIPT (stdin is a bash script). */
  readonly command?: string;
  readonly stdin: pulumi.Input<string>;
  /** Keep the output out of the logs. Default false. */
  readonly quiet?: boolean;
  /** A file of the machine running pulumi to copy to the host first. */
  readonly copy?: { readonly localPath: string; readonly remotePath: string; readonly fingerprint: string };
}

export interface ConvergedHostArgs {
  /** How to reach the host. */
  readonly host: Host;
  /** What to install, write and start (lib/render/converge.ts hostSetups). */
  readonly setup: HostSetup;
  /** Real contents of the files marked secret, by path (the setup holds placeholders). */
  readonly secretContents?: Readonly<Record<string, pulumi.Input<string>>>;
  /** Steps before the set-up (e.g. mounting the data volume where the packages will put data). Default: none. */
  readonly bootstrap?: readonly HostStep[];
  /** Steps after the set-up, before the files are written (e.g. certificates). Default: none. */
  readonly prepare?: readonly HostStep[];
  /** Steps after the files, before the services start (e.g. the WAR). Default: none. */
  readonly install?: readonly HostStep[];
  /** Steps once the services run (e.g. databases and roles). Default: none. */
  readonly after?: readonly HostStep[];
  /** What must be ready before the services start here (e.g. the database for an instance). Default: nothing. */
  readonly startAfter?: pulumi.Input<pulumi.Resource>[];
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
    super("dhis2:host:ConvergedHost", name, {}, opts);
    const { host, setup } = args;
    const child = { parent: this };
    const step = (s: HostStep, after: pulumi.Input<pulumi.Resource>[]): HostCommand => {
      let deps = after;
      if (s.copy) {
        deps = [...after, host.copyFile(`${name}-${s.name}-copy`, s.copy.localPath, s.copy.remotePath, s.copy.fingerprint, { ...child, dependsOn: after })];
      }
      return host.command(`${name}-${s.name}`, { create: s.command ?? RUN_SCRIPT, stdin: s.stdin, quiet: s.quiet }, { ...child, dependsOn: deps });
    };
    const chain = (steps: readonly HostStep[] | undefined, after: pulumi.Input<pulumi.Resource>[]): pulumi.Input<pulumi.Resource>[] => {
      let last = after;
      for (const s of steps ?? []) last = [step(s, last)];
      return last;
    };

    const bootstrapped = chain(args.bootstrap, args.dependsOn ?? []);
    const base = host.command(`${name}-setup`, { create: RUN_SCRIPT, stdin: setup.setupScript }, { ...child, dependsOn: bootstrapped });
    const prepared = chain(args.prepare, [base]);
    const fileCommands = setup.files.map((f) => {
      const content = f.secret ? args.secretContents?.[f.path] : f.content;
      if (content === undefined) throw new Error(`${name}: no content for the secret file ${f.path}`);
      return host.command(`${name}-file-${pathSlug(f.path)}`, {
        create: writeFileCommand(f, false),
        update: writeFileCommand(f, true),
        stdin: f.secret ? pulumi.secret(content) : content,
        quiet: f.secret,
      }, { ...child, dependsOn: prepared });
    });
    const installed = chain(args.install, [...fileCommands, ...prepared]);
    this.started = host.command(`${name}-start`, { create: RUN_SCRIPT, stdin: setup.startScript }, {
      ...child, dependsOn: [...installed, ...(args.startAfter ?? [])],
    });
    const done = chain(args.after, [this.started]);
    this.ready = done[0] as pulumi.Resource;
    this.files = pulumi.output(setup.files.map((f) => f.path));
    this.registerOutputs({ files: this.files });
  }
}
