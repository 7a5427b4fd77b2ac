/**
 * Problems of a stack configuration: keyed by the full stack key, the value shown (secrets
 * masked), and zod's shape errors in the words of a YAML stack file.
 */
import { z } from "zod";
import { closest, distance } from "fastest-levenshtein";
import type { ConfigProblem } from "../model";
import { stackConfig } from "../schema";
import { NAMESPACE } from "../stack-file";

/** A path inside the `dhis2:` keys, e.g. ["instances", 0, "path"]. */
export type KeyPath = readonly PropertyKey[];

/** The full stack key of a path: dhis2:instances[0].path. An empty name or one with spaces is quoted (dhis2:" "). */
export function key(path: KeyPath): string {
  let out = `${NAMESPACE}:`;
  path.forEach((p, i) => {
    const name = typeof p === "string" && (p === "" || /\s/.test(p)) ? JSON.stringify(p) : String(p);
    if (typeof p === "number") out += `[${p}]`;
    else out += i === 0 ? name : `.${name}`;
  });
  return out;
}

const SECRET_KEYS = /password|token|secret|privateKey/i;

/** The value as a message shows it: secrets masked, long structures shortened. */
export function shown(path: KeyPath, value: unknown): unknown {
  if (path.some((p) => typeof p === "string" && SECRET_KEYS.test(p))) return value === undefined ? undefined : "(secret hidden)";
  if (typeof value === "object" && value !== null) {
    const text = JSON.stringify(value);
    return text.length > 120 ? `${text.slice(0, 117)}...` : value;
  }
  return value;
}

/** Collects the problems and warnings of one validation. */
export class Problems {
  readonly problems: ConfigProblem[] = [];
  readonly warnings: string[] = [];
  /** A problem at a key: what is wrong and what is allowed, with the value found. */
  add(path: KeyPath, message: string, value?: unknown): void {
    this.problems.push({ key: key(path), value: shown(path, value), message });
  }
  warn(message: string): void {
    this.warnings.push(message);
  }
}

/** The object schema found at a path, to list the keys it allows. */
function objectKeysAt(path: KeyPath): string[] {
  let s: z.ZodType = stackConfig;
  for (const p of path) {
    s = unwrap(s);
    if (s instanceof z.ZodObject && typeof p === "string") s = (s.shape as Record<string, z.ZodType>)[p] as z.ZodType;
    else if (s instanceof z.ZodArray && typeof p === "number") s = s.element as z.ZodType;
    else if (s instanceof z.ZodRecord) s = s.valueType as z.ZodType;
    else return [];
    if (!s) return [];
  }
  s = unwrap(s);
  return s instanceof z.ZodObject ? Object.keys(s.shape) : [];
}
function unwrap(s: z.ZodType): z.ZodType {
  while (s instanceof z.ZodOptional || s instanceof z.ZodDefault) s = s.unwrap() as z.ZodType;
  return s;
}

/** zod's shape errors as problems, with "did you mean" for misspelled keys. */
export function zodProblems(error: z.ZodError): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const issue of error.issues) {
    const input = (issue as { input?: unknown }).input;
    switch (issue.code) {
      case "unrecognized_keys": {
        const allowed = objectKeysAt(issue.path);
        for (const k of issue.keys) {
          const guess = allowed.length ? closest(k, allowed) : undefined;
          const hint = guess && similar(k, guess) ? `did you mean "${guess}"? ` : "";
          out.push({ key: key([...issue.path, k]), message: `unknown key: ${hint}allowed keys here: ${allowed.join(", ")}` });
        }
        break;
      }
      case "invalid_value":
        out.push({ key: key(issue.path), value: shown(issue.path, input), message: `allowed values: ${issue.values.map((v) => JSON.stringify(v)).join(", ")}` });
        break;
      case "invalid_type": {
        const expected = YAML_TYPES[issue.expected] ?? issue.expected;
        const isDefault = issue.message.startsWith("Invalid input");
        const message = input === undefined ? `is required (${expected})` : isDefault ? `must be ${article(expected)} but is ${describe(input)}` : issue.message;
        out.push({ key: key(issue.path), value: shown(issue.path, input), message });
        break;
      }
      default: {
        out.push({ key: key(issue.path), value: shown(issue.path, input), message: issue.message });
      }
    }
  }
  return out;
}

function similar(a: string, b: string): boolean {
  return distance(a.toLowerCase(), b.toLowerCase()) <= Math.max(3, Math.floor(b.length / 3));
}
/** zod's type names in the words of a YAML stack file (describe() uses the same words). */
const YAML_TYPES: Partial<Record<string, string>> = { int: "a whole number", object: "a mapping", record: "a mapping", map: "a mapping", array: "a list" };
function article(t: string): string {
  return /^a /.test(t) ? t : /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`;
}
function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return `a ${typeof v}`;
}

/**
 * Where the raw config came from, to tell a secret from a plain-text value: a stack file read
 * directly holds a secret as `{ secure: ... }` (any string is plain text); the Pulumi engine hands
 * over decrypted strings and lists the top-level keys that hold secrets. Unknown: not checked.
 */
export type SecretSource = { readonly kind: "file" } | { readonly kind: "engine"; readonly secretKeys: ReadonlySet<string> };

/** True when `value`, found under the top-level key `topKey` (e.g. "dhis2:admin"), is plain text. */
export function isPlaintext(value: unknown, topKey: string, source: SecretSource | undefined): boolean {
  if (typeof value !== "string" || !source) return false;
  return source.kind === "file" || !source.secretKeys.has(topKey);
}
