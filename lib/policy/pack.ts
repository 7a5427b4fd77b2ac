/**
 * The policies of the policy pack (policy/index.ts): the rules of ./rules.ts as @pulumi/policy
 * policies, all mandatory. The stack's facts come from its configuration as the engine hands it
 * to the pack (the same loader as the program); the plain-text check reads the stack file.
 */
import type { Policies, ReportViolation, ResourceValidationArgs } from "@pulumi/policy";
import * as fs from "node:fs";
import * as path from "node:path";
import { stackFilePath } from "../config/stack-file";
import { loadDeployment } from "../load";
import { dataVolumes, internetIngress, plaintextSecrets, publicAddress, selfSigned, sshIngress, type ResourceView, type StackFacts } from "./rules";

/** The stack's facts from its `dhis2:` configuration (undefined when it does not load: the program itself then stops with the reason). */
export function stackFacts(stack: string, project: Record<string, unknown>): StackFacts | undefined {
  try {
    const { config } = loadDeployment(stack, project, `stack ${stack}`).plan;
    return { adminCidrs: config.admin.allowedCidrs, tlsMode: config.tls.mode, testStack: config.testStack };
  } catch {
    return undefined;
  }
}

const view = (args: ResourceValidationArgs): ResourceView => ({ type: args.type, name: args.name, props: args.props as Record<string, unknown>, protect: args.opts.protect });
const report = (found: readonly string[], reportViolation: ReportViolation) => { for (const v of found) reportViolation(v); };

/** A mandatory policy that reports what a rule finds on each resource. */
function resourcePolicy(name: string, description: string, rule: (r: ResourceView) => string[]): Policies[number] {
  return { name, description, enforcementLevel: "mandatory", validateResource: (args, reportViolation) => report(rule(view(args)), reportViolation) };
}

/** A mandatory policy that reports what a rule finds on the stack (nothing when its input is missing). */
function stackPolicy<T>(name: string, description: string, input: () => T | undefined, rule: (x: T) => string[]): Policies[number] {
  return {
    name, description, enforcementLevel: "mandatory",
    validateStack: (_args, reportViolation) => {
      const x = input();
      if (x !== undefined) report(rule(x), reportViolation);
    },
  };
}

/** The policies, given how to get the stack's facts and its stack file (policy/index.ts reads them from the engine and the disk). */
export function dhis2Policies(facts: () => StackFacts | undefined, stackFile: () => string | undefined): Policies {
  return [
    resourcePolicy("dhis2-internet-only-to-the-proxy", "Nothing but the proxy's ports 80 and 443 is open to 0.0.0.0/0 or ::/0 (security groups, Hetzner firewalls).", internetIngress),
    resourcePolicy("dhis2-ssh-from-admin-networks", "SSH (22) only from dhis2:admin.allowedCidrs.", (r) => {
      const f = facts();
      return f ? sshIngress(r, f) : [];
    }),
    resourcePolicy("dhis2-no-public-address-behind-the-proxy", "No public address on the database, the monitor or the DHIS2 instances.", publicAddress),
    resourcePolicy("dhis2-data-volumes-protected", "The data volumes (PostgreSQL, the DHIS2 file store) are protected from deletion (and Hetzner's deleteProtection).", dataVolumes),
    stackPolicy("dhis2-no-self-signed-outside-tests", "dhis2:tls.mode self-signed only on a stack with dhis2:testStack: true.", facts, selfSigned),
    stackPolicy("dhis2-secrets-encrypted", "Every secret stack value (provider tokens, SSH key, SMTP and object store passwords, generated passwords) is encrypted in the stack file.", stackFile, plaintextSecrets),
  ];
}

/** The stack file's text, or undefined when there is none. */
export function readStackFile(projectDir: string, stack: string): string | undefined {
  const file = stackFilePath(projectDir, stack);
  return fs.existsSync(file) ? fs.readFileSync(path.resolve(file), "utf8") : undefined;
}
