/**
 * Artifacts a step installs (a DHIS2 WAR, the glowroot archive, a provided certificate): given
 * in the stack as a URL (the host downloads it) or as an absolute local path (copied to the host
 * first, then checked by its sha256 there).
 */
import { stagedPath } from "./paths";

/** An artifact (WAR, archive) given as a URL, or as a local file copied to the host first. */
export interface ArtifactSource {
  /** The URL or absolute local path, as in the stack. */
  readonly source: string;
  /** For a local file: where the copy lands on the host before the script moves it. */
  readonly staged?: string;
  /** Expected sha256 (hex), when known: a local file's own, checked again on the host. */
  readonly sha256?: string;
}

/** How a step's artifact name and source become an ArtifactSource (a local file gets staged and hashed). */
export type ArtifactResolver = (name: string, source: string) => ArtifactSource;

export function isLocalArtifact(source: string): boolean {
  return source.startsWith("/");
}

const SHA256_RE = /^[0-9a-f]{64}$/;
const URL_RE = /^https?:\/\/[A-Za-z0-9.-]+(?::\d+)?\/[A-Za-z0-9._~:/?#[\]@!$&()*+,;=%-]*$/;

/** The template context of an artifact, its parts checked (they end up in a script). */
export function artifactContext(a: ArtifactSource): { source: string; staged: string | false; sha256: string | false } {
  if (a.sha256 !== undefined && !SHA256_RE.test(a.sha256)) throw new Error(`not a sha256: ${a.sha256}`);
  if (!a.staged && !URL_RE.test(a.source)) throw new Error(`not a plain http(s) URL: ${JSON.stringify(a.source)}`);
  if (a.staged && !/^\/[A-Za-z0-9._/-]+$/.test(a.staged)) throw new Error(`not a plain path: ${JSON.stringify(a.staged)}`);
  return { source: a.source, staged: a.staged ?? false, sha256: a.sha256 ?? false };
}

/** Artifacts as `npm run render` shows them: local files staged, no hash computed. */
export function previewArtifact(name: string, source: string): ArtifactSource {
  return isLocalArtifact(source) ? { source, staged: stagedPath(name) } : { source };
}

/** A step's copy of a local artifact to the host (none for a URL, which the host downloads itself). */
export function withCopy(a: ArtifactSource): { copy?: { readonly localPath: string; readonly remotePath: string; readonly fingerprint: string } } {
  return a.staged && a.sha256 ? { copy: { localPath: a.source, remotePath: a.staged, fingerprint: a.sha256 } } : {};
}
