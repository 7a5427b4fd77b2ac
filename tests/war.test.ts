/**
 * The WAR step (templates/instance/war.sh.hbs) as rendered for a WAR downloaded by URL with the
 * stack's warSha256, run by bash with a stand-in curl (which "downloads" a file the test chose),
 * chown and systemctl: a WAR whose sha256 differs is never put in place.
 */
import test from "ava";
import { spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { renderDeployment } from "../lib/render/hosts";
import { placeholderSecrets } from "../lib/render/secrets";
import { cloudStack, load } from "./support/stacks";

const WAR = "the WAR the mirror serves\n";
const SUM = crypto.createHash("sha256").update(WAR).digest("hex");

function warStep(sha256: string): string {
  const raw = cloudStack({ isolation: "vm", cpus: 4, memoryGb: 8 });
  (raw.instances as Record<string, unknown>[])[0] = { name: "production", version: "2.42.1", war: "https://mirror.example.org/dhis2-stable-41.3.war", warSha256: sha256 };
  const plan = load(raw).plan;
  const host = renderDeployment(plan, { secrets: placeholderSecrets(plan) }).find((h) => h.host === "production")!;
  const step = host.steps.find((s) => s.kind !== "files" && s.name === "war");
  if (!step || step.kind === "files") throw new Error("no war step");
  return step.script;
}

function runWarStep(t: import("ava").ExecutionContext, script: string): { status: number | null; out: string; installed: string | undefined } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "war-step-"));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(dir, "served.war"), WAR);
  const stub = (name: string, body: string) => fs.writeFileSync(path.join(bin, name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
  // curl ... -o FILE URL: copy the served file to FILE
  stub("curl", `while [ $# -gt 0 ]; do if [ "$1" = -o ]; then cp ${dir}/served.war "$2"; fi; shift; done`);
  stub("chown", "exit 0");
  stub("systemctl", "exit 3");
  const target = /^target=(\S+)$/m.exec(script)![1]!;
  const local = path.join(dir, "webapps", path.basename(target));
  fs.mkdirSync(path.dirname(local));
  const r = spawnSync("bash", ["-c", script.split(target).join(local)], { env: { PATH: `${bin}:/usr/bin:/bin` }, encoding: "utf8" });
  return { status: r.status, out: r.stdout + r.stderr, installed: fs.existsSync(local) ? fs.readFileSync(local, "utf8") : undefined };
}

test("a downloaded WAR with the stack's sha256 is installed", (t) => {
  const script = warStep(SUM);
  t.true(script.includes(`echo "${SUM}  $tmp" | sha256sum -c`), script);
  const r = runWarStep(t, script);
  t.is(r.status, 0, r.out);
  t.is(r.installed, WAR);
});

test("a downloaded WAR whose sha256 differs from warSha256 is refused and not put in place", (t) => {
  const r = runWarStep(t, warStep("f".repeat(64)));
  t.not(r.status, 0, r.out);
  t.regex(r.out, /FAILED|did NOT match/);
  t.is(r.installed, undefined);
});
