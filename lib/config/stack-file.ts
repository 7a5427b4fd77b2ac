/**
 * Reading stack configuration: from a stack file (for `npm run render`, without the Pulumi engine)
 * or from the engine's config map (inside `pulumi up`). Both give the same raw object: the keys of
 * the `dhis2:` namespace, without the prefix, with their YAML types.
 */
import type { SecretSource } from "./validate/problems";
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";

export const NAMESPACE = "dhis2";

export interface RawStackConfig {
  /** `dhis2:` keys without the prefix, e.g. { platform: "local", instances: [...] }. */
  readonly project: Record<string, unknown>;
  /** Keys of other namespaces (aws:region, hcloud:token), as found. */
  readonly other: Record<string, unknown>;
}

/** Split a flat `namespace:key` map into our namespace and the rest. Keys without a namespace are ours. */
export function splitNamespaces(flat: Record<string, unknown>): RawStackConfig {
  const project: Record<string, unknown> = {};
  const other: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(flat)) {
    const colon = key.indexOf(":");
    if (colon === -1) project[key] = value;
    else if (key.slice(0, colon) === NAMESPACE) project[key.slice(colon + 1)] = value;
    else other[key] = value;
  }
  return { project, other };
}

/** Path of a stack's file under stacks/. */
export function stackFilePath(projectDir: string, stack: string): string {
  return path.join(projectDir, "stacks", `Pulumi.${stack}.yaml`);
}

/** Read a stack file; throws with the file name when it is missing or not YAML. */
export function readStackFile(file: string): RawStackConfig {
  if (!fs.existsSync(file)) throw new Error(`stack file ${file} does not exist`);
  let doc: unknown;
  try {
    // merge keys (<<: *anchor, YAML 1.1) as the Pulumi engine's YAML reader resolves them
    doc = YAML.parse(fs.readFileSync(file, "utf8"), { merge: true });
  } catch (e) {
    throw new Error(`stack file ${file} is not valid YAML: ${(e as Error).message}`);
  }
  if (doc === null || doc === undefined) return { project: {}, other: {} };
  if (typeof doc !== "object" || Array.isArray(doc)) throw new Error(`stack file ${file} must be a YAML mapping with a 'config:' key`);
  const config = (doc as Record<string, unknown>).config ?? {};
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new Error(`stack file ${file}: 'config:' must be a mapping of keys such as dhis2:platform`);
  }
  // read top-level values as the engine hands them to the program: `pulumi config set` stores
  // top-level numbers and booleans as strings ("16"), which the engine decodes the same way
  const decoded = Object.fromEntries(Object.entries(config as Record<string, unknown>).map(([k, v]) => [k, typeof v === "string" ? decodeEngineValue(v) : v]));
  return splitNamespaces(decoded);
}

/**
 * Decode the values of the Pulumi engine's config map (`pulumi.runtime.allConfig()`): the engine
 * hands every value over as a string, structured values as JSON. Scalars that are JSON numbers or
 * booleans are decoded, so a YAML `cpus: 32` arrives as the number 32 as it does from the file.
 */
export function decodeEngineConfig(all: Record<string, string>): RawStackConfig {
  const decoded: Record<string, unknown> = {};
  for (const [key, text] of Object.entries(all)) {
    decoded[key] = decodeEngineValue(text);
  }
  return splitNamespaces(decoded);
}

function decodeEngineValue(text: string): unknown {
  const t = text.trim();
  if (t.startsWith("{") || t.startsWith("[") || t === "true" || t === "false" || /^-?\d+(\.\d+)?$/.test(t)) {
    try {
      return JSON.parse(t);
    } catch {
      return text;
    }
  }
  return text;
}

/**
 * A stack file's text with temporary overrides (`npm run review -- --set KEY=VALUE`), the rest of
 * the file (comments, secrets, other keys) kept. KEY as `pulumi config set --path` takes it:
 * `dhis2:sizes.database.memoryGb`, `dhis2:instances[0].heapMb`; VALUE as YAML (64, true, text).
 */
export function applyOverrides(text: string, sets: readonly string[]): string {
  const doc = YAML.parseDocument(text);
  for (const set of sets) {
    const eq = set.indexOf("=");
    if (eq < 1) throw new Error(`--set ${set}: expected KEY=VALUE, e.g. dhis2:sizes.database.memoryGb=64`);
    const key = set.slice(0, eq);
    const m = /^([a-z0-9-]+:[A-Za-z0-9_-]+)((?:\.[A-Za-z0-9_-]+|\[\d+\])*)$/.exec(key);
    if (!m) throw new Error(`--set ${set}: ${key} is not a stack key such as dhis2:sizes.database.memoryGb or dhis2:instances[0].heapMb`);
    const rest = [...m[2]!.matchAll(/\.([A-Za-z0-9_-]+)|\[(\d+)\]/g)].map((x) => (x[2] !== undefined ? Number(x[2]) : x[1]!));
    doc.setIn(["config", m[1]!, ...rest], YAML.parse(set.slice(eq + 1)));
  }
  return doc.toString();
}

/**
 * The engine's list of top-level config keys that hold secrets (PULUMI_CONFIG_SECRET_KEYS, a JSON
 * array the language host sets): with it, a plain-text secret is refused; without it (an engine
 * that does not say), secrets are not checked.
 */
export function engineSecretSource(json: string | undefined): SecretSource | undefined {
  if (!json) return undefined;
  try {
    const keys = JSON.parse(json) as unknown;
    return Array.isArray(keys) && keys.every((k) => typeof k === "string") ? { kind: "engine", secretKeys: new Set(keys as string[]) } : undefined;
  } catch {
    return undefined;
  }
}
