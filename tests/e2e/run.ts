/**
 * npm run test:e2e — the toolkit deployed for real by the real Pulumi engine on this machine's
 * LXD, and checked with real traffic (docs/testing.md). Every stack of the run has its own name,
 * network, bridge and ports, so a `local` stack deployed on the same machine keeps running; the
 * run checks at the end that it still answers.
 *
 * Phases: 0 fail fast (tests/e2e/phases/failfast.ts), a-h and s the local platform
 * (phases/local.ts), i existing servers over SSH (phases/existing.ts), u PostgreSQL's major upgrade
 * in place and the refused downgrade (phases/pg-upgrade.ts). The DHIS2 WAR and glowroot
 * archive are STAND-INS built here (tests/e2e/standin: releases.dhis2.org and GitHub cannot be
 * reached). Prerequisites (LXD, toolchain, JDK) come from scripts/e2e.sh.
 *
 * DHIS2_E2E_KEEP=1 leaves every stack of the run deployed afterwards (no destroy, no clean-up);
 * DHIS2_E2E_ONLY=existing runs phase i alone, DHIS2_E2E_ONLY=upgrade phase u alone,
 * DHIS2_E2E_ONLY=ondemand the first up and phase o.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { buildStandIns } from "./standin";
import { volumesWithPrefix, check, curl, env, lxdStack, PASSPHRASE, record, removeStack, ROOT, run, summary, WORK, assert } from "./harness";
import { existingPhase, removeExisting } from "./phases/existing";
import { printWhatRan } from "./runtime";
import { failFastPhase } from "./phases/failfast";
import { localPhase } from "./phases/local";
import { onDemandAlone } from "./phases/ondemand";
import { onDemandStacks } from "../../scripts/lib/ondemand";
import { removeUpgradeServer, upgradePhase } from "./phases/pg-upgrade";
import { MAIN, mainStack, stackFile, writeMainStack, type Artifacts } from "./stacks";

const KEEP = process.env.DHIS2_E2E_KEEP === "1";

/** The stand-in WARs (jakarta, javax, embedded) and glowroot archive (tests/e2e/standin), built with the JDK. */
function standIns(): Artifacts {
  const t0 = Date.now();
  const artifacts = buildStandIns(WORK);
  console.log(`stand-ins built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return artifacts;
}

/** The run's result, after what really ran on each stack. */
function finish(): number {
  printWhatRan();
  return summary();
}

async function cleanSlate(): Promise<void> {
  // on-demand instances of the run's stack first (their database lives on its database server)
  for (const s of onDemandStacks(MAIN.name)) {
    await removeStack(s.stack);
    fs.rmSync(s.file, { force: true });
  }
  await removeExisting();
  await removeUpgradeServer();
  // every data volume of the stack: the database's and each instance's file store
  await removeStack(MAIN.name, `dhis2-${MAIN.name}-`, await volumesWithPrefix(`dhis2-${MAIN.name}-`));
  await run("lxc", ["network", "delete", MAIN.bridge]);
}

/** A `local` stack deployed on this machine (npm start) must still answer after the run. */
async function localStillAnswers(wasAnswering: boolean): Promise<void> {
  if (!wasAnswering) {
    console.log("(no local stack answered on this machine's port 443 before the run: nothing to compare)");
    return;
  }
  await check("z", "the local stack deployed on this machine (npm start) still answers on its own port 443", async () => {
    const r = await curl(lxdStack("local", { address: "127.0.0.1", http: 80, https: 443 }), ["-k", "-o", "/dev/null", "-w", "%{http_code}", "https://dhis2.local/api/ping"]);
    assert(r.stdout === "200", `HTTP ${r.stdout} ${r.stderr}`);
    return "https://dhis2.local/api/ping 200";
  });
}

async function main(): Promise<number> {
  fs.mkdirSync(WORK, { recursive: true });
  fs.writeFileSync(path.join(WORK, "pulumi.log"), "");
  const bin = (await run("bash", [path.join(ROOT, "tools/toolchain.sh")])).stdout.trim();
  if (!bin) throw new Error("tools/toolchain.sh printed no bin directory");
  const stateDir = path.join(WORK, "state");
  fs.mkdirSync(stateDir, { recursive: true });
  env.pulumi = { ...process.env, PATH: `${bin}:${process.env.PATH}`, PULUMI_BACKEND_URL: `file://${stateDir}`, PULUMI_CONFIG_PASSPHRASE: PASSPHRASE, PULUMI_SKIP_UPDATE_CHECK: "true" };
  // as scripts/pulumi-env.sh: no plugin downloads only where they cannot be reached
  if ((await run("bash", [path.join(ROOT, "tools/plugin-downloads.sh")])).stdout.trim() === "no") {
    env.pulumi.PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION = "true";
  }
  const local = await curl(lxdStack("local", { address: "127.0.0.1", http: 80, https: 443 }), ["-k", "-o", "/dev/null", "-w", "%{http_code}", "https://dhis2.local/api/ping"]);
  const localAnswered = local.stdout === "200";
  console.log(`Pulumi log: ${path.join(WORK, "pulumi.log")}${localAnswered ? "; a local stack answers on this machine: the run leaves it alone" : ""}`);

  await cleanSlate();
  const artifacts = standIns();
  if (process.env.DHIS2_E2E_ONLY === "existing") {
    // for working on the SSH path alone; the full run (the default, and CI) does every phase
    console.log("DHIS2_E2E_ONLY=existing: phase (i) only");
    await existingPhase(artifacts).catch((e: Error) => { record("i", "existing servers over SSH", false, e.stack ?? e.message); });
    return finish();
  }
  if (process.env.DHIS2_E2E_ONLY === "ondemand") {
    console.log("DHIS2_E2E_ONLY=ondemand: the stack deployed, then phase (o) only");
    writeMainStack(artifacts);
    await onDemandAlone(mainStack()).catch((e: Error) => { record("o", "on-demand instances", false, e.stack ?? e.message); });
    return finish();
  }
  if (process.env.DHIS2_E2E_ONLY === "upgrade") {
    console.log("DHIS2_E2E_ONLY=upgrade: phase (u) only");
    await upgradePhase().catch((e: Error) => { record("u", "PostgreSQL major upgrade in place", false, e.stack ?? e.message); });
    return finish();
  }
  await failFastPhase(artifacts.glowroot).catch((e: Error) => { record("0", "fail fast", false, e.stack ?? e.message); });
  writeMainStack(artifacts);
  await localPhase(mainStack(), MAIN.smtp, KEEP).catch((e: Error) => { record("-", "the local platform's phase", false, e.stack ?? e.message); });
  await existingPhase(artifacts).catch((e: Error) => { record("i", "existing servers over SSH", false, e.stack ?? e.message); });
  await upgradePhase().catch((e: Error) => { record("u", "PostgreSQL major upgrade in place", false, e.stack ?? e.message); });
  await localStillAnswers(localAnswered);
  return finish();
}

async function cleanup(): Promise<void> {
  if (KEEP) {
    console.log(`DHIS2_E2E_KEEP=1: the run's stacks are left as they are (${MAIN.name}, e2e-existing); state in ${path.join(WORK, "state")}`);
    return;
  }
  await cleanSlate().catch((e: Error) => console.error(`cleanup: ${e.message}`));
  fs.rmSync(stackFile(MAIN.name), { force: true });
}

main()
  .catch((e: Error) => {
    record("-", "the end-to-end run", false, e.stack ?? e.message);
    return finish();
  })
  .then(async (code) => {
    await cleanup();
    process.exit(code);
  });
