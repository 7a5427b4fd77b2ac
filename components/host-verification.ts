/**
 * Post-provision step of every node: the host verification (lib/render/verify-host.ts). The
 * rendered script runs on the node as root once its roles have started, and again whenever the
 * script changes (a new declared size or server type is in its header); its output is parsed and
 * judged against the size the plan was tuned to (lib/render/host-facts.ts). Findings are Pulumi
 * warnings, or fail `pulumi up` when the stack sets dhis2:hostCheck.strict. The verdict is a stack
 * output (hostChecks). Nothing is changed on the node; the test file is removed.
 */
import * as pulumi from "@pulumi/pulumi";
import { judgeHost, parseHostFacts, verdictSummary, type HostVerdict } from "../lib/render/host-facts";
import type { HostVerification as Verification } from "../lib/render/verify-host";
import type { Host } from "./host";
import { TOKENS } from "./tokens";

export interface HostVerificationArgs {
  readonly host: Host;
  readonly verification: Verification;
  /** dhis2:hostCheck.strict: findings fail the update. */
  readonly strict: boolean;
}

export class HostVerification extends pulumi.ComponentResource {
  /** What was measured and found, per the last run. */
  public readonly verdict: pulumi.Output<HostVerdict & { readonly summary: string }>;

  constructor(name: string, args: HostVerificationArgs, opts?: pulumi.ComponentResourceOptions) {
    super(TOKENS.hostVerification, name, {}, opts);
    const cmd = args.host.command(`${name}-run`, { create: "/bin/bash -s", stdin: args.verification.script }, { parent: this });
    this.verdict = cmd.stdout.apply((out) => {
      const v = judgeHost(parseHostFacts(out), args.verification.expected, args.strict);
      for (const w of v.warnings) pulumi.log.warn(w, this);
      if (v.failures.length) throw new pulumi.ResourceError(`host verification failed (dhis2:hostCheck.strict): ${v.failures.join("; ")}`, this);
      return { ...v, summary: verdictSummary(v) };
    });
    this.registerOutputs({ verdict: this.verdict });
  }
}
