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

export interface HostCommandArgs {
  /** Shell command run on create (and again when anything below changes: the command is replaced). */
  readonly create: pulumi.Input<string>;
  /** Fed to the command's standard input. */
  readonly stdin?: pulumi.Input<string>;
  /** Values whose change re-runs the command. */
  readonly triggers?: pulumi.Input<unknown[]>;
  /** Environment of the command (not for secrets: they go on stdin). */
  readonly environment?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Keep stdout/stderr out of Pulumi's logs (for commands that may echo secrets). Default: logged. */
  readonly quiet?: boolean;
}

export interface Host {
  /** Name used in resource names, e.g. "database". */
  readonly name: string;
  command(name: string, args: HostCommandArgs, opts?: pulumi.CustomResourceOptions): HostCommand;
}

/** What a host command is: either kind has the command's `stdout` and `stderr`. */
export type HostCommand = command.local.Command | command.remote.Command;

/** Quote a string for a POSIX shell. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export class LocalHost implements Host {
  constructor(readonly name: string) {}
  command(name: string, args: HostCommandArgs, opts?: pulumi.CustomResourceOptions): command.local.Command {
    return new command.local.Command(name, {
      create: args.create,
      stdin: args.stdin,
      triggers: args.triggers as pulumi.Input<unknown[]> | undefined,
      environment: args.environment,
      interpreter: ["/bin/sh", "-c"],
      logging: args.quiet ? "none" : "stdoutAndStderr",
    }, opts);
  }
}

export class LxdContainerHost implements Host {
  /** @param container LXD container name, e.g. "dhis2-database". */
  constructor(readonly name: string, readonly container: string) {}
  command(name: string, args: HostCommandArgs, opts?: pulumi.CustomResourceOptions): command.local.Command {
    const env = pulumi.output(args.environment ?? {}).apply((e) =>
      Object.entries(e).map(([k, v]) => `--env ${shellQuote(`${k}=${v}`)}`).join(" "));
    return new command.local.Command(name, {
      create: pulumi.all([args.create, env]).apply(([c, e]) =>
        ["lxc exec", shellQuote(this.container), e, "-- /bin/sh -c", shellQuote(c)].filter(Boolean).join(" ")),
      stdin: args.stdin,
      triggers: args.triggers as pulumi.Input<unknown[]> | undefined,
      interpreter: ["/bin/sh", "-c"],
      logging: args.quiet ? "none" : "stdoutAndStderr",
    }, opts);
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
    const c = this.connection;
    const env = args.environment ? pulumi.output(args.environment).apply((e) =>
      Object.entries(e).map(([k, v]) => `${k}=${shellQuote(String(v))}`).join(" ")) : pulumi.output("");
    return new command.remote.Command(name, {
      connection: {
        host: c.host, user: c.user, port: c.port, privateKey: c.privateKey, hostKey: c.hostKey, dialErrorLimit: 20,
        proxy: c.bastion && { host: c.bastion.host, user: c.bastion.user, port: c.bastion.port, privateKey: c.bastion.privateKey, hostKey: c.bastion.hostKey },
      },
      // the admin user is not root: sudo, with the environment set for the command only
      create: pulumi.all([args.create, env]).apply(([cmd, e]) => `sudo ${e ? `env ${e} ` : ""}/bin/sh -c ${shellQuote(cmd)}`),
      stdin: args.stdin,
      triggers: args.triggers as pulumi.Input<unknown[]> | undefined,
      logging: args.quiet ? "none" : "stdoutAndStderr",
    }, opts);
  }
}
