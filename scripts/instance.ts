/**
 * npm run instance -- COMMAND: on-demand staging, training and rehearsal instances of a country
 * stack on this machine (docs/instances.md), each a stack of its own driven by Pulumi's
 * Automation API.
 *
 *   create NAME --from STACK [--source INSTANCE] [--version V --war WAR] [--size small|medium|as-prod]
 *          [--ttl 3d] [--seed latest-backup | --seed backup ID | --seed dump PATH | --seed empty] [--scrub]
 *   list [--from STACK]
 *   extend NAME --from STACK --ttl 2d
 *   pause NAME --from STACK     resume NAME --from STACK
 *   destroy NAME --from STACK
 *   reap [--from STACK] [--as-of TIME] [--dry-run]    destroy every expired instance
 *   reap --install-cron                                 reap every hour (/etc/cron.d/dhis2-reap)
 *
 * Every check runs before anything is made; a create that fails is destroyed again.
 */
import * as fs from "node:fs";
import { parseArgs } from "node:util";
import { LocalWorkspace, type Stack } from "@pulumi/pulumi/automation";
import { generatedName, generateSecret } from "../lib/config/generated";
import { ConfigError } from "../lib/config/model";
import { extendExpiry, isExpired, isoSeconds, onDemandStackName, planCreate, refusal } from "../lib/ondemand/spec";
import { PATHS } from "../lib/render/paths";
import { containerName } from "../lib/render/lxd";
import { localRepository } from "../lib/roles/backup";
import { renderTemplate } from "../lib/render/engine";
import { trainingPasswordName } from "../components/ondemand";
import { containerState, freeForContainersMb, instanceContainer, onDemandStacks, removeStackFile, setExpiry, writeOnDemandStack, type OnDemandStack } from "./lib/ondemand";
import { loadPlanOrSay, PROJECT_DIR, pulumi, run, stackHosts } from "./lib/stack-hosts";

const say = (line: string) => console.error(line);
const seconds = (since: number) => ((Date.now() - since) / 1000).toFixed(1);

async function workspaceStack(stack: string, create: boolean): Promise<Stack> {
  const args = { stackName: stack, workDir: PROJECT_DIR };
  const opts = { envVars: { PULUMI_SKIP_UPDATE_CHECK: "true" } };
  return create ? LocalWorkspace.createStack(args, opts) : LocalWorkspace.selectStack(args, opts);
}

const output = (line: string) => { if (line.trim()) process.stderr.write(`  | ${line.trimEnd()}\n`); };

async function create(name: string, v: Record<string, string | boolean | string[] | undefined>): Promise<number> {
  const from = v.from as string | undefined;
  if (!from) { say("create: --from STACK is required (the country stack to copy)"); return 2; }
  const country = loadPlanOrSay(from);
  if (!country) return 2;
  const existing = onDemandStacks(from);
  const facts = {
    platform: country.config.platform,
    onDemandRange: country.topology.onDemand,
    instances: country.instances.map((i) => ({ name: i.config.name, cpus: i.node.budget.cpus, memoryMb: i.node.budget.memoryMb, version: i.config.runtime.display, war: i.config.war.startsWith("/") ? i.config.war : undefined })),
    usedSlots: existing.map((s) => s.spec.slot),
    onDemandNames: existing.map((s) => s.spec.name),
  };
  const seedWords = (v.seed as string[] | undefined) ?? ["latest-backup"];
  const seed = seedWords.length === 1 && (seedWords[0] === "backup" || seedWords[0] === "dump") && v.positional2 ? [seedWords[0], v.positional2 as string] : seedWords;
  const req = {
    name, from, source: v.source as string | undefined, version: v.version as string | undefined, war: v.war as string | undefined,
    size: (v.size as string | undefined) ?? "small", ttl: (v.ttl as string | undefined) ?? "3d", seed, scrub: v.scrub === true,
  };
  const planned = planCreate(req, facts, new Date());
  if (!planned.spec) { say(refusal(`npm run instance -- create ${name}`, planned.problems)); return 2; }
  const spec = planned.spec;
  const stack = onDemandStackName(from, name);
  // --- what must be there before anything is made ---------------------------------------------
  const problems: { key: string; value?: unknown; message: string }[] = [];
  const dbState = await containerState(containerName(from, "database"));
  const proxyState = await containerState(containerName(from, "proxy"));
  if (dbState !== "RUNNING" || proxyState !== "RUNNING") problems.push({ key: "--from", value: from, message: `is not deployed and running on this machine (its database container is ${dbState}, its proxy ${proxyState}): npm start, or npm run pulumi -- up --stack ${from}` });
  if (fs.existsSync(`${PROJECT_DIR}/stacks/Pulumi.${stack}.yaml`)) problems.push({ key: "NAME", value: name, message: `stack ${stack} exists already (stacks/Pulumi.${stack}.yaml): destroy it first or choose another name` });
  if (spec.seed.kind === "dump" && !fs.existsSync(spec.seed.path)) problems.push({ key: "--seed dump", value: spec.seed.path, message: "is not a file on this machine" });
  if ((spec.seed.kind === "latest-backup" || spec.seed.kind === "backup") && problems.length === 0) {
    const hosts = await stackHosts(country);
    try {
      const db = hosts.nodes.find((n) => n.node === "database")!;
      const r = await db.run(`RESTIC_PASSWORD_FILE=${PATHS.backupConf}/password restic -r ${localRepository(country.topology.database)} snapshots --json --tag dhis2-database,instance:${spec.source}`, { timeoutMs: 120_000 });
      const snaps = r.code === 0 ? JSON.parse(r.stdout || "[]") as { id: string; short_id: string; paths: string[] }[] : [];
      const wanted = spec.seed.kind === "backup" ? snaps.filter((s) => s.id.startsWith((spec.seed as { id: string }).id)) : snaps.filter((s) => s.paths[0] === `/${spec.source}.dump`);
      if (wanted.length === 0) {
        problems.push({ key: "--seed", value: seed.join(" "), message: spec.seed.kind === "backup"
          ? `no backup ${spec.seed.id} of instance ${spec.source} in stack ${from} (npm run backups -- --stack ${from} lists them)`
          : `instance ${spec.source} of stack ${from} has no backup yet: run one (lxc exec dhis2-${from}-database -- dhis2-backup) or use --seed empty` });
      }
    } finally { hosts.close(); }
  }
  const free = await freeForContainersMb();
  const wantMb = Math.round(spec.size.memoryGb * 1024);
  if (wantMb > free.freeMb) problems.push({ key: "--size", value: req.size, message: `needs ${wantMb} MB; this machine has ${free.totalMb} MB, its running DHIS2 containers may take ${free.limitedMb} MB, 1024 MB are kept for the host: ${Math.max(0, free.freeMb)} MB free. Choose a smaller --size or pause another instance` });
  if (problems.length) { say(refusal(`npm run instance -- create ${name}`, problems)); return 2; }

  // --- the stack ------------------------------------------------------------------------------
  const started = Date.now();
  say(`instance ${name}: stack ${stack} of ${from}/${spec.source}, ${spec.sizeName} (${spec.size.cpus} CPU, ${spec.size.memoryGb} GB), seed ${seed.join(" ")}${spec.scrub ? ", scrubbed" : ""}, expires ${spec.expires}`);
  writeOnDemandStack(stack, spec);
  const ws = await workspaceStack(stack, true);
  let trainingPassword: string | undefined;
  try {
    const setSecret = async (key: string, value: string) => {
      const r = await pulumi(["config", "set", "--secret", "--path", key], stack, { input: value, timeoutMs: 120_000 });
      if (r.code !== 0) throw new Error(`pulumi config set ${key}: ${r.stderr.trim()}`);
    };
    await setSecret(`dhis2:generated.${generatedName.databasePassword(name)}`, generateSecret(32));
    // the source's encryption password: DHIS2 reads the copy's encrypted values with it
    const enc = await pulumi(["config", "get", "--path", `dhis2:generated.${generatedName.encryptionPassword(spec.source)}`], from, { timeoutMs: 120_000 });
    if (enc.code !== 0 || !enc.stdout.trim()) throw new Error(`cannot read dhis2:generated.${generatedName.encryptionPassword(spec.source)} of stack ${from}: ${enc.stderr.trim()}`);
    await setSecret(`dhis2:generated.${generatedName.encryptionPassword(name)}`, enc.stdout.trim());
    if (country.config.alerts.smtp?.password) {
      const smtp = await pulumi(["config", "get", "--path", "dhis2:alerts.smtp.password"], from, { timeoutMs: 120_000 });
      await setSecret("dhis2:alerts.smtp.password", smtp.stdout.trim());
    }
    if (spec.scrub) {
      trainingPassword = generateSecret(16);
      await setSecret(`dhis2:generated.${trainingPasswordName(name)}`, trainingPassword);
    }
    for (const [k, val] of Object.entries({ "dhis2:from": from, "dhis2:instance": name, "dhis2:expires": spec.expires })) await ws.workspace.setTag(stack, k, val);
    await ws.up({ onOutput: output, color: "never" });
  } catch (e) {
    say(`instance ${name}: create failed after ${seconds(started)} s: ${(e as Error).message.split("\n").slice(-8).join("\n")}`);
    say(`instance ${name}: removing what was made`);
    await destroyStack({ stack, file: "", spec }, ws);
    return 1;
  }
  const outs = await ws.outputs();
  const firstStart = await waitForFirstStart({ stack, file: "", spec }, String(outs.address?.value ?? ""));
  say(`instance ${name}: created in ${seconds(started)} s; ${firstStart}`);
  console.log(`created\t${name}\t${outs.url?.value ?? ""}\texpires ${spec.expires}\t${seconds(started)} s`);
  if (trainingPassword) {
    console.log(`training password (every login of ${name}; shown once, kept encrypted in stacks/Pulumi.${stack}.yaml): ${trainingPassword}`);
  }
  return 0;
}

/**
 * DHIS2's first start on the copy, when its migrations run (an upgrade rehearsal's figure): from
 * the service's start to the first answer of /api/ping on the instance itself, up to 30 minutes.
 */
async function waitForFirstStart(s: OnDemandStack, address: string): Promise<string> {
  const container = instanceContainer(s);
  const probe = `curl -s -o /dev/null -w '%{http_code}' --max-time 10 http://${address}:8080/${s.spec.name}/api/ping`;
  const until = Date.now() + 30 * 60_000;
  say(`instance ${s.spec.name}: waiting for DHIS2's first start on the copy (its database migrations run now)`);
  for (;;) {
    const r = await run("lxc", ["exec", container, "--", "sh", "-c", probe], { timeoutMs: 30_000 });
    if (r.stdout.trim() === "200") break;
    if (Date.now() > until) return "DHIS2 did not answer within 30 minutes of its start: see lxc exec " + container + " -- journalctl -u dhis2";
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
  const since = await run("lxc", ["exec", container, "--", "systemctl", "show", "dhis2", "-p", "ExecMainStartTimestamp", "--value"], { timeoutMs: 30_000 });
  const startedAt = Date.parse(since.stdout.trim().replace(/^\w{3} /, "").replace(/ UTC$/, "Z").replace(" ", "T"));
  const took = Number.isNaN(startedAt) ? "?" : ((Date.now() - startedAt) / 1000).toFixed(1);
  return `DHIS2 ${s.spec.version ?? "of the source"} answered ${took} s after its start on the copy (its first start: the database migrations ran in this time)`;
}

async function destroyStack(s: OnDemandStack, ws?: Stack): Promise<boolean> {
  const started = Date.now();
  try {
    const stack = ws ?? await workspaceStack(s.stack, false);
    // a paused instance is started first, so that its deletion steps reach it
    if (await containerState(instanceContainer(s)) === "STOPPED") await run("lxc", ["start", instanceContainer(s)], { timeoutMs: 120_000 });
    await stack.destroy({ onOutput: output, color: "never" });
    await stack.workspace.removeStack(s.stack);
  } catch (e) {
    say(`instance ${s.spec.name}: destroy failed: ${(e as Error).message.split("\n").slice(-6).join("\n")}`);
    return false;
  }
  removeStackFile(s.stack);
  say(`instance ${s.spec.name}: destroyed in ${seconds(started)} s (stack ${s.stack}, its container, its database, its location on the proxy)`);
  return true;
}

function find(name: string | undefined, from: string | undefined): OnDemandStack | undefined {
  if (!name || !from) { say("NAME and --from STACK are required"); return undefined; }
  const s = onDemandStacks(from).find((x) => x.spec.name === name);
  if (!s) say(`no on-demand instance ${name} of stack ${from} (npm run instance -- list shows them)`);
  return s;
}

async function list(from: string | undefined): Promise<number> {
  const rows = [["NAME", "FROM", "SOURCE", "VERSION", "URL", "CREATED", "EXPIRES", "SIZE", "STATE"]];
  const now = new Date();
  for (const s of onDemandStacks(from)) {
    const country = loadPlanOrSay(s.spec.from);
    const url = country ? `https://${country.config.domain}/${s.spec.name}/` : "?";
    const state = (await containerState(instanceContainer(s))).toLowerCase().replace("stopped", "paused");
    rows.push([s.spec.name, s.spec.from, s.spec.source, s.spec.version ?? (country?.instances.find((i) => i.config.name === s.spec.source)?.config.runtime.display ?? "?"), url,
      s.spec.created, `${s.spec.expires}${isExpired(s.spec, now) ? " (expired)" : ""}`, `${s.spec.sizeName} ${s.spec.size.cpus}/${s.spec.size.memoryGb}GB`, state]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd());
  return 0;
}

async function reap(v: Record<string, unknown>): Promise<number> {
  if (v["install-cron"]) {
    const cron = renderTemplate("ondemand/reap.cron.hbs", { project: PROJECT_DIR, passphraseFile: process.env.PULUMI_CONFIG_PASSPHRASE_FILE ?? "" });
    fs.writeFileSync("/etc/cron.d/dhis2-reap", cron, { mode: 0o644 });
    say("reap: /etc/cron.d/dhis2-reap runs npm run instance -- reap every hour (log: /var/log/dhis2-reap.log)");
    return 0;
  }
  const asOf = v["as-of"] ? new Date(String(v["as-of"])) : new Date();
  if (Number.isNaN(asOf.getTime())) { say(`reap: --as-of ${String(v["as-of"])}: must be a time such as 2026-12-06T10:00:00Z`); return 2; }
  const expired = onDemandStacks(v.from as string | undefined).filter((s) => isExpired(s.spec, asOf));
  say(`reap: ${expired.length} expired on-demand instance(s) as of ${isoSeconds(asOf)}${expired.length ? `: ${expired.map((s) => `${s.stack} (expired ${s.spec.expires})`).join(", ")}` : ""}`);
  let failed = 0;
  for (const s of expired) {
    if (v["dry-run"]) { console.log(`would destroy\t${s.stack}`); continue; }
    const started = Date.now();
    if (await destroyStack(s)) console.log(`destroyed\t${s.stack}\texpired ${s.spec.expires}\t${seconds(started)} s`);
    else failed++;
  }
  return failed ? 1 : 0;
}

async function main(): Promise<number> {
  const { values: v, positionals } = parseArgs({
    allowPositionals: true,
    strict: true,
    options: {
      from: { type: "string" }, source: { type: "string" }, version: { type: "string" }, war: { type: "string" },
      size: { type: "string" }, ttl: { type: "string" }, seed: { type: "string", multiple: true }, scrub: { type: "boolean" },
      "as-of": { type: "string" }, "dry-run": { type: "boolean" }, "install-cron": { type: "boolean" }, help: { type: "boolean", short: "h" },
    },
  });
  const [command, name, extra] = positionals;
  const usage = () => say(fs.readFileSync(__filename, "utf8").split("\n").slice(1, 16).map((l) => l.replace(/^ \* ?/, "")).join("\n"));
  if (v.help || !command) { usage(); return v.help ? 0 : 2; }
  switch (command) {
    case "create": return name ? create(name, { ...v, positional2: extra }) : (say("create NAME --from STACK ..."), 2);
    case "list": return list(v.from);
    case "destroy": { const s = find(name, v.from); return s ? (await destroyStack(s) ? 0 : 1) : 2; }
    case "reap": return reap(v);
    case "extend": {
      const s = find(name, v.from);
      if (!s) return 2;
      const e = extendExpiry(v.ttl ?? "", new Date());
      if (!e.expires) { say(refusal(`npm run instance -- extend ${name}`, [e.problem!])); return 2; }
      setExpiry(s.stack, e.expires);
      await (await workspaceStack(s.stack, false)).workspace.setTag(s.stack, "dhis2:expires", e.expires);
      console.log(`extended\t${name}\texpires ${e.expires}`);
      return 0;
    }
    case "pause":
    case "resume": {
      const s = find(name, v.from);
      if (!s) return 2;
      const container = instanceContainer(s);
      const r = await run("lxc", [command === "pause" ? "stop" : "start", container], { timeoutMs: 300_000 });
      if (r.code !== 0 && !/already (stopped|running)/i.test(r.stderr)) { say(`${command} ${name}: lxc: ${r.stderr.trim()}`); return 1; }
      console.log(`${command === "pause" ? "paused" : "resumed"}\t${name}\tcontainer ${container} ${command === "pause" ? "stopped (its data kept)" : "started"}`);
      return 0;
    }
    default: say(`unknown command ${command}`); usage(); return 2;
  }
}

main().then((code) => { process.exitCode = code; }, (e: Error) => {
  console.error(e instanceof ConfigError ? e.message : `error: ${e.message}`);
  process.exitCode = 2;
});
