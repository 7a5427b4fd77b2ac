/**
 * A file the toolkit installs on a host, fully rendered.
 *
 * `path` is the absolute path on the target host (for example `/etc/nginx/nginx.conf`).
 * `service` and `reload` name what must happen after the file changes, so that a changed
 * file re-applies only itself and reloads only its own service.
 */
export interface RenderedFile {
  /** Absolute path on the target host. */
  readonly path: string;
  /** Full text of the file. */
  readonly content: string;
  /** Octal permission bits, e.g. "0644" or "0600". */
  readonly mode: string;
  /** Owning user, e.g. "root" or "postgres". */
  readonly owner: string;
  /** Owning group. */
  readonly group: string;
  /** Command (run as root on the host) that makes the owning service pick the change up, e.g. "systemctl reload nginx". */
  readonly reload?: string;
  /** True when the content holds a secret placeholder that is filled in at deploy time. */
  readonly secret?: boolean;
}

/** A rendered file record; `secret` only when set. */
export function file(path: string, content: string, mode: string, owner: string, group: string, reload?: string, secret?: boolean): RenderedFile {
  return { path, content, mode, owner, group, reload, ...(secret ? { secret: true } : {}) };
}
