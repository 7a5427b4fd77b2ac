/**
 * The operating systems a node can run, and what each packages: the facts validation checks every
 * node of a stack against before anything is touched, and that the role modules install from.
 *
 * Pure data (docs/compatibility.md, "Operating systems"). Sources: the Debian and Ubuntu archives'
 * package lists (bullseye, bookworm, trixie measured on this machine kind; jammy and noble from
 * packages.ubuntu.com), Hetzner's image names, the Debian and Canonical AMI owners.
 */
import type { ServletContainer } from "../dhis2/compat";

export const OS_IDS = ["debian-11", "debian-12", "debian-13", "ubuntu-22.04", "ubuntu-24.04"] as const;
export type OsId = (typeof OS_IDS)[number];

export interface OsImage {
  readonly id: OsId;
  /** Human name, e.g. "Debian 12 (bookworm)". */
  readonly name: string;
  /** /etc/os-release ID and VERSION_ID: the set-up checks the server really runs this. */
  readonly osRelease: { readonly id: "debian" | "ubuntu"; readonly versionId: string };
  /** apt suite name (PostgreSQL's apt repository and JDK vendors key their suites by it). */
  readonly codename: string;
  /** PostgreSQL majors the distribution packages (postgresql-N and postgresql-N-postgis-3). */
  readonly postgres: readonly number[];
  /** OpenJDK majors the distribution packages (openjdk-N-jre-headless). */
  readonly jdks: readonly number[];
  /** Servlet containers the distribution packages (tomcat9, tomcat10 = Tomcat 10.1). */
  readonly tomcats: readonly Exclude<ServletContainer, "embedded">[];
  /** Built here with debootstrap for LXD containers (Debian only), as this image alias. */
  readonly lxdAlias?: string;
  /** Hetzner Cloud image name. */
  readonly hcloudImage: string;
  /** AWS: the official AMI's owner and name pattern (x86_64). */
  readonly awsAmi: { readonly owner: string; readonly name: string };
  /** Security support has ended (a warning names it). */
  readonly endOfLife?: string;
}

const DEBIAN_AMI_OWNER = "136693071363";
const CANONICAL_AMI_OWNER = "099720109477";

export const OS_IMAGES: Readonly<Record<OsId, OsImage>> = {
  "debian-11": {
    id: "debian-11", name: "Debian 11 (bullseye)", osRelease: { id: "debian", versionId: "11" }, codename: "bullseye",
    postgres: [13], jdks: [11, 17], tomcats: ["tomcat9"], lxdAlias: "dhis2-debian-11",
    hcloudImage: "debian-11", awsAmi: { owner: DEBIAN_AMI_OWNER, name: "debian-11-amd64-*" },
    endOfLife: "Debian 11's long-term support ended on 31 August 2026",
  },
  "debian-12": {
    id: "debian-12", name: "Debian 12 (bookworm)", osRelease: { id: "debian", versionId: "12" }, codename: "bookworm",
    postgres: [15], jdks: [17], tomcats: ["tomcat10"], lxdAlias: "dhis2-debian-12",
    hcloudImage: "debian-12", awsAmi: { owner: DEBIAN_AMI_OWNER, name: "debian-12-amd64-*" },
  },
  "debian-13": {
    id: "debian-13", name: "Debian 13 (trixie)", osRelease: { id: "debian", versionId: "13" }, codename: "trixie",
    postgres: [17], jdks: [21], tomcats: ["tomcat10"], lxdAlias: "dhis2-debian-13",
    hcloudImage: "debian-13", awsAmi: { owner: DEBIAN_AMI_OWNER, name: "debian-13-amd64-*" },
  },
  "ubuntu-22.04": {
    id: "ubuntu-22.04", name: "Ubuntu 22.04 LTS (jammy)", osRelease: { id: "ubuntu", versionId: "22.04" }, codename: "jammy",
    postgres: [14], jdks: [11, 17, 21], tomcats: ["tomcat9"],
    hcloudImage: "ubuntu-22.04", awsAmi: { owner: CANONICAL_AMI_OWNER, name: "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*" },
  },
  "ubuntu-24.04": {
    id: "ubuntu-24.04", name: "Ubuntu 24.04 LTS (noble)", osRelease: { id: "ubuntu", versionId: "24.04" }, codename: "noble",
    postgres: [16], jdks: [11, 17, 21], tomcats: ["tomcat10"],
    hcloudImage: "ubuntu-24.04", awsAmi: { owner: CANONICAL_AMI_OWNER, name: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*" },
  },
};

/** The default of dhis2:os: every node runs it unless the stack (or, on LXD, the role's needs) says otherwise. */
export const DEFAULT_OS: OsId = "debian-12";

/** The systems a node may get automatically, in order of preference: supported ones first, the newest first. */
export const OS_PREFERENCE: readonly OsId[] = ["debian-12", "debian-13", "ubuntu-24.04", "ubuntu-22.04", "debian-11"];

/** Debian systems the LXD images are built for (templates/lxd-host/image.sh). */
export const LXD_OS_IDS: readonly OsId[] = OS_IDS.filter((id) => OS_IMAGES[id].lxdAlias !== undefined);

/** The LXD image alias of a system (Debian only: validation refuses others for containers). */
export function lxdImageAlias(os: OsId): string {
  const alias = OS_IMAGES[os].lxdAlias;
  if (!alias) throw new Error(`${os} has no LXD image (LXD containers run Debian)`);
  return alias;
}

/** The systems among `allowed` that package what `has` asks for, in order of preference. */
export function osesWith(allowed: readonly OsId[], has: (os: OsImage) => boolean): OsId[] {
  return OS_PREFERENCE.filter((id) => allowed.includes(id) && has(OS_IMAGES[id]));
}
