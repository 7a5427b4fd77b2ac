/**
 * The layers of lib/ run one way (docs/architecture.md): every import of every module under lib/
 * is read and checked against the layer table below. A module may import its own layer and the
 * layers below it, never one above, and nothing under lib/ imports the Pulumi components.
 */
import test from "ava";
import * as fs from "node:fs";
import * as path from "node:path";

const LIB = path.resolve(__dirname, "..", "lib");

/** Layers from the bottom: DHIS2 and OS facts, config, plan, shared render pieces, roles, rendering, platforms, loading and docs. */
const LAYERS: readonly { readonly name: string; readonly modules: RegExp }[] = [
  { name: "facts", modules: /^(dhis2|os)\// },
  { name: "config", modules: /^config\// },
  { name: "plan", modules: /^plan\// },
  { name: "render (shared pieces)", modules: /^render\/(engine|file|paths|shell|secrets|artifacts|cloud-init|credentials)\.ts$/ },
  { name: "roles", modules: /^roles\// },
  { name: "render", modules: /^render\// },
  { name: "platform", modules: /^platform\// },
  { name: "loading and docs", modules: /^(load\.ts|docs\/)/ },
  { name: "policy pack rules", modules: /^policy\// },
  { name: "on-demand instances", modules: /^ondemand\// },
];

function layerOf(rel: string): number {
  const i = LAYERS.findIndex((l) => l.modules.test(rel));
  if (i < 0) throw new Error(`lib/${rel} is in no layer of tests/layers.test.ts`);
  return i;
}

function modules(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? modules(full) : e.name.endsWith(".ts") ? [full] : [];
  });
}

/** The project-relative targets of a module's imports (import ... from "./x", export ... from). */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, "utf8");
  return [...text.matchAll(/^(?:import|export)\s[^;]*?from\s+"(\.{1,2}\/[^"]+)"/gms)].map((m) => {
    const target = path.resolve(path.dirname(file), m[1]!);
    for (const candidate of [`${target}.ts`, path.join(target, "index.ts")]) if (fs.existsSync(candidate)) return candidate;
    return target;
  });
}

test("no import in lib/ runs against the layer order, and lib/ never imports components/", (t) => {
  const wrong: string[] = [];
  let checked = 0;
  for (const file of modules(LIB)) {
    const rel = path.relative(LIB, file);
    const own = layerOf(rel);
    for (const target of importsOf(file)) {
      checked++;
      const relTarget = path.relative(LIB, target);
      if (relTarget.startsWith("..")) {
        wrong.push(`lib/${rel} imports ${path.relative(path.dirname(LIB), target)}, outside lib/`);
        continue;
      }
      const theirs = layerOf(relTarget);
      if (theirs > own) wrong.push(`lib/${rel} (${LAYERS[own]!.name}) imports lib/${relTarget} (${LAYERS[theirs]!.name}, a layer above)`);
    }
  }
  t.deepEqual(wrong, []);
  t.true(checked > 100, `${checked} imports checked`);
  t.log(`${checked} imports of ${modules(LIB).length} modules checked against ${LAYERS.length} layers`);
});
