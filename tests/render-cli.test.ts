/**
 * `npm run render` (scripts/render.ts) refuses what `pulumi up` refuses before anything is
 * touched: a local WAR, glowroot archive, or provided certificate/key that does not exist.
 * The script is run as npm runs it, on a stack file written for the test under stacks/.
 */
import test from "ava";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const PROJECT = path.resolve(__dirname, "..");

function renderStack(t: import("ava").ExecutionContext, config: string): { status: number | null; out: string } {
  const name = `test-render-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const file = path.join(PROJECT, "stacks", `Pulumi.${name}.yaml`);
  fs.writeFileSync(file, config);
  t.teardown(() => fs.rmSync(file, { force: true }));
  const r = spawnSync(process.execPath, ["--import=tsx", path.join(PROJECT, "scripts/render.ts"), "--stack", name], { cwd: PROJECT, encoding: "utf8" });
  return { status: r.status, out: r.stdout + r.stderr };
}

const stack = (instance: string, extra = "") => `config:
  dhis2:platform: local
  dhis2:sizes:
    host: { cpus: 2, memoryGb: 8, disk: ssd, diskGb: 40 }
  dhis2:instances:
    - name: production
      version: "2.42.1"
${instance}
${extra}`;

test("render refuses a local WAR, glowroot archive, certificate and key that do not exist, naming each key", (t) => {
  const r = renderStack(t, stack("      war: /nonexistent/dhis2.war", `  dhis2:monitoring:
    glowrootArchive: /nonexistent/glowroot.zip
  dhis2:tls:
    mode: provided
    certificateFile: /nonexistent/cert.pem
    keyFile: /nonexistent/key.pem
`));
  t.is(r.status, 1, r.out);
  for (const key of ["dhis2:instances[0].war", "dhis2:monitoring.glowrootArchive", "dhis2:tls.certificateFile", "dhis2:tls.keyFile"]) {
    t.regex(r.out, new RegExp(`${key.replace(/[.[\]]/g, "\\$&")}: names a file that does not exist`), r.out);
  }
  t.regex(r.out, /Nothing was changed/);
});

test("render accepts the same stack once the files exist", (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "render-files-"));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const f of ["dhis2.war", "glowroot.zip", "cert.pem", "key.pem"]) fs.writeFileSync(path.join(dir, f), "test");
  const r = renderStack(t, stack(`      war: ${dir}/dhis2.war`, `  dhis2:monitoring:
    glowrootArchive: ${dir}/glowroot.zip
  dhis2:tls:
    mode: provided
    certificateFile: ${dir}/cert.pem
    keyFile: ${dir}/key.pem
`));
  t.is(r.status, 0, r.out);
});
