/**
 * The hardware-upgrade review, part two: `pulumi preview --json` (Pulumi's PreviewDigest: steps
 * with op, urn, oldState/newState, diffReasons, replaceReasons, detailedDiff; diagnostics;
 * changeSummary) → what is replaced or deleted, what is updated, and whether anything dangerous is
 * in it. Pure.
 *
 * Dangerous: a resource replaced or deleted. Refused unless --allow-replace: one that holds data —
 * the database's container or server, the LXD server, a data volume (LXD storage volume, hcloud
 * Volume, aws EBS volume), a generated encryption password (DHIS2 cannot read its encrypted values
 * without it).
 */

export interface PreviewStep {
  readonly op: string;
  readonly urn: string;
  readonly oldState?: { readonly type?: string; readonly inputs?: Record<string, unknown> };
  readonly newState?: { readonly type?: string; readonly inputs?: Record<string, unknown> };
  readonly diffReasons?: readonly string[];
  readonly replaceReasons?: readonly string[];
  readonly detailedDiff?: Record<string, { readonly kind: string; readonly inputDiff?: boolean }> | null;
}

export interface PreviewDigest {
  readonly steps?: readonly PreviewStep[];
  readonly diagnostics?: readonly { readonly urn?: string; readonly message?: string; readonly severity?: string }[];
  readonly changeSummary?: Record<string, number>;
}

export interface ResourceAction {
  readonly name: string;
  readonly type: string;
  readonly action: "replace" | "delete" | "update" | "create";
  /** The properties that cause it (replaceReasons, diffReasons, or the detailed diff's keys). */
  readonly reasons: readonly string[];
  /** Holds data: refused unless --allow-replace when replaced or deleted. */
  readonly holdsData: boolean;
}

export interface PreviewReview {
  readonly actions: readonly ResourceAction[];
  readonly unchanged: number;
  readonly warnings: readonly string[];
  readonly errors: readonly string[];
  /** Replaced or deleted resources that hold data (refused unless allowed). */
  readonly refused: readonly ResourceAction[];
  /** Anything replaced or deleted. */
  readonly dangerous: boolean;
}

const REPLACING_OPS = new Set(["replace", "create-replacement", "delete-replaced", "discard-replaced", "import-replacement", "read-replacement"]);
const DATA_TYPES = /^(hcloud:index\/volume:Volume|aws:ebs\/volume:Volume)$/;
const DATA_NAMES = /-(database-container|database|host|pgdata-volume|encryption-password)$/;
const SERVER_TYPES = /^(hcloud:index\/server:Server|aws:ec2\/instance:Instance|command:local:Command|command:remote:Command|dhis2:secret:GeneratedSecret)$/;

/** urn:pulumi:<stack>::<project>::<parent$...$type>::<name> → type and name. */
export function urnParts(urn: string): { type: string; name: string } {
  const parts = urn.split("::");
  const name = parts.slice(3).join("::");
  const type = (parts[2] ?? "").split("$").pop() ?? "";
  return { type, name };
}

export function holdsData(type: string, name: string): boolean {
  return DATA_TYPES.test(type) || (SERVER_TYPES.test(type) && DATA_NAMES.test(name));
}

export function reviewPreview(digest: PreviewDigest): PreviewReview {
  const byUrn = new Map<string, ResourceAction>();
  let unchanged = 0;
  const rank = { create: 0, update: 1, delete: 2, replace: 3 } as const;
  for (const s of digest.steps ?? []) {
    const { type, name } = urnParts(s.urn);
    if (type === "pulumi:pulumi:Stack" || type === "pulumi:providers:" || type.startsWith("pulumi:providers:")) continue;
    const action = REPLACING_OPS.has(s.op) ? "replace" : s.op === "delete" ? "delete" : s.op === "update" ? "update" : s.op === "create" ? "create" : undefined;
    if (!action) { if (s.op === "same") unchanged++; continue; }
    const reasons = [...(s.replaceReasons?.length ? s.replaceReasons : s.diffReasons ?? Object.keys(s.detailedDiff ?? {}))];
    const old = byUrn.get(s.urn);
    if (old && rank[old.action] >= rank[action]) continue;
    byUrn.set(s.urn, { name, type, action, reasons: [...new Set([...(old?.reasons ?? []), ...reasons])], holdsData: holdsData(type, name) });
  }
  const actions = [...byUrn.values()].sort((a, b) => rank[b.action] - rank[a.action] || a.name.localeCompare(b.name));
  const diag = (sev: string) => (digest.diagnostics ?? []).filter((d) => d.severity === sev && d.message).map((d) => `${d.urn ? `${urnParts(d.urn).name}: ` : ""}${d.message!.trim()}`);
  const refused = actions.filter((a) => (a.action === "replace" || a.action === "delete") && a.holdsData);
  return {
    actions, unchanged, warnings: diag("warning"), errors: diag("error"), refused,
    dangerous: actions.some((a) => a.action === "replace" || a.action === "delete"),
  };
}

const RED = (s: string, color: boolean) => (color ? `\x1b[1;31m${s}\x1b[0m` : s);

/** Replacements and deletions first (loudly), then updates, then a count of the rest. */
export function formatPreview(r: PreviewReview, opts: { readonly color: boolean; readonly allowReplace: boolean }): string {
  const out: string[] = [];
  const line = (a: ResourceAction) => `${a.name} (${a.type})${a.reasons.length ? `: ${a.reasons.join(", ")}` : ""}`;
  const gone = r.actions.filter((a) => a.action === "replace" || a.action === "delete");
  if (gone.length) {
    out.push(RED(`REPLACED OR DELETED: ${gone.length}`, opts.color));
    for (const a of gone) {
      const flag = a.holdsData ? (opts.allowReplace ? " [HOLDS DATA: allowed by --allow-replace]" : " [HOLDS DATA: REFUSED without --allow-replace]") : "";
      out.push(RED(`  ${a.action.toUpperCase()} ${line(a)}${flag}`, opts.color));
    }
    out.push("");
  } else out.push("Replaced or deleted: none (data volumes and servers untouched)", "");
  const updates = r.actions.filter((a) => a.action === "update");
  if (updates.length) out.push(`Updated in place: ${updates.length}`, ...updates.map((a) => `  ~ ${line(a)}`), "");
  const creates = r.actions.filter((a) => a.action === "create");
  if (creates.length) out.push(`Created: ${creates.length}`, ...creates.map((a) => `  + ${a.name} (${a.type})`), "");
  out.push(`Unchanged: ${r.unchanged}`);
  if (r.warnings.length) out.push("", "Warnings", ...r.warnings.map((w) => `  ${w}`));
  if (r.errors.length) out.push("", RED("Errors", opts.color), ...r.errors.map((w) => RED(`  ${w}`, opts.color)));
  return out.join("\n");
}

/** 0: nothing dangerous (or allowed); 1: a replacement or deletion not allowed, or an error in the preview. */
export function reviewExitCode(r: PreviewReview, allowReplace: boolean): number {
  return r.errors.length || (r.dangerous && !allowReplace) ? 1 : 0;
}
