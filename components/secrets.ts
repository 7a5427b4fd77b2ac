/**
 * The monitoring login's htpasswd line, made from its generated password (dhis2:generated, see
 * lib/config/generated.ts): SHA-512 crypt by `openssl passwd -6` on the machine running pulumi,
 * the password on stdin (never an argument), the output marked secret and never logged. It is
 * made again only when the password changes.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { htpasswdCommand } from "../lib/render/secrets";
import { TOKENS } from "./tokens";

export interface HtpasswdLineArgs {
  /** The user name of the line. */
  readonly user: string;
  /** The password (a secret). */
  readonly password: pulumi.Input<string>;
}

export class HtpasswdLine extends pulumi.ComponentResource {
  /** "user:hash" (secret). */
  public readonly line: pulumi.Output<string>;

  constructor(name: string, args: HtpasswdLineArgs, opts?: pulumi.ComponentResourceOptions) {
    super(TOKENS.htpasswdLine, name, {}, opts);
    let create: string;
    try {
      create = htpasswdCommand(args.user);
    } catch (e) {
      throw new pulumi.ResourceError(`${name}: ${(e as Error).message}`, this);
    }
    const hash = new command.local.Command(`${name}-hash`, {
      create,
      stdin: pulumi.secret(args.password),
      interpreter: ["/bin/sh", "-c"],
      logging: "none",
    }, { parent: this, additionalSecretOutputs: ["stdout", "stderr"] });
    this.line = pulumi.secret(hash.stdout.apply((s) => s.trim()));
    this.registerOutputs({ line: this.line });
  }
}
