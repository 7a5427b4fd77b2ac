/** Real-program check harness (see ./index.ts): cloud-init schema. */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { CheckResult, joinOutput, run } from "./run";
import { makeTempDir, removeTempDir } from "./temp";

// ---------------------------------------------------------------------------------------------
// cloud-init
// ---------------------------------------------------------------------------------------------

/**
 * Top-level keys that cloud-init reads but that its schema (22.4) does not list.
 */
const CLOUD_INIT_EXTRA_KEYS = [
  "merge_how", "merge_type", "datasource", "datasource_list", "output", "log_cfgs", "logcfg",
  "system_info", "network", "manual_cache_clean", "syslog_fix_perms", "def_log_file",
  "cloud_init_modules", "cloud_config_modules", "cloud_final_modules", "vendor_data",
  "disable_vmware_customization", "create_hostname_file", "launch-index",
];

/** Fixed python program: prints top-level keys of the YAML file that the schema does not know. */
const CLOUD_INIT_KEYS_PY = `
import sys, yaml
from cloudinit.config.schema import get_schema
schema = get_schema()
defs = schema.get("$defs", {})
known = set(schema.get("properties", {}))
for entry in schema.get("allOf", []):
    known |= set(entry.get("properties", {}))
    ref = entry.get("$ref")
    if ref and ref.startswith("#/$defs/"):
        known |= set(defs.get(ref[len("#/$defs/"):], {}).get("properties", {}))
known |= set(sys.argv[2:])
with open(sys.argv[1]) as f:
    data = yaml.safe_load(f)
if isinstance(data, dict):
    for key in data:
        if key not in known:
            print(key)
`;

export interface CloudInitSchemaResult extends CheckResult {
  /** Top-level keys neither in cloud-init's schema nor known extras (cloud-init 22.4 ignores them silently). */
  unknownKeys: string[];
  deprecations: string[];
}

/**
 * `cloud-init schema --config-file <file>` (cloud-init 22.4: -c/--config-file; it exits 1 on
 * schema errors, invalid YAML or a missing `#cloud-config` header), plus a check of top-level
 * keys against the same schema because 22.4 lets unknown top-level keys pass.
 */
export async function cloudInitSchema(userData: string, opts: { allowKeys?: string[] } = {}): Promise<CloudInitSchemaResult> {
  const dir = await makeTempDir("cloudinit");
  try {
    const file = path.join(dir, "user-data.yaml");
    await fsp.writeFile(file, userData, { mode: 0o600 });
    const r = await run("cloud-init", ["schema", "--config-file", file], { timeoutMs: 60_000 });
    let unknownKeys: string[] = [];
    let keysOutput = "";
    if (r.code === 0) {
      const k = await run("/usr/bin/python3", ["-c", CLOUD_INIT_KEYS_PY, file, ...CLOUD_INIT_EXTRA_KEYS, ...(opts.allowKeys ?? [])], { timeoutMs: 60_000 });
      if (k.code !== 0) keysOutput = `top-level key check failed:\n${joinOutput(k.stdout, k.stderr)}`;
      unknownKeys = k.stdout.split("\n").filter((l) => l !== "");
      if (unknownKeys.length) keysOutput = `unknown top-level keys (cloud-init would ignore them): ${unknownKeys.join(", ")}`;
      if (k.code !== 0) return { ok: false, output: joinOutput(r.stdout, r.stderr, keysOutput), unknownKeys, deprecations: [] };
    }
    const all = joinOutput(r.stdout, r.stderr);
    const deprecations: string[] = [];
    const m = /Cloud config schema deprecations:(.*)/.exec(all);
    if (m && m[1].trim()) deprecations.push(...m[1].split(/,\s(?=[\w.-]+:)/).map((s) => s.trim()).filter(Boolean));
    return { ok: r.code === 0 && unknownKeys.length === 0, output: joinOutput(all, keysOutput), unknownKeys, deprecations };
  } finally {
    await removeTempDir(dir);
  }
}
