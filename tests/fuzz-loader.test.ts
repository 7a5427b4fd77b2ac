/**
 * Property-based fuzzing of the stack loader (validation → plan → cloud plan): generated stack
 * files, valid and invalid, built by changing, removing or adding keys of the example stacks and
 * of generated cloud stacks, plus wholly arbitrary objects. Every one either loads or is refused
 * with a ConfigError whose every problem names a stack key; nothing else may be thrown.
 */
import test from "ava";
import fc from "fast-check";
import * as path from "node:path";
import { ConfigError } from "../lib/config/model";
import { readStackFile, stackFilePath } from "../lib/config/stack-file";
import { loadDeployment } from "../lib/load";
import { cloudStack } from "./support/stacks";

const ROOT = path.resolve(__dirname, "..");
const BASES: Record<string, unknown>[] = [
  ...["local", "example-existing", "example-hcloud", "example-aws"].map((s) => readStackFile(stackFilePath(ROOT, s)).project),
  cloudStack({ isolation: "vm", cpus: 8, memoryGb: 16, instances: 2 }),
  cloudStack({ isolation: "lxd", cpus: 32, memoryGb: 64, instances: 3 }),
];

type Path = (string | number)[];

/** Every path to a value in a JSON-like tree (objects and arrays), the root excluded. */
function paths(v: unknown, at: Path = []): Path[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => [[...at, i], ...paths(x, [...at, i])]);
  if (v && typeof v === "object") return Object.entries(v).flatMap(([k, x]) => [[...at, k], ...paths(x, [...at, k])]);
  return [];
}

/** A deep copy with the value at `p` replaced (undefined: removed). */
function setAt(v: unknown, p: Path, value: unknown): unknown {
  if (p.length === 0) return value;
  const copy: Record<string | number, unknown> = Array.isArray(v) ? [...v] as unknown as Record<number, unknown> : { ...(v as Record<string, unknown>) };
  const [head, ...rest] = p;
  const next = setAt(copy[head!], rest, value);
  if (next === undefined && !Array.isArray(copy)) delete copy[head!];
  else copy[head!] = next;
  return copy;
}

const values = fc.oneof(
  fc.anything({ maxDepth: 2 }),
  fc.integer({ min: -10, max: 1_000_000 }),
  fc.constantFrom("", "/", "0.0.0.0/0", "::/0", "lxd", "vm", "hcloud", "aws", "existing", "local", "self-signed", "letsencrypt", "2.41.3", "2.30.0", "ssd", "hdd", -1, 0, 1, 13, 15, 17, null, true, [], {}),
  fc.string(),
);

/** A generated stack: a base with 1-4 keys changed, removed or added. */
const mutated = fc.record({
  base: fc.integer({ min: 0, max: BASES.length - 1 }),
  edits: fc.array(fc.record({ pick: fc.nat(), remove: fc.boolean(), add: fc.option(fc.string({ minLength: 1, maxLength: 12 }), { nil: undefined }), value: values }), { minLength: 1, maxLength: 4 }),
}).map(({ base, edits }) => {
  let raw: unknown = BASES[base];
  for (const e of edits) {
    const all = paths(raw);
    if (e.add !== undefined || all.length === 0) {
      const parents = [[], ...all.filter((p) => { let x: unknown = raw; for (const k of p) x = (x as Record<string | number, unknown>)[k]; return x && typeof x === "object" && !Array.isArray(x); })];
      raw = setAt(raw, [...parents[e.pick % parents.length]!, e.add ?? "extra"], e.value);
    } else {
      raw = setAt(raw, all[e.pick % all.length]!, e.remove ? undefined : e.value);
    }
  }
  return raw as Record<string, unknown>;
});

function loads(raw: Record<string, unknown>): "loaded" | "refused" {
  try {
    loadDeployment("fuzz", raw, "stack fuzz");
    return "loaded";
  } catch (e) {
    if (!(e instanceof ConfigError)) throw new Error(`crash (${(e as Error).name}): ${(e as Error).stack}\nstack: ${JSON.stringify(raw)}`);
    if (e.problems.length === 0) throw new Error(`refused without a problem: ${JSON.stringify(raw)}`);
    for (const p of e.problems) {
      if (!/^dhis2:(?!$)/.test(p.key) || /^dhis2:\s/.test(p.key)) throw new Error(`a problem names no stack key: ${JSON.stringify(p)}\nstack: ${JSON.stringify(raw)}`);
    }
    return "refused";
  }
}

test("5,000+ generated stack files: each loads or is refused naming a stack key; 0 crashes", (t) => {
  t.timeout(10 * 60_000);
  const counts = { loaded: 0, refused: 0 };
  fc.assert(fc.property(mutated, (raw) => { counts[loads(raw)]++; }), { numRuns: 4_500, seed: 16 });
  fc.assert(fc.property(fc.dictionary(fc.string({ maxLength: 16 }), values, { maxKeys: 8 }), (raw) => { counts[loads(raw)]++; }), { numRuns: 1_000, seed: 16 });
  t.log(`${counts.loaded + counts.refused} stacks: ${counts.loaded} loaded, ${counts.refused} refused with every problem naming a key`);
  t.true(counts.loaded > 0, "no generated stack was valid: the generator only tests refusals");
  t.true(counts.refused > 0);
  t.true(counts.loaded + counts.refused >= 5_000);
});
