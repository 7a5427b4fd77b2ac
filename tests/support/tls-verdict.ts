/**
 * The verdict on a TLS endpoint from testssl.sh's findings (its flat JSON output). Pure: used by
 * the realtools test (a real nginx with the rendered proxy files) and by the end-to-end check
 * (the deployed proxy).
 */

export type TestsslSeverity = "OK" | "INFO" | "LOW" | "MEDIUM" | "HIGH" | "CRITICAL" | "WARN" | "DEBUG";

export interface TestsslFinding {
  id: string;
  severity: TestsslSeverity;
  finding: string;
}

/** testssl.sh --jsonfile output: a JSON array of {id, ip, port, severity, finding, ...}. */
export function parseTestsslJson(text: string): TestsslFinding[] {
  const data: unknown = JSON.parse(text);
  if (!Array.isArray(data)) throw new Error("testssl.sh JSON: not an array");
  return data.map((d: Record<string, unknown>) => ({ id: String(d.id), severity: String(d.severity) as TestsslSeverity, finding: String(d.finding ?? "") }));
}

/** A finding that is known and accepted, with the reason (printed with the summary). */
export type AcceptedFindings = Record<string, string>;

export interface TlsVerdict {
  ok: boolean;
  /** Each requirement that is not met, in words. */
  problems: string[];
  /** The lines to print: protocols, cipher categories, forward secrecy, HSTS, renegotiation, vulnerabilities. */
  summary: string[];
}

const OLD_PROTOCOLS = ["SSLv2", "SSLv3", "TLS1", "TLS1_1"];
/** testssl's cipher categories that must not be offered: NULL, anonymous, export, 64-bit/DES/RC4, 3DES/IDEA, obsolete CBC. */
const WEAK_CIPHER_LISTS = ["cipherlist_NULL", "cipherlist_aNULL", "cipherlist_EXPORT", "cipherlist_LOW", "cipherlist_3DES_IDEA", "cipherlist_AVERAGE"];
/** The vulnerability checks of `testssl --vulnerable`. */
const VULNERABILITIES = ["heartbleed", "CCS", "ticketbleed", "ROBOT", "secure_client_renego", "CRIME_TLS", "BREACH", "POODLE_SSL",
  "fallback_SCSV", "SWEET32", "FREAK", "DROWN", "LOGJAM", "BEAST", "LUCKY13", "RC4"];

const notOffered = (f: TestsslFinding | undefined) => !!f && /^not offered/.test(f.finding);

/**
 * Judges testssl.sh's findings: nothing below TLS 1.2, TLS 1.2 or 1.3 offered, no weak or
 * CBC-only cipher category offered, forward secrecy, HSTS, secure renegotiation, and no
 * finding rated HIGH or CRITICAL except those in `accepted` (id → reason).
 *
 * Secure renegotiation: testssl.sh 3.0 (Debian 12) cannot run its own RFC 5746 check against
 * OpenSSL 3 ("OpenSSL handshake didn't succeed", a WARN); then the server's Hello must carry the
 * renegotiation_info extension (#65281), which testssl lists among the TLS extensions.
 */
export function judgeTls(findings: readonly TestsslFinding[], accepted: AcceptedFindings = {}): TlsVerdict {
  const byId = new Map<string, TestsslFinding>();
  for (const f of findings) if (!byId.has(f.id)) byId.set(f.id, f);
  const get = (id: string) => byId.get(id);
  const show = (id: string) => get(id)?.finding ?? "(not reported)";
  const problems: string[] = [];
  const summary: string[] = [];

  // protocols
  for (const p of OLD_PROTOCOLS) if (!notOffered(get(p))) problems.push(`${p}: ${show(p)} (nothing below TLS 1.2 may be offered)`);
  const modern = ["TLS1_2", "TLS1_3"].filter((p) => /^offered/.test(get(p)?.finding ?? ""));
  if (modern.length === 0) problems.push("neither TLS 1.2 nor TLS 1.3 is offered");
  summary.push(`protocols: ${[...OLD_PROTOCOLS, "TLS1_2", "TLS1_3"].map((p) => `${p} ${show(p)}`).join("; ")}`);

  // cipher categories
  for (const c of WEAK_CIPHER_LISTS) if (!notOffered(get(c))) problems.push(`${c}: ${show(c)} (weak or CBC cipher suites offered)`);
  summary.push(`ciphers: ${[...WEAK_CIPHER_LISTS, "cipherlist_STRONG"].map((c) => `${c.replace("cipherlist_", "")} ${show(c)}`).join("; ")}`);

  // forward secrecy (testssl 3.0 calls it PFS, 3.2 FS)
  const fs = get("FS") ?? get("PFS");
  if (!fs || fs.severity !== "OK") problems.push(`forward secrecy: ${fs?.finding ?? "(not reported)"}`);
  summary.push(`forward secrecy: ${fs?.finding ?? "(not reported)"}; ${show("PFS_ciphers") === "(not reported)" ? show("FS_ciphers") : show("PFS_ciphers")}`);

  // HSTS
  const hsts = get("HSTS_time") ?? get("HSTS");
  if (!hsts || hsts.severity !== "OK") problems.push(`HSTS: ${hsts?.finding ?? "(not reported)"}`);
  summary.push(`HSTS: ${hsts?.finding ?? "(not reported)"}`);

  // secure renegotiation
  const reneg = get("secure_renego");
  const extensions = show("TLS_extensions");
  const viaExtension = /renegotiation info/.test(extensions);
  const renegOk = reneg?.severity === "OK" || (reneg?.severity === "WARN" && /handshake didn't succeed/.test(reneg.finding) && viaExtension);
  if (!renegOk) problems.push(`secure renegotiation: ${reneg?.finding ?? "(not reported)"}${viaExtension ? "" : "; no renegotiation_info extension"}`);
  summary.push(`secure renegotiation: ${reneg?.severity === "OK" ? reneg.finding : `${reneg?.finding ?? "(not reported)"}; server hello has renegotiation_info: ${viaExtension ? "yes" : "no"}`}`);

  // vulnerabilities and everything rated HIGH/CRITICAL
  const vulns = VULNERABILITIES.filter((v) => get(v));
  summary.push(`vulnerabilities: ${vulns.map((v) => `${v} ${get(v)!.severity}`).join(", ")}`);
  const severe = findings.filter((f) => f.severity === "HIGH" || f.severity === "CRITICAL");
  for (const f of severe) {
    if (accepted[f.id]) summary.push(`accepted ${f.severity} ${f.id}: ${f.finding} (${accepted[f.id]})`);
    else problems.push(`${f.severity} ${f.id}: ${f.finding}`);
  }
  const counts = (["CRITICAL", "HIGH", "MEDIUM", "LOW"] as const).map((s) => `${findings.filter((f) => f.severity === s).length} ${s}`);
  summary.push(`severities: ${counts.join(", ")}${severe.length ? ` (${severe.filter((f) => accepted[f.id]).length} accepted)` : ""}`);
  return { ok: problems.length === 0, problems, summary };
}
