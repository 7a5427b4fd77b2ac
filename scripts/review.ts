/**
 * npm run review -- --stack NAME [--set KEY=VALUE ...] [--allow-replace] [--diff] [--no-preview]
 *
 * The review of a change before `pulumi up`, for a hardware upgrade above all: the stack with
 * temporary overrides (nothing is written to the stack file), summarised for an administrator:
 *   1. what the plan changes (lib/platform/review.ts): sizes, server types and monthly price,
 *      PostgreSQL settings old → new with why, heaps and pools, what restarts;
 *   2. what Pulumi would do (lib/platform/preview.ts, from `pulumi preview --json` run with a
 *      temporary copy of the stack file as --config-file): replacements and deletions first, in
 *      red, a resource that holds data refused unless --allow-replace; updates; the rest counted;
 *   3. the machines as their last host verification measured them (stack output hostChecks);
 *   4. with --diff, the full `pulumi preview --diff`.
 * Exit status: 0 nothing dangerous; 1 something is replaced or deleted (and not allowed), or the
 * preview failed; 2 the stack or the overrides are invalid. See docs/upgrades.md.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { ConfigError } from "../lib/config/model";
import { applyOverrides, readStackFile, stackFilePath } from "../lib/config/stack-file";
import { loadDeployment, type LoadedDeployment } from "../lib/load";
import { formatPreview, reviewExitCode, reviewPreview, type PreviewDigest } from "../lib/platform/preview";
import { formatPlanReview, reviewPlans } from "../lib/platform/review";
import { formatHostChecks } from "../lib/render/host-facts";

const PROJECT_DIR = path.resolve(__dirname, "..");

function pulumi(args: string[], capture: boolean): { code: number; stdout: string; stderr: string } {
  const r = spawnSync("bash", [path.join(PROJECT_DIR, "scripts", "pulumi.sh"), ...args], {
    cwd: PROJECT_DIR, encoding: "utf8", maxBuffer: 256 * 1024 * 1024, stdio: capture ? ["ignore", "pipe", "pipe"] : "inherit",
  });
  return { code: r.status ?? 1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

function main(): number {
  const { values } = parseArgs({
    options: {
      stack: { type: "string" }, set: { type: "string", multiple: true }, "allow-replace": { type: "boolean" },
      diff: { type: "boolean" }, "no-preview": { type: "boolean" }, help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help || !values.stack) {
    console.error("usage: npm run review -- --stack NAME [--set dhis2:KEY=VALUE ...] [--allow-replace] [--diff] [--no-preview]");
    return values.help ? 0 : 2;
  }
  const stack = values.stack;
  const file = stackFilePath(PROJECT_DIR, stack);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dhis2-review-"));
  const tmp = path.join(dir, `Pulumi.${stack}.yaml`);
  try {
    let before: LoadedDeployment, after: LoadedDeployment;
    try {
      fs.writeFileSync(tmp, applyOverrides(fs.readFileSync(file, "utf8"), values.set ?? []), { mode: 0o600 });
      before = loadDeployment(stack, readStackFile(file).project, file);
      after = loadDeployment(stack, readStackFile(tmp).project, `${file} with ${(values.set ?? []).join(" ") || "no overrides"}`);
    } catch (e) {
      console.error(e instanceof ConfigError ? e.message : `error: ${(e as Error).message}`);
      return 2;
    }
    const allow = values["allow-replace"] ?? false;
    const color = process.stdout.isTTY ?? false;
    console.log(`Review of stack ${stack}${values.set?.length ? ` with ${values.set.join(" ")}` : ""} (the stack file is not changed)\n`);
    for (const w of after.warnings) console.log(`warning: ${w}`);
    if (after.warnings.length) console.log("");
    const planReview = reviewPlans(before, after);
    console.log(formatPlanReview(planReview));
    // another system for a node replaces its container (or its server): refused without --allow-replace
    let code = (planReview.cloudResources.length || planReview.systems.length) && !allow ? 1 : 0;
    // a PostgreSQL downgrade is never applied: the database's set-up refuses it
    if (planReview.postgres?.refused) {
      console.error(`dhis2:postgresVersion ${planReview.postgres.after}: the database runs PostgreSQL ${planReview.postgres.before}; PostgreSQL cannot go down a major version. Allowed: ${planReview.postgres.before} or higher.`);
      return 1;
    }
    if (values["no-preview"]) return code;

    const r = pulumi(["preview", "--json", "--non-interactive", "--stack", stack, "--config-file", tmp], true);
    let digest: PreviewDigest;
    try {
      digest = JSON.parse(r.stdout) as PreviewDigest;
    } catch {
      console.error(`pulumi preview failed (exit ${r.code}):\n${r.stderr.trim().split("\n").slice(-20).join("\n")}`);
      return 1;
    }
    const review = reviewPreview(digest);
    console.log("What pulumi up would do\n");
    console.log(formatPreview(review, { color, allowReplace: allow }));
    code = Math.max(code, reviewExitCode(review, allow), r.code === 0 ? 0 : 1);
    // what the machines measured at their last verification (docs/upgrades.md), when deployed
    const checks = pulumi(["stack", "output", "hostChecks", "--json", "--stack", stack], true);
    const lines = checks.code === 0 ? formatHostChecks(JSON.parse(checks.stdout || "null")) : [];
    if (lines.length) console.log(`\nThe machines as last verified (stack output hostChecks)\n\n${lines.map((l) => `  ${l}`).join("\n")}`);
    if (values.diff) {
      console.log("\nFull diff\n");
      pulumi(["preview", "--diff", "--non-interactive", "--stack", stack, "--config-file", tmp], false);
    }
    console.log(code ? "\nDANGEROUS: something is replaced or deleted (see above); nothing was changed." : "\nNothing is replaced or deleted.");
    return code;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = main();
