/**
 * An instance's runtime on its node: the servlet container its DHIS2 release runs on, the node's
 * system, the JDK, and where each comes from (the system's packages, Apache's archive for Tomcat,
 * a JDK vendor's apt repository). Refused, naming the keys that would fix it, when the node's
 * system cannot get what the release needs.
 */
import { JDK_VERSIONS, type Dhis2Runtime, type ServletContainer } from "../../dhis2/compat";
import { OS_IMAGES, osesWith, type OsId, type OsImage } from "../../os/images";
import type { InstanceConfig } from "../model";
import type { InstanceInput, StackConfigInput } from "../schema";
import { nodeOs, type OsChoices } from "./os";
import type { Problems } from "./problems";

type Runtime = Pick<InstanceConfig, "servletContainer" | "jdk" | "os" | "tomcatFrom" | "jdkFrom">;

function servletHint(major: number, container: string): string {
  if (major < 42 && container === "tomcat10") return " (DHIS2 before 2.42 uses javax.servlet, Tomcat 10 requires jakarta.servlet)";
  if (major >= 42 && container === "tomcat9") return " (DHIS2 2.42 and later use jakarta.servlet, which needs Tomcat 10.1)";
  if (major < 44 && container === "embedded") return " (DHIS2's embedded server is supported from 2.44: the executable builds of 2.42 and 2.43 do not start as released)";
  return "";
}

const packagesTomcat = (container: ServletContainer) => (o: OsImage) => container === "embedded" || o.tomcats.includes(container);

export function instanceRuntime(c: StackConfigInput, inst: InstanceInput, i: number, runtime: Dhis2Runtime, oses: OsChoices, p: Problems): Runtime {
  const at = (...path: (string | number)[]) => ["instances", i, ...path];
  const container = inst.servletContainer ?? runtime.servletContainers[0]!;
  if (!runtime.servletContainers.includes(container)) {
    p.add(at("servletContainer"), `DHIS2 ${runtime.display} cannot run on ${container}: allowed: ${runtime.servletContainers.join(", ")}${servletHint(runtime.major, container)}`, container);
  }
  const jdkOk = (o: OsImage) => o.jdks.some((v) => v >= runtime.jdkMinimum);
  const { os } = nodeOs(oses, inst.os, (o) => packagesTomcat(container)(o) && jdkOk(o));
  const image = OS_IMAGES[os];

  let tomcatFrom: Runtime["tomcatFrom"] = "distribution";
  if (container !== "embedded" && !image.tomcats.includes(container)) {
    if (c.sources?.[container]) tomcatFrom = "archive";
    else {
      const others = osesWith(oses.allowed, packagesTomcat(container));
      const choices = [
        ...(others.length ? [`set dhis2:instances[${i}].os to a system that packages it (${others.join(", ")})`] : []),
        `set dhis2:sources.${container} to Apache's release archive of Tomcat ${container === "tomcat9" ? "9" : "10.1"} (url and sha512; a mirror or a local file)`,
      ];
      p.add(at(inst.os ? "os" : "version"), `DHIS2 ${runtime.display} runs on ${container}, which ${image.name} does not package: ${choices.join(", or ")}`, inst.os ?? inst.version);
    }
  }

  // the release's recommended JDK when the system packages it, else the newest packaged one it accepts, else the vendor's recommended
  const packaged = image.jdks.filter((v) => v >= runtime.jdkMinimum);
  const jdk = inst.jdk ?? (image.jdks.includes(runtime.jdkRecommended) ? runtime.jdkRecommended : packaged.at(-1) ?? runtime.jdkRecommended);
  if (jdk < runtime.jdkMinimum) {
    p.add(at("jdk"), `DHIS2 ${runtime.display} needs JDK ${runtime.jdkMinimum} or newer: allowed: ${JDK_VERSIONS.filter((v) => v >= runtime.jdkMinimum).join(", ")}`, jdk);
  }
  const jdkFrom = image.jdks.includes(jdk) ? "distribution" : "vendor";
  if (jdkFrom === "vendor") {
    p.warn(`dhis2:instances[${i}] (${inst.name}): ${image.name} does not package JDK ${jdk}; it is installed from the JDK vendor's apt repository (dhis2:sources.jdk, Eclipse Temurin by default; the server must reach it or a mirror).`);
  }
  return { servletContainer: container, jdk, os: os as OsId, tomcatFrom, jdkFrom };
}
