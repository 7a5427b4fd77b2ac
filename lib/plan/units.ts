/** Small unit helpers shared by the sizing and tuning functions. */

export const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

/** Round down to a multiple of `step`. */
export const floorTo = (v: number, step: number): number => Math.floor(v / step + 1e-9) * step;

/** CPUs are budgeted in steps of 0.05 (5% of one CPU): LXD quotas of 5ms per 100ms. */
export const floorCpus = (v: number): number => Math.round(floorTo(v, 0.05) * 100) / 100;

/**
 * A memory amount as PostgreSQL prints it with SHOW: the largest unit that divides it exactly.
 * Input in kB, so that the rendered text and `SHOW` agree character for character.
 */
export function pgMemory(kb: number): string {
  const n = Math.floor(kb);
  if (n % (1024 * 1024 * 1024) === 0) return `${n / (1024 * 1024 * 1024)}TB`;
  if (n % (1024 * 1024) === 0) return `${n / (1024 * 1024)}GB`;
  if (n % 1024 === 0) return `${n / 1024}MB`;
  return `${n}kB`;
}

/** Human form for tables: 8192 → "8 GB", 1536 → "1.5 GB", 512 → "512 MB". */
export function humanMb(mb: number): string {
  if (mb >= 1024) {
    const gb = mb / 1024;
    return `${Number.isInteger(gb) ? gb : gb.toFixed(2).replace(/0$/, "")} GB`;
  }
  return `${mb} MB`;
}

/** A duration in ms as PostgreSQL prints it with SHOW ("200ms", "10s", "1min"). */
export function pgDuration(ms: number): string {
  if (ms % 60000 === 0) return `${ms / 60000}min`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
