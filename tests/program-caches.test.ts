/**
 * tools/program-caches.js, which node loads before the Pulumi program (Pulumi.yaml nodeargs): the
 * compiled-code and ts-node caches go to the project's .cache/, readable by their owner only, and
 * the compiled code of a module the program loads is written there; the real node runs it.
 */
import test from "ava";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";

const ROOT = path.resolve(__dirname, "..");

test("Pulumi.yaml loads tools/program-caches.js before the program", (t) => {
  const project = parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as { runtime: { options: { nodeargs: string } } };
  t.regex(project.runtime.options.nodeargs, /--require \.\/tools\/program-caches\.js/);
});

test("the caches live in the project's .cache/ (mode 0700), not in /tmp, and a loaded module's compiled code is written there", (t) => {
  // a project of its own: tools/program-caches.js, node_modules (the real one), a module to load
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "program-caches-"));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, "tools"));
  fs.copyFileSync(path.join(ROOT, "tools", "program-caches.js"), path.join(dir, "tools", "program-caches.js"));
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
  fs.writeFileSync(path.join(dir, "module.js"), "module.exports = { answer: 6 * 7 };\n");
  const script = "console.log(JSON.stringify({ v8: process.env.V8_COMPILE_CACHE_CACHE_DIR, tsNode: process.env.TS_NODE_CACHE_DIRECTORY, answer: require('./module.js').answer }))";
  const r = spawnSync(process.execPath, ["--require", "./tools/program-caches.js", "-e", script], { cwd: dir, encoding: "utf8" });
  t.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { v8: string; tsNode: string; answer: number };
  t.is(out.answer, 42);
  t.is(out.v8, path.join(dir, ".cache", "v8-compile-cache"));
  t.is(out.tsNode, path.join(dir, ".cache", "ts-node"));
  for (const d of [out.v8, out.tsNode]) t.is(fs.statSync(d).mode & 0o777, 0o700, d);
  // v8-compile-cache writes its blob and map at exit, named by the main module's directory
  const written = fs.readdirSync(out.v8, { recursive: true }).map(String);
  t.true(written.some((f) => f.endsWith(".BLOB")) && written.some((f) => f.endsWith(".MAP")), written.join(", "));
  t.true(fs.statSync(path.join(out.v8, written.find((f) => f.endsWith(".BLOB"))!)).size > 0);
});
