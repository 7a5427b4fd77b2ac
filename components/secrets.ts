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

export interface GeneratedSecretArgs {
  /** Number of characters (letters and digits). Default 32. */
  readonly length?: number;
  /**
   * Also make an htpasswd line for this user name (SHA-512 crypt, `openssl passwd -6`), for
   * nginx's auth_basic. Default: none.
   */
  readonly htpasswdUser?: string;
}

const USER_RE = /^[a-z][a-z0-9_-]{0,31}$/;

export class GeneratedSecret extends pulumi.ComponentResource {
  /** The secret value. */
  public readonly value: pulumi.Output<string>;
  /** "user:hash" when htpasswdUser was given, else empty. */
  public readonly htpasswd: pulumi.Output<string>;

  constructor(name: string, args: GeneratedSecretArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    super("dhis2:secret:GeneratedSecret", name, {}, opts);
    const length = args.length ?? 32;
    if (!Number.isInteger(length) || length < 16 || length > 128) throw new Error(`${name}: length must be 16 to 128`);
    if (args.htpasswdUser !== undefined && !USER_RE.test(args.htpasswdUser)) throw new Error(`${name}: bad user name ${args.htpasswdUser}`);
    // the value only ever lives in a shell variable (printf is a builtin: no process argument)
    const hash = args.htpasswdUser
      ? `; printf '%s' "$pw" | openssl passwd -6 -stdin | sed 's/^/${args.htpasswdUser}:/'`
      : "";
    const gen = new command.local.Command(`${name}-generate`, {
      create: `set -e; pw=$(LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c ${length}); printf '%s\\n' "$pw"${hash}`,
      interpreter: ["/bin/sh", "-c"],
      logging: "none",
    }, { parent: this, additionalSecretOutputs: ["stdout", "stderr"] });
    const lines = pulumi.secret(gen.stdout.apply((s) => s.split("\n")));
    this.value = pulumi.secret(lines.apply((l) => l[0] ?? ""));
    this.htpasswd = pulumi.secret(lines.apply((l) => l[1] ?? ""));
    this.registerOutputs({ value: this.value, htpasswd: this.htpasswd });
  }
}
