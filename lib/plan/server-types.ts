/**
 * Cloud server types and the choice of one per role: the cheapest type of the table that has the
 * role's CPUs and memory, dedicated CPUs where the role needs them, in the stack's location, unless
 * the stack names a type (`serverType`).
 *
 * Prices are list prices of the providers' public price lists, on the date in PRICES_AS_OF; they
 * change (Hetzner raised cloud prices in 2026): check the provider before you budget. Pure data.
 */

export type Cloud = "hcloud" | "aws";

export interface ServerType {
  readonly name: string;
  readonly cpus: number;
  readonly memoryGb: number;
  /** vCPUs reserved for this server (not shared with other customers, no CPU credits). */
  readonly dedicated: boolean;
  /** Monthly list price (hcloud: EUR excl. VAT, Germany/Finland; aws: USD on-demand Linux, us-east-1, 730 h). */
  readonly monthly: number;
  /** Locations (hcloud) or regions (aws) that offer it; undefined: all of the cloud's. */
  readonly locations?: readonly string[];
}

export const PRICES_AS_OF = {
  hcloud: "Hetzner Cloud price list, 2024-12 (EUR per month, excl. VAT, locations fsn1/nbg1/hel1)",
  aws: "Amazon EC2 On-Demand pricing, 2024-12 (USD, Linux, us-east-1; monthly = hourly × 730)",
} as const;

export const CURRENCY: Record<Cloud, string> = { hcloud: "EUR", aws: "USD" };

/** Hetzner Cloud x86 types: CX (shared Intel), CPX (shared AMD), CCX (dedicated AMD). */
export const HCLOUD_TYPES: readonly ServerType[] = [
  { name: "cx22", cpus: 2, memoryGb: 4, dedicated: false, monthly: 3.79, locations: ["fsn1", "nbg1", "hel1"] },
  { name: "cx32", cpus: 4, memoryGb: 8, dedicated: false, monthly: 6.8, locations: ["fsn1", "nbg1", "hel1"] },
  { name: "cx42", cpus: 8, memoryGb: 16, dedicated: false, monthly: 16.4, locations: ["fsn1", "nbg1", "hel1"] },
  { name: "cx52", cpus: 16, memoryGb: 32, dedicated: false, monthly: 32.4, locations: ["fsn1", "nbg1", "hel1"] },
  { name: "cpx11", cpus: 2, memoryGb: 2, dedicated: false, monthly: 4.35 },
  { name: "cpx21", cpus: 3, memoryGb: 4, dedicated: false, monthly: 7.55 },
  { name: "cpx31", cpus: 4, memoryGb: 8, dedicated: false, monthly: 13.6 },
  { name: "cpx41", cpus: 8, memoryGb: 16, dedicated: false, monthly: 25.2 },
  { name: "cpx51", cpus: 16, memoryGb: 32, dedicated: false, monthly: 54.9 },
  { name: "ccx13", cpus: 2, memoryGb: 8, dedicated: true, monthly: 12.49 },
  { name: "ccx23", cpus: 4, memoryGb: 16, dedicated: true, monthly: 24.49 },
  { name: "ccx33", cpus: 8, memoryGb: 32, dedicated: true, monthly: 48.49 },
  { name: "ccx43", cpus: 16, memoryGb: 64, dedicated: true, monthly: 96.49 },
  { name: "ccx53", cpus: 32, memoryGb: 128, dedicated: true, monthly: 192.49 },
  { name: "ccx63", cpus: 48, memoryGb: 192, dedicated: true, monthly: 288.49 },
];

const h = (hourly: number) => Math.round(hourly * 730 * 100) / 100;

/** AWS current-generation x86 types: T3 (burstable, CPU credits), C6i/C6a, M6i/M6a, R6i. */
export const AWS_TYPES: readonly ServerType[] = [
  { name: "t3.medium", cpus: 2, memoryGb: 4, dedicated: false, monthly: h(0.0416) },
  { name: "t3.large", cpus: 2, memoryGb: 8, dedicated: false, monthly: h(0.0832) },
  ...([["large", 2, 0.085], ["xlarge", 4, 0.17], ["2xlarge", 8, 0.34], ["4xlarge", 16, 0.68], ["8xlarge", 32, 1.36], ["12xlarge", 48, 2.04], ["16xlarge", 64, 2.72]] as const)
    .map(([size, cpus, hourly]) => ({ name: `c6i.${size}`, cpus, memoryGb: cpus * 2, dedicated: true, monthly: h(hourly) })),
  ...([["large", 2, 0.0765], ["xlarge", 4, 0.153], ["2xlarge", 8, 0.306], ["4xlarge", 16, 0.612], ["8xlarge", 32, 1.224], ["12xlarge", 48, 1.836], ["16xlarge", 64, 2.448]] as const)
    .map(([size, cpus, hourly]) => ({ name: `c6a.${size}`, cpus, memoryGb: cpus * 2, dedicated: true, monthly: h(hourly) })),
  ...([["large", 2, 0.096], ["xlarge", 4, 0.192], ["2xlarge", 8, 0.384], ["4xlarge", 16, 0.768], ["8xlarge", 32, 1.536], ["12xlarge", 48, 2.304], ["16xlarge", 64, 3.072]] as const)
    .map(([size, cpus, hourly]) => ({ name: `m6i.${size}`, cpus, memoryGb: cpus * 4, dedicated: true, monthly: h(hourly) })),
  ...([["large", 2, 0.0864], ["xlarge", 4, 0.1728], ["2xlarge", 8, 0.3456], ["4xlarge", 16, 0.6912], ["8xlarge", 32, 1.3824], ["12xlarge", 48, 2.0736], ["16xlarge", 64, 2.7648]] as const)
    .map(([size, cpus, hourly]) => ({ name: `m6a.${size}`, cpus, memoryGb: cpus * 4, dedicated: true, monthly: h(hourly) })),
  ...([["large", 2, 0.126], ["xlarge", 4, 0.252], ["2xlarge", 8, 0.504], ["4xlarge", 16, 1.008], ["8xlarge", 32, 2.016], ["12xlarge", 48, 3.024], ["16xlarge", 64, 4.032]] as const)
    .map(([size, cpus, hourly]) => ({ name: `r6i.${size}`, cpus, memoryGb: cpus * 8, dedicated: true, monthly: h(hourly) })),
];

export const SERVER_TYPES: Record<Cloud, readonly ServerType[]> = { hcloud: HCLOUD_TYPES, aws: AWS_TYPES };

/** Where a stack's servers go when it names no `dhis2:cloud.location`. */
export const DEFAULT_LOCATION: Record<Cloud, string> = { hcloud: "fsn1", aws: "eu-west-1" };

/** Roles whose latency users feel (the database, DHIS2, the LXD server running both): on clouds they get dedicated CPUs (seed 000). */
const DEDICATED_CPU_ROLES: ReadonlySet<string> = new Set(["database", "instance", "lxd-host"]);

export function needsDedicatedCpus(role: string): boolean {
  return DEDICATED_CPU_ROLES.has(role);
}

/** Block storage for PostgreSQL's data, per GB and month (hcloud Volume; aws EBS gp3 with its included 3000 IOPS / 125 MB/s). */
export const VOLUME_PRICE_PER_GB: Record<Cloud, number> = { hcloud: 0.044, aws: 0.08 };

export interface TypeNeed {
  readonly role: string;
  readonly cpus: number;
  readonly memoryGb: number;
  /** Dedicated vCPUs required (the database and DHIS2: shared CPUs make tracker latency unpredictable, seed 000). */
  readonly dedicated: boolean;
  readonly location?: string;
  /** The stack's explicit choice. */
  readonly override?: string;
}

export interface TypeChoice {
  readonly type: ServerType;
  /** How it was chosen, for docs and warnings. */
  readonly why: string;
  /** The override is not in the table (sizing and price not checked). */
  readonly unknownOverride?: boolean;
}

/** The cheapest type that meets the need, or the override; undefined when no type in the table does. */
export function chooseServerType(cloud: Cloud, need: TypeNeed): TypeChoice | undefined {
  const table = SERVER_TYPES[cloud];
  if (need.override) {
    const known = table.find((t) => t.name === need.override);
    if (known) return { type: known, why: `set in the stack (${known.cpus} vCPU, ${known.memoryGb} GB)` };
    return { type: { name: need.override, cpus: need.cpus, memoryGb: need.memoryGb, dedicated: need.dedicated, monthly: NaN }, why: "set in the stack (not in the toolkit's table)", unknownOverride: true };
  }
  const fits = table
    .filter((t) => t.cpus >= need.cpus && t.memoryGb >= need.memoryGb)
    .filter((t) => !need.dedicated || t.dedicated)
    .filter((t) => !need.location || !t.locations || t.locations.includes(need.location))
    .sort((a, b) => a.monthly - b.monthly || a.cpus - b.cpus || a.name.localeCompare(b.name));
  const best = fits[0];
  if (!best) return undefined;
  return { type: best, why: `cheapest ${need.dedicated ? "dedicated-CPU " : ""}type with ≥ ${need.cpus} vCPU and ≥ ${need.memoryGb} GB` };
}

/** The largest type of the table, for the message when nothing fits. */
export function largestType(cloud: Cloud, dedicated: boolean): ServerType {
  return [...SERVER_TYPES[cloud]].filter((t) => !dedicated || t.dedicated).sort((a, b) => b.cpus - a.cpus || b.memoryGb - a.memoryGb)[0]!;
}
