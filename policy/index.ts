/**
 * The policy pack of the toolkit: `pulumi preview --policy-pack policy` (docs/security.md). The
 * rules are lib/policy/rules.ts, wired as policies by lib/policy/pack.ts; the Node.js language host
 * runs this file with the stack's configuration in its environment.
 */
import * as pulumi from "@pulumi/pulumi";
import { PolicyPack } from "@pulumi/policy";
import * as path from "node:path";
import { decodeEngineConfig } from "../lib/config/stack-file";
import { dhis2Policies, readStackFile, stackFacts } from "../lib/policy/pack";
import type { StackFacts } from "../lib/policy/rules";

const ROOT = path.resolve(__dirname, "..");
const stack = pulumi.getStack();
let facts: StackFacts | undefined | null = null;
const getFacts = () => (facts === null ? (facts = stackFacts(stack, decodeEngineConfig(pulumi.runtime.allConfig()).project)) : facts);

new PolicyPack("dhis2-toolkit", { policies: dhis2Policies(getFacts, () => readStackFile(ROOT, stack)) });
