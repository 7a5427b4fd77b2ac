/**
 * The secrets audit: where generated secrets and secret stack values must never appear in plain
 * text, and which files holding them must not be readable by everyone. The searching is pure
 * (texts in, hits out); the end-to-end phase (tests/e2e/phases/security.ts) gathers the texts
 * from the deployed stack, the unit test (tests/security-secrets.test.ts) gathers rendered files.
 */

/** A place that was searched: its name (e.g. "pulumi stack export") and its text. */
export interface Place {
  readonly name: string;
  readonly text: string;
}

export interface SecretHit {
  /** The secret's name (never its value). */
  readonly secret: string;
  readonly place: string;
  /** The text before the first occurrence (up to 100 characters of its line), to say what printed it. */
  readonly before: string;
}

export interface AuditResult {
  readonly hits: SecretHit[];
  readonly places: number;
  readonly secrets: number;
  /** The line to print: "secrets audit: 0 hits in N places (M secrets)". */
  readonly line: string;
}

/** Secrets shorter than this cannot be searched for meaningfully (they would match by chance). */
export const MIN_SECRET_LENGTH = 8;

/** Every (secret, place) where the secret's value occurs in the place's text. */
export function auditPlaces(secrets: Readonly<Record<string, string>>, places: readonly Place[]): AuditResult {
  const short = Object.entries(secrets).filter(([, v]) => v.length < MIN_SECRET_LENGTH).map(([k]) => k);
  if (short.length) throw new Error(`secrets audit: too short to search for: ${short.join(", ")}`);
  const hits: SecretHit[] = [];
  for (const p of places) {
    for (const [name, value] of Object.entries(secrets)) {
      const at = p.text.indexOf(value);
      if (at < 0) continue;
      const lineStart = p.text.lastIndexOf("\n", at) + 1;
      hits.push({ secret: name, place: p.name, before: p.text.slice(Math.max(lineStart, at - 100), at) });
    }
  }
  const n = Object.keys(secrets).length;
  const line = `secrets audit: ${hits.length} hits in ${places.length} places (${n} secrets)` +
    (hits.length ? `: ${hits.map((h) => `${h.secret} in ${h.place} after "${redact(h.before, secrets)}"`).join("; ")}` : "");
  return { hits, places: places.length, secrets: n, line };
}

/** The text with every secret's value replaced by its name. */
function redact(text: string, secrets: Readonly<Record<string, string>>): string {
  return Object.entries(secrets).reduce((t, [name, value]) => t.split(value).join(`<${name}>`), text);
}

/** A file as listed with its mode (octal text, e.g. "0640"), owner and group. */
export interface ListedFile {
  readonly path: string;
  readonly mode: string;
  readonly owner: string;
  readonly group: string;
  /** Holds a secret (a generated password, a hash of one, a relay password, a private key). */
  readonly secret: boolean;
}

/** The files that hold secrets by their nature, whatever a role says: [pattern, what it is]. */
export const SECRET_FILE_KINDS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\/dhis\.conf$/, "DHIS2 dhis.conf (database password, encryption password)"],
  [/\.htpasswd$/, "htpasswd (monitoring login)"],
  [/\/postfix\/sasl_passwd(\.db|\.lmdb)?$/, "postfix SASL map (relay password)"],
  [/(^|\/)\.pgpass$|\/pgpass[^/]*$/, "PostgreSQL password file"],
  [/\/(privkey|[^/]*\.key)(\.pem)?$/, "TLS private key"],
];

/**
 * Problems of the listed files: a file that holds a secret (by its flag or its kind) readable or
 * writable by everyone, or writable by its group; a secret kind not flagged as secret.
 */
export function secretFileModeProblems(files: readonly ListedFile[]): string[] {
  const problems: string[] = [];
  for (const f of files) {
    const kind = SECRET_FILE_KINDS.find(([re]) => re.test(f.path))?.[1];
    if (!f.secret && !kind) continue;
    if (!/^0?[0-7]{3}$/.test(f.mode)) { problems.push(`${f.path}: mode ${f.mode} is not an octal mode`); continue; }
    const mode = parseInt(f.mode, 8);
    if (mode & 0o007) problems.push(`${f.path} (${kind ?? "holds secrets"}): mode ${f.mode} gives everyone access`);
    if (mode & 0o020) problems.push(`${f.path} (${kind ?? "holds secrets"}): mode ${f.mode} lets group ${f.group} write`);
    if (kind && !f.secret && !/private key/.test(kind)) problems.push(`${f.path} (${kind}) is not marked as holding secrets`);
  }
  return problems;
}

/** The lines of `npm run render`'s FILES.txt: "0640 root:www-data /path  (holds secrets: ...)  → reload". */
export function parseFilesListing(text: string): ListedFile[] {
  const out: ListedFile[] = [];
  for (const line of text.split("\n")) {
    const m = /^(\d{3,4}) ([^:\s]+):(\S+) (\/\S*)(.*)$/.exec(line);
    if (m) out.push({ mode: m[1], owner: m[2], group: m[3], path: m[4], secret: /\(holds secrets/.test(m[5]) });
  }
  return out;
}
