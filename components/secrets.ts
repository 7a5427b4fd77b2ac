/**
 * Secrets the deployment generates once and keeps: database passwords, DHIS2 encryption
 * passwords, the monitoring login.
 *
 * Generated on the machine running pulumi by a command whose output is marked secret (encrypted in
 * the state, masked in every display) and never logged. A command and not @pulumi/random: the
 * random provider plugin cannot be installed where only the npm registry and the Go module proxy
 * are reachable (docs/toolchain.md). The value stays the same until the resource is replaced
 * (`pulumi up --replace <urn>` rotates it).
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { generateSecretCommand } from "../lib/render/secrets";
import { TOKENS } from "./tokens";

export interface GeneratedSecretArgs {
  /** Number of characters (letters and digits). Default 32. */
  readonly length?: number;
  /**
   * Also make an htpasswd line for this user name (SHA-512 crypt, `openssl passwd -6`), for
   * nginx's auth_basic. Default: none.
   */
  readonly htpasswdUser?: string;
}

export class GeneratedSecret extends pulumi.ComponentResource {
  /** The secret value. */
  public readonly value: pulumi.Output<string>;
  /** "user:hash" when htpasswdUser was given, else empty. */
  public readonly htpasswd: pulumi.Output<string>;

  constructor(name: string, args: GeneratedSecretArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    super(TOKENS.generatedSecret, name, {}, opts);
    let create: string;
    try {
      create = generateSecretCommand(args.length ?? 32, args.htpasswdUser);
    } catch (e) {
      throw new pulumi.ResourceError(`${name}: ${(e as Error).message}`, this);
    }
    const gen = new command.local.Command(`${name}-generate`, {
      create,
      interpreter: ["/bin/sh", "-c"],
      logging: "none",
    }, { parent: this, additionalSecretOutputs: ["stdout", "stderr"] });
    const lines = pulumi.secret(gen.stdout.apply((s) => s.split("\n")));
    this.value = pulumi.secret(lines.apply((l) => l[0] ?? ""));
    this.htpasswd = pulumi.secret(lines.apply((l) => l[1] ?? ""));
    this.registerOutputs({ value: this.value, htpasswd: this.htpasswd });
  }
}
