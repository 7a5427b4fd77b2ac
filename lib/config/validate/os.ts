/**
 * Operating systems and sources: which system each node runs (dhis2:os, dhis2:instances[].os),
 * and where software comes from when that system does not package it (dhis2:sources). Every
 * stack, on every platform, is checked against the system of each node.
 */
import { LXD_OS_IDS, OS_IMAGES, osesWith, DEFAULT_OS, type OsId, type OsImage } from "../../os/images";
import { DEFAULTS } from "../defaults";
import type { DeploymentConfig, Sources } from "../model";
import type { StackConfigInput } from "../schema";
import type { PlatformChoice } from "./platform";
import type { Problems } from "./problems";

/** The systems of a stack before the roles' needs are known. */
export interface OsChoices {
  readonly default: OsId;
  /** Systems named per role in dhis2:os. */
  readonly named: { readonly proxy?: OsId; readonly database?: OsId; readonly monitor?: OsId };
  /** What this platform and isolation allow. */
  readonly allowed: readonly OsId[];
  /** A role without a named system gets one that packages what it needs (PlatformRules.nativeOsChoice). */
  readonly nativeChoice: boolean;
}

export function validateOs(c: StackConfigInput, { platform, isolation, rules }: PlatformChoice, p: Problems): OsChoices {
  const lxd = isolation === "lxd";
  const allowed = lxd ? rules.oses.filter((id) => LXD_OS_IDS.includes(id)) : rules.oses;
  const why = rules.osesWhy ?? (lxd ? `isolation lxd runs Debian containers built on the LXD server` : `platform "${platform}"`);
  const given = typeof c.os === "string" ? { default: c.os } : c.os ?? {};
  const check = (key: (string | number)[], os: OsId | undefined) => {
    if (os !== undefined && !allowed.includes(os)) p.add(key, `${why}: allowed: ${allowed.join(", ")}`, os);
  };
  const keyed = typeof c.os === "string" ? (k: string) => ["os"].concat(k === "default" ? [] : [k]) : (k: string) => ["os", k];
  for (const [k, v] of Object.entries(given)) check(keyed(k), v);
  (c.instances ?? []).forEach((inst, i) => check(["instances", i, "os"], inst.os));
  const def = given.default ?? (allowed.includes(DEFAULT_OS) ? DEFAULT_OS : allowed[0]!);
  return {
    default: def,
    named: typeof c.os === "string" ? { proxy: c.os, database: c.os, monitor: c.os } : { proxy: given.proxy, database: given.database, monitor: given.monitor },
    allowed,
    nativeChoice: rules.nativeOsChoice,
  };
}

/**
 * A node's system: the one named in the stack; else the default when it packages what the role
 * needs; else (where nodes are made per stack) the first allowed system that does; else the default.
 */
export function nodeOs(choices: OsChoices, named: OsId | undefined, has: (os: OsImage) => boolean): { os: OsId; native: boolean } {
  if (named) return { os: named, native: has(OS_IMAGES[named]) };
  if (has(OS_IMAGES[choices.default])) return { os: choices.default, native: true };
  const other = choices.nativeChoice ? osesWith(choices.allowed, has)[0] : undefined;
  return other ? { os: other, native: true } : { os: choices.default, native: false };
}

/** The systems of the proxy and monitor (any system serves them), the database's from its PostgreSQL. */
export function roleSystems(choices: OsChoices, database: OsId): DeploymentConfig["os"] {
  return { default: choices.default, proxy: choices.named.proxy ?? choices.default, database, monitor: choices.named.monitor ?? choices.default };
}

/** dhis2:sources with their defaults. */
export function validateSources(c: StackConfigInput): Sources {
  const s = c.sources ?? {};
  return {
    postgresql: { ...DEFAULTS.postgresqlRepository, ...s.postgresql },
    jdk: { ...DEFAULTS.jdkRepository, ...s.jdk },
    ...(s.tomcat9 ? { tomcat9: s.tomcat9 } : {}),
    ...(s.tomcat10 ? { tomcat10: s.tomcat10 } : {}),
  };
}

/** Warnings for systems past their security support, once each. */
export function warnEndOfLife(systems: readonly OsId[], p: Problems): void {
  for (const id of new Set(systems)) {
    const eol = OS_IMAGES[id].endOfLife;
    if (eol) p.warn(`${OS_IMAGES[id].name} runs at least one node: ${eol}; plan the move to a supported system (dhis2:os).`);
  }
}

/** dhis2:cloud.image names one image for every server: the nodes must all run one system. */
export function checkCloudImage(c: StackConfigInput, systems: readonly OsId[], p: Problems): void {
  const distinct = [...new Set(systems)];
  if (c.cloud?.image && distinct.length > 1) {
    p.add(["cloud", "image"], `names one image for every server, but the nodes run ${distinct.join(", ")}: remove it (each server then gets its system's official image) or give every node one system in dhis2:os`, c.cloud.image);
  }
}
