/**
 * One way to reach a host: run a shell command on it, as root, with a script on stdin.
 *
 * - LocalHost: this machine (`local.Command`).
 * - LxdContainerHost: a container on this machine's LXD (`lxc exec <container> -- ...`).
 * - SshHost: a server over SSH, through a bastion when given (`remote.Command`).
 *
 * Roles never care which: they ask a Host for a command. Content travels on stdin, so it shows in
 * `pulumi preview --diff` (or stays masked when it is a secret) and never appears in a process's
 * arguments.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { shellQuote } from "../lib/render/shell";

export interface HostCommandArgs {
  /** Shell command run on create, and on update unless `update` is given. */
  readonly create: pulumi.Input<string>;
  /** Shell command run when an input (the command, stdin, environment) changed. Default: `create`. */
  readonly update?: pulumi.Input<string>;
  /** Shell command run when the resource is deleted. Default: nothing runs. */
  readonly delete?: pulumi.Input<string>;
  /** Fed to the command's standard input. */
  readonly stdin?: pulumi.Input<string>;
  /** Values whose change re-runs the command. */
  readonly triggers?: pulumi.Input<unknown[]>;
  /** Environment of the command (not for secrets: they go on stdin). */
  readonly environment?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /**
   * The command handles a secret (on stdin, or in what it prints): its stdout and stderr stay out
   * of Pulumi's logs and are stored as secrets (the official command provider does not make them
   * secret by itself). Default: logged, stored in plain text.
   */
  readonly quiet?: boolean;
}

/** Resource options of a command: a quiet one's outputs are secrets in the state. */
function commandOptions(args: HostCommandArgs, opts: pulumi.CustomResourceOptions | undefined): pulumi.CustomResourceOptions | undefined {
  return args.quiet ? { ...opts, additionalSecretOutputs: ["stdout", "stderr"] } : opts;
}

export interface Host {
  /** Name used in resource names, e.g. "database". */
  readonly name: string;
  /**
   * Run a shell command on the host while the program runs, in preview and up alike (an invoke,
   * not a resource: nothing is recorded, nothing shows as a change); its stdout. Only where this
   * machine reaches the host itself (this machine, its LXD containers); undefined elsewhere.
   * Never for secrets.
   */
  readonly run?: (command: string) => pulumi.Output<string>;
  command(name: string, args: HostCommandArgs, opts?: pulumi.CustomResourceOptions): HostCommand;
  /**
   * Copy a file of the machine running pulumi to `remotePath` on the host (mode 0600, root),
   * again whenever `fingerprint` (e.g. its sha256) changes. For large artifacts (a WAR, an archive)
   * that should not travel through the state as stdin.
   */
  copyFile(name: string, localPath: string, remotePath: string, fingerprint: string, opts?: pulumi.CustomResourceOptions): HostCommand;
}

/** What a host command is: either kind has the command's `stdout` and `stderr`. */
export type HostCommand = command.local.Command | command.remote.Command;

export { shellQuote };

export class LocalHost implements Host {
  constructor(readonly name: string) {}
  readonly run = (cmd: string): pulumi.Output<string> =>
    command.local.runOutput({ command: cmd, interpreter: ["/bin/sh", "-c"] }).stdout;
  command(name: string, args: HostCommandArgs, opts?: pulumi.CustomResourceOptions): command.local.Command {
    return new command.local.Command(name, {
      create: args.create,
      update: args.update,
      delete: args.delete,
      stdin: args.stdin,
      triggers: args.triggers as pulumi.Input<unknown[]> | undefined,
      environment: args.environment,
      interpreter: ["/bin/sh", "-c"],
      logging: args.quiet ? "none" : "stdoutAndStderr",
    }, commandOptions(args, opts));
  }
  copyFile(name: string, localPath: string, remotePath: string, fingerprint: string, opts?: pulumi.CustomResourceOptions): command.local.Command {
    return this.command(name, {
      create: `install -D -m 0600 ${shellQuote(localPath)} ${shellQuote(remotePath)} # ${fingerprint}`,
    }, opts);
  }
}

export class LxdContainerHost implements Host {
  /**
   * @param container LXD container name, e.g. "dhis2-local-database".
   * @param lxdHost   the machine running LXD: this machine (default) or a server over SSH.
   */
  constructor(readonly name: string, readonly container: string, readonly lxdHost: Host = new LocalHost("lxd-host")) {
    const outer = lxdHost.run;
    // a container that does not exist yet (the first up) answers nothing
    if (outer) this.run = (cmd) => outer(`if lxc info ${shellQuote(container)} >/dev/null 2>&1; then lxc exec ${shellQuote(container)} -- /bin/sh -c ${shellQuote(cmd)}; fi`);
  }
  readonly run?: (command: string) => pulumi.Output<string>;
  command(name: string, args: HostCommandArgs, opts?: pulumi.CustomResourceOptions): HostCommand {
    const env = pulumi.output(args.environment ?? {}).apply((e) =>
      Object.entries(e).map(([k, v]) => `--env ${shellQuote(`${k}=${v}`)}`).join(" "));
    const inContainer = (cmd: pulumi.Input<string> | undefined) => cmd === undefined ? undefined :
      pulumi.all([cmd, env]).apply(([c, e]) =>
        ["lxc exec", shellQuote(this.container), e, "-- /bin/sh -c", shellQuote(c)].filter(Boolean).join(" "));
    return this.lxdHost.command(name, {
      create: inContainer(args.create)!,
      update: inContainer(args.update),
      // the container may be gone already (deleted with the deployment): nothing left to undo then
      delete: args.delete === undefined ? undefined : pulumi.all([inContainer(args.delete)!]).apply(([d]) =>
        `if lxc info ${shellQuote(this.container)} >/dev/null 2>&1; then ${d}; fi`),
      stdin: args.stdin,
      triggers: args.triggers,
      quiet: args.quiet,
    }, opts);
  }
  copyFile(name: string, localPath: string, remotePath: string, fingerprint: string, opts?: pulumi.CustomResourceOptions): HostCommand {
    const dir = remotePath.slice(0, remotePath.lastIndexOf("/")) || "/";
    const c = shellQuote(this.container);
    const push = (from: string) => `lxc exec ${c} -- mkdir -p ${shellQuote(dir)} && lxc file push --mode 0600 --uid 0 --gid 0 ${shellQuote(from)} ${shellQuote(`${this.container}${remotePath}`)}`;
    if (this.lxdHost instanceof LocalHost) {
      return this.lxdHost.command(name, { create: `${push(localPath)} # ${fingerprint}` }, opts);
    }
    // onto the LXD host first, then into the container
    const staged = `/var/lib/dhis2-toolkit/incoming/${this.container}-${name}`;
    const copied = this.lxdHost.copyFile(`${name}-to-host`, localPath, staged, fingerprint, opts);
    return this.lxdHost.command(name, { create: `${push(staged)} && rm -f ${shellQuote(staged)} # ${fingerprint}` }, { ...opts, dependsOn: [copied] });
  }
}

export interface SshConnection {
  readonly host: pulumi.Input<string>;
  readonly user: pulumi.Input<string>;
  readonly port?: pulumi.Input<number>;
  /** Private key (a secret). */
  readonly privateKey: pulumi.Input<string>;
  /** Pinned host key line, when known. */
  readonly hostKey?: pulumi.Input<string>;
  /** The bastion (the proxy) for servers without a public address. */
  readonly bastion?: Omit<SshConnection, "bastion">;
}

export class SshHost implements Host {
  constructor(readonly name: string, readonly connection: SshConnection) {}
  command(name: string, args: HostCommandArgs, opts?: pulumi.CustomResourceOptions): command.remote.Command {
    const env = args.environment ? pulumi.output(args.environment).apply((e) =>
      Object.entries(e).map(([k, v]) => `${k}=${shellQuote(String(v))}`).join(" ")) : pulumi.output("");
    const sudo = (cmd: pulumi.Input<string> | undefined) => cmd === undefined ? undefined :
      pulumi.all([cmd, env]).apply(([cm, e]) => `sudo ${e ? `env ${e} ` : ""}/bin/sh -c ${shellQuote(cm)}`);
    return new command.remote.Command(name, {
      connection: this.connectionArgs(),
      // the admin user is not root: sudo, with the environment set for the command only
      create: sudo(args.create)!,
      update: sudo(args.update),
      delete: sudo(args.delete),
      stdin: args.stdin,
      triggers: args.triggers as pulumi.Input<unknown[]> | undefined,
      logging: args.quiet ? "none" : "stdoutAndStderr",
    }, commandOptions(args, opts));
  }
  copyFile(name: string, localPath: string, remotePath: string, fingerprint: string, opts?: pulumi.CustomResourceOptions): command.remote.Command {
    // upload as the admin user into its home, then move into place as root
    const staged = `.dhis2-upload-${name}`;
    const upload = new command.remote.CopyToRemote(`${name}-upload`, {
      connection: this.connectionArgs(),
      source: new pulumi.asset.FileAsset(localPath),
      remotePath: staged,
      triggers: [fingerprint],
    }, opts);
    return this.command(name, {
      create: `install -D -m 0600 -o root -g root ${shellQuote(staged)} ${shellQuote(remotePath)} && rm -f ${shellQuote(staged)} # ${fingerprint}`,
    }, { ...opts, dependsOn: [upload] });
  }
  private connectionArgs(): command.types.input.remote.ConnectionArgs {
    const c = this.connection;
    return {
      host: c.host, user: c.user, port: c.port, privateKey: c.privateKey, hostKey: c.hostKey, dialErrorLimit: 20,
      proxy: c.bastion && { host: c.bastion.host, user: c.bastion.user, port: c.bastion.port, privateKey: c.bastion.privateKey, hostKey: c.bastion.hostKey },
    };
  }
}
