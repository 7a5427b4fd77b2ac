/**
 * npm run render -- --stack NAME [--out DIR] [--check-urls]
 *
 * Validates stacks/Pulumi.NAME.yaml, writes every file each host would get into DIR/<host>/<path>
 * (secrets as placeholders) and, under DIR/<host>/steps/, the scripts each host runs in the order
 * `pulumi up` runs them; prints the tuning table. Needs no cloud account and no Pulumi.
 * A local file the stack names (WAR, glowroot archive, provided certificate or key) that is missing
 * is refused, as `pulumi up` refuses it. --check-urls: also refuses what `pulumi up` would refuse
 * before touching anything: the missing SSH key, and WAR or glowroot URLs this machine cannot fetch.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { artifactProblems, artifactUrlProblems, deployProblems } from "../lib/config/artifacts";
import { ConfigError } from "../lib/config/model";
import { renderDeployment } from "../lib/render/hosts";
import { lxdContainers, lxdDataVolumes, lxdNetwork, lxdRoleImages } from "../lib/render/lxd";
import { cloudReport } from "../lib/platform/report";
import { tuningReport } from "../lib/render/report";
import { placeholderSecrets } from "../lib/render/secrets";
import { loadForCli } from "./lib/load-stack";

const PROJECT_DIR = path.resolve(__dirname, "..");

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { stack: { type: "string" }, out: { type: "string" }, "check-urls": { type: "boolean" }, help: { type: "boolean", short: "h" } },
    strict: true,
  });
  if (values.help || !values.stack) {
    const stacks = fs.readdirSync(path.join(PROJECT_DIR, "stacks")).filter((f) => /^Pulumi\..+\.yaml$/.test(f)).map((f) => f.slice(7, -5));
    console.error(`usage: npm run render -- --stack NAME [--out DIR] [--check-urls]\nstacks: ${stacks.join(", ")}`);
    return values.help ? 0 : 2;
  }
  const loaded = loadForCli(PROJECT_DIR, values.stack);
  if (!loaded) return 1;
  for (const w of loaded.warnings) console.error(`warning: ${w}`);
  const plan = loaded.plan;
  {
    // local files always (as pulumi up); the SSH key and the URLs with --check-urls
    const problems = values["check-urls"] ? [...deployProblems(plan.config), ...await artifactUrlProblems(plan.config)] : artifactProblems(plan.config);
    if (problems.length) {
      console.error(new ConfigError(`stacks/Pulumi.${values.stack}.yaml`, problems).message);
      return 1;
    }
  }
  const hosts = renderDeployment(plan, { secrets: placeholderSecrets(plan) });
  if (values.out) {
    const out = path.resolve(values.out);
    let count = 0;
    const writeAt = (host: string, rel: string, content: string) => {
      const target = path.join(out, host, rel);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, content, { mode: 0o600 });
      count++;
    };
    if (plan.config.isolation === "lxd") {
      // what runs on the LXD host first: the stack's network, the data volumes, the package
      // images, one container per role
      const net = lxdNetwork(plan);
      writeAt("lxd-host", "steps/1-network.sh", net.script);
      writeAt("lxd-host", "steps/1-network-delete.sh", net.deleteScript);
      for (const v of lxdDataVolumes(plan)) writeAt("lxd-host", `steps/2-${v.key}-volume.sh`, v.script);
      const images = lxdRoleImages(plan, hosts);
      for (const i of images) writeAt("lxd-host", `steps/3-image-${i.node}.sh`, i.script);
      for (const c of lxdContainers(plan, images)) writeAt("lxd-host", `steps/4-container-${c.node}.sh`, c.script);
    }
    for (const h of hosts) {
      const write = (rel: string, content: string) => writeAt(h.host, rel, content);
      // the order in which pulumi up runs them on the host
      h.steps.forEach((s, i) => write(`steps/${i + 1}-${s.kind === "files" ? "files.txt" : `${s.name}.${s.command ? "sql" : "sh"}`}`,
        s.kind === "files" ? "(the files listed in FILES.txt, each written with its owner and mode)\n" : s.script));
      for (const f of h.files) write(f.path, f.content);
      if (h.userData) write("cloud-init/user-data", h.userData);
      for (const script of h.postProvision) write(`post-provision/${script.name}`, script.content);
      write("post-provision/verify-host.sh", h.verify.script);
      const listing = h.files.map((f) => `${f.mode} ${f.owner}:${f.group} ${f.path}${f.secret ? "  (holds secrets: placeholders here)" : ""}${f.reload ? `  → ${f.reload}` : ""}`);
      const scripts = [...h.postProvision.map((p) => `post-provision/${p.name}  (run as ${p.runAs} after the roles, script on stdin)`),
        "post-provision/verify-host.sh  (run as root after the roles: what the host really has, checked against its size)"];
      write("FILES.txt", `${h.hostname} (${h.role}, ${h.address})\n${[...listing, ...scripts].join("\n")}\n`);
    }
    console.log(`Wrote ${count} files for ${hosts.length} hosts into ${out}/<host>/ (secrets are placeholders).`);
    console.log("");
  }
  console.log(tuningReport(plan));
  if (loaded.cloud) console.log(`\nCloud servers\n\n${cloudReport(loaded.cloud)}`);
  return 0;
}

main().then((code) => { process.exitCode = code; }, (e: Error) => { console.error(`error: ${e.message}`); process.exitCode = 2; });
