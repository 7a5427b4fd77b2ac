/** The DHIS2 instances: versions against PostgreSQL, their runtime on their node's system (./runtime.ts), routes, search indexes. */
import { defaultWarUrl, resolveDhis2Runtime, LATEST_MAJOR } from "../../dhis2/compat";
import { DEFAULTS, RESERVED_PATHS } from "../defaults";
import type { InstanceConfig } from "../model";
import type { StackConfigInput } from "../schema";
import type { OsChoices } from "./os";
import type { PlatformChoice } from "./platform";
import { instanceRuntime } from "./runtime";
import type { Problems } from "./problems";
import type { Sizes } from "./sizes";

export function validateInstances(c: StackConfigInput, choice: PlatformChoice, oses: OsChoices, pgVersion: number, sizes: Sizes, p: Problems): InstanceConfig[] {
  const { platform, isolation, rules, domain } = choice;
  const instancesIn = c.instances;
  if (!instancesIn) p.add(["instances"], "is required: list the DHIS2 instances, e.g. [{ name: production, version: \"2.41.3\", path: / }]");
  const instances: InstanceConfig[] = [];
  if (instancesIn && instancesIn.length > DEFAULTS.maxInstances) {
    p.add(["instances"], `lists ${instancesIn.length} instances; at most ${DEFAULTS.maxInstances} fit one stack's address plan (make another stack for more)`);
  }
  const names = new Map<string, number>();
  const routes = new Map<string, number>();
  (instancesIn ?? []).forEach((inst, i) => {
    const at = (...path: PropertyKey[]) => ["instances", i, ...path];
    if (names.has(inst.name)) p.add(at("name"), `duplicates the name of instances[${names.get(inst.name)}]: instance names must be unique`, inst.name);
    else names.set(inst.name, i);

    const runtime = resolveDhis2Runtime(inst.version);
    if (pgVersion < runtime.postgres.min || pgVersion > runtime.postgres.max) {
      p.add(at("version"), `DHIS2 ${runtime.display} supports PostgreSQL ${runtime.postgres.min} to ${runtime.postgres.max}, but dhis2:postgresVersion is ${pgVersion}: choose another DHIS2 release or postgresVersion`, inst.version);
    }
    if (!runtime.supported) {
      p.warn(`dhis2:instances[${i}].version ${inst.version}: DHIS2 2.${runtime.major} no longer receives security patches (supported: the three latest, up to 2.${LATEST_MAJOR}); plan the upgrade.`);
    }
    const rt = instanceRuntime(c, inst, i, runtime, oses, p);

    if (inst.hostname && inst.path && inst.path !== "/") {
      p.add(at("path"), `an instance with its own hostname is served at "/": remove path or hostname`, inst.path);
    }
    const hostname = inst.hostname ?? domain ?? DEFAULTS.localDomain;
    const path = inst.hostname ? "/" : inst.path ?? "/";
    if (hostname === domain && RESERVED_PATHS.some((r) => path === r || path.startsWith(`${r}/`))) {
      p.add(at("path"), `is used by the proxy itself (${RESERVED_PATHS.join(", ")}): choose another path`, path);
    }
    const route = `${hostname}${path}`;
    if (routes.has(route)) {
      p.add(at(inst.hostname ? "hostname" : "path"), `instances[${routes.get(route)}] is already served at https://${route}: each instance needs its own path or hostname`, inst.hostname ?? path);
    } else routes.set(route, i);

    const attrs = inst.trackerSearch?.attributes ?? [];
    attrs.forEach((u, j) => {
      if (attrs.indexOf(u) !== j) p.add(at("trackerSearch", "attributes", j), "is listed twice", u);
    });
    const pairs = (inst.trackerSearch?.eventDataElements ?? []).map((e) => ({ programStage: e.programStage, dataElement: e.dataElement, search: e.search ?? "contains" as const }));
    pairs.forEach((x, j) => {
      if (pairs.findIndex((q) => q.programStage === x.programStage && q.dataElement === x.dataElement) !== j) {
        p.add(at("trackerSearch", "eventDataElements", j), "is listed twice", x);
      }
    });
    if (isolation === "lxd" && inst.size?.serverType) p.add(at("size", "serverType"), "applies to isolation vm only", inst.size.serverType);
    else if (!rules.serverTypes && inst.size?.serverType) p.add(at("size", "serverType"), `applies to platforms hcloud and aws only, not ${platform}`, inst.size.serverType);
    if (isolation === "lxd" && inst.size?.disk) p.add(at("size", "disk"), "applies to isolation vm only: in lxd isolation every container uses the disk of sizes.host", inst.size.disk);

    // an instance's size is its own or sizes.instance: messages name the key the stack sets
    const sizeKey = (field: "cpus" | "memoryGb") => inst.size?.[field] !== undefined ? `dhis2:instances[${i}].size.${field}` : `dhis2:sizes.instance.${field}`;
    instances.push({
      name: inst.name,
      runtime,
      hostname,
      path,
      baseUrl: `https://${hostname}${path === "/" ? "" : path}`,
      war: inst.war ?? defaultWarUrl(runtime),
      ...rt,
      warSha256: inst.warSha256?.toLowerCase(),
      heapMb: inst.heapMb,
      connectionPoolMaxSize: inst.connectionPoolMaxSize,
      size: sizes.withDefault({ ...c.sizes?.instance, ...inst.size }, DEFAULTS.vmInstance),
      sizeKeys: { cpus: sizeKey("cpus"), memoryGb: sizeKey("memoryGb") },
      trackerSearch: { attributes: attrs, eventDataElements: pairs },
    });
  });
  return instances;
}
