/** Small pure helpers of the benchmarks (tested in tests/bench.test.ts): percentiles, a seeded PRNG, tables, parsers of psql and pgbench output, arguments. */

// ---------------------------------------------------------------------------------------------
// small pure helpers (tested in tests/bench.test.ts)
// ---------------------------------------------------------------------------------------------

/**
 * Percentile by linear interpolation between closest ranks (the usual "type 7" definition, as
 * numpy.percentile and Excel PERCENTILE.INC): p in [0, 100]. NaN for an empty list.
 */
export function percentile(values: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new Error(`percentile must be within 0..100: ${p}`);
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

/** Deterministic PRNG (mulberry32): floats in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `name = 'value'` lines of a conf.d file. */
export function renderConf(settings: readonly { name: string; value: string | number }[], header: string): string {
  const q = (v: string | number) => `'${String(v).replace(/'/g, "''")}'`;
  return [`# ${header}`, ...settings.map((s) => `${s.name} = ${q(s.value)}`), ""].join("\n");
}

/** A plain-text table with a header row and right-aligned numbers. */
export function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const numeric = head.map((_, i) => rows.length > 0 && rows.every((r) => /^[-+]?[\d.,/]+[×%]?$|^-$|^n\/a$/.test((r[i] ?? "").trim())));
  const cell = (s: string, i: number) => (numeric[i] ? s.padStart(widths[i]) : s.padEnd(widths[i]));
  const line = (r: readonly string[]) => `| ${r.map((c, i) => cell(c ?? "", i)).join(" | ")} |`;
  const sep = `|${widths.map((w, i) => (numeric[i] ? "-".repeat(w + 1) + ":" : "-".repeat(w + 2))).join("|")}|`;
  return [line(head), sep, ...rows.map(line)].join("\n");
}

export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return "n/a";
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 10) return ms.toFixed(1);
  if (ms >= 1) return ms.toFixed(2);
  return ms.toFixed(3);
}

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** Parses `@@ <label>` markers followed by psql's `Time: X ms` lines: label → times (ms). */
export function parseTimings(stdout: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  let label: string | undefined;
  for (const line of stdout.split("\n")) {
    const mark = /^@@ (.+)$/.exec(line);
    if (mark) {
      label = mark[1].trim();
      continue;
    }
    const t = /^Time: ([\d.]+) ms/.exec(line);
    if (t && label !== undefined) {
      const list = out.get(label) ?? [];
      list.push(Number(t[1]));
      out.set(label, list);
      label = undefined;
    }
  }
  return out;
}

/**
 * pgbench per-transaction log lines (`client_id transaction_no time script_no time_epoch time_us
 * [schedule_lag]`, time in µs): per script number, latencies in ms and the number of failures.
 */
export function parsePgbenchLog(text: string): { latenciesMs: Map<number, number[]>; failed: Map<number, number> } {
  const latenciesMs = new Map<number, number[]>();
  const failed = new Map<number, number>();
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6) continue;
    const script = Number(f[3]);
    if (!Number.isInteger(script)) continue;
    if (/^\d+$/.test(f[2])) {
      const list = latenciesMs.get(script) ?? [];
      list.push(Number(f[2]) / 1000);
      latenciesMs.set(script, list);
    } else {
      failed.set(script, (failed.get(script) ?? 0) + 1);
    }
  }
  return { latenciesMs, failed };
}

/** pgbench `-P 1 --progress-timestamp` lines: [epoch seconds at the end of the interval, tps]. */
export function parseProgress(text: string): Array<{ t: number; tps: number }> {
  const out: Array<{ t: number; tps: number }> = [];
  for (const line of text.split("\n")) {
    const m = /^progress: ([\d.]+) s, ([\d.]+) tps/.exec(line.trim());
    if (m) out.push({ t: Number(m[1]), tps: Number(m[2]) });
  }
  return out;
}

/** Mean tps over the progress intervals (1 s each) lying entirely within [from, to] (epoch s). */
export function meanTps(progress: readonly { t: number; tps: number }[], from: number, to: number, intervalS = 1): { tps: number; seconds: number } {
  const inside = progress.filter((p) => p.t - intervalS >= from - 0.05 && p.t <= to + 0.05);
  if (inside.length === 0) return { tps: NaN, seconds: 0 };
  return { tps: inside.reduce((s, p) => s + p.tps, 0) / inside.length, seconds: inside.length * intervalS };
}

/** `--name value` / `--name=value` options. */
export function parseArgs(argv: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) throw new Error(`unexpected argument ${a}`);
    const eq = a.indexOf("=");
    if (eq > 0) out.set(a.slice(2, eq), a.slice(eq + 1));
    else {
      const v = argv[i + 1];
      if (v === undefined || v.startsWith("--")) throw new Error(`${a} needs a value`);
      out.set(a.slice(2), v);
      i++;
    }
  }
  return out;
}

export function numberArg(args: Map<string, string>, name: string, def: number, min = 0): number {
  const v = args.get(name);
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min}: ${v}`);
  return n;
}
