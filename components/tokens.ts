/**
 * The type tokens of this project's components, in one place: `dhis2:<module>:<Type>`
 * (pulumi-eks style). A token that changes keeps the old one as an alias (FORMER), so a stack
 * deployed before sees the same resources and replaces nothing.
 */
export const TOKENS = {
  deployment: "dhis2:index:Deployment",
  convergedHost: "dhis2:host:ConvergedHost",
  htpasswdLine: "dhis2:secret:HtpasswdLine",
  trackerSearchIndexes: "dhis2:role:TrackerSearchIndexes",
  hostVerification: "dhis2:host:HostVerification",
  onDemandInstance: "dhis2:ondemand:Instance",
  platform: {
    lxd: "dhis2:platform:Lxd",
    existing: "dhis2:platform:Existing",
    hcloud: "dhis2:platform:Hcloud",
    aws: "dhis2:platform:Aws",
  },
} as const;

/** Tokens used before the platforms and roles became modules (2026-12). */
export const FORMER = {
  trackerSearchIndexes: "dhis2:database:TrackerSearchIndexes",
  platform: {
    lxd: "dhis2:lxd:Platform",
    existing: "dhis2:existing:Platform",
    hcloud: "dhis2:hcloud:Platform",
    aws: "dhis2:aws:Platform",
  },
} as const;

/** Component options that keep a former token as an alias. */
export function withFormerToken<T extends { aliases?: unknown[] }>(opts: T | undefined, former: string): T {
  return { ...(opts ?? ({} as T)), aliases: [...(opts?.aliases ?? []), { type: former }] };
}
