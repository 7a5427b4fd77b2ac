/**
 * Quoting for the values the toolkit puts into shell commands and SQL, and the one command that
 * writes a rendered file on a host. Paths, owners and modes are checked, as they end up in a
 * command line.
 */
import type { RenderedFile } from "./file";

/** Quote a string for a POSIX shell. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A PostgreSQL string literal. */
export function sqlLiteral(s: string): string {
  if (s.includes("\0")) throw new Error("a NUL byte cannot be in a PostgreSQL string");
  return `'${s.replace(/'/g, "''")}'`;
}

const MODE_RE = /^0[0-7]{3}$/;
const NAME_RE = /^[a-z_][a-z0-9_-]*$/;

/**
 * The shell command that writes a file from its stdin: into a temporary file next to it (mode
 * 0600 until it is complete), then owner, mode, and an atomic rename. With `reload`, the file's
 * reload command runs afterwards.
 */
export function writeFileCommand(file: RenderedFile, reload: boolean): string {
  if (!file.path.startsWith("/") || /[\0\n]/.test(file.path)) throw new Error(`not an absolute path: ${JSON.stringify(file.path)}`);
  if (!MODE_RE.test(file.mode)) throw new Error(`${file.path}: not an octal mode: ${file.mode}`);
  if (!NAME_RE.test(file.owner) || !NAME_RE.test(file.group)) throw new Error(`${file.path}: bad owner ${file.owner}:${file.group}`);
  const p = shellQuote(file.path);
  const dir = shellQuote(file.path.slice(0, file.path.lastIndexOf("/")) || "/");
  const steps = [
    "set -e",
    "umask 077",
    `mkdir -p ${dir}`,
    `tmp=$(mktemp ${shellQuote(`${file.path}.dhis2-XXXXXX`)})`,
    `cat >"$tmp"`,
    `chown ${file.owner}:${file.group} "$tmp"`,
    `chmod ${file.mode} "$tmp"`,
    `mv -f "$tmp" ${p}`,
  ];
  if (reload && file.reload) steps.push(file.reload);
  return steps.join("; ");
}
