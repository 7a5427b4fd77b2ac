/**
 * What an operating-system image packages: the facts validation checks a stack against before
 * anything is touched, and that the role modules install from.
 *
 * Pure data. The local platform's containers run the image templates/lxd-host/image.sh builds.
 */
import type { ServletContainer } from "../dhis2/compat";

export interface OsImage {
  /** Human name, e.g. "Debian 12". */
  readonly name: string;
  /** LXD image alias of the local platform. */
  readonly alias: string;
  /** PostgreSQL majors the distribution packages (postgresql-N, postgresql-N-postgis-3). */
  readonly postgres: readonly number[];
  /** OpenJDK majors the distribution packages. */
  readonly jdks: readonly number[];
  /** Servlet containers it can run: the distribution's Tomcat, and the embedded server of DHIS2 2.43+. */
  readonly servletContainers: readonly ServletContainer[];
}

/** The image every container of the local platform runs (templates/lxd-host/image.sh builds it). */
export const LOCAL_IMAGE: OsImage = {
  name: "Debian 12",
  alias: "dhis2-debian-12",
  postgres: [15],
  jdks: [17],
  // Tomcat 10.1 (tomcat10-common) and the embedded server of DHIS2 2.43+; no Tomcat 9
  servletContainers: ["tomcat10", "embedded"],
};
