/**
 * An instance's JDK and servlet container on its node's system: from the system's packages, from
 * a JDK vendor's apt repository (dhis2:sources.jdk), or Tomcat from Apache's release archive
 * (dhis2:sources.tomcat9/10), as the validation chose (InstanceConfig.jdkFrom, tomcatFrom).
 */
import type { ServletContainer } from "../../dhis2/compat";
import type { InstanceConfig } from "../../config/model";
import { OS_IMAGES } from "../../os/images";
import type { Plan } from "../../plan";
import { artifactContext, withCopy, type ArtifactSource } from "../../render/artifacts";
import { renderTemplate } from "../../render/engine";
import { PATHS, SERVICE_USER } from "../../render/paths";
import type { AptSource, RoleStep, RoleStepInputs } from "../types";

/** The Tomcat major of a servlet container (none for the embedded server). */
export function tomcatMajor(container: ServletContainer): 9 | 10 | undefined {
  return container === "tomcat9" ? 9 : container === "tomcat10" ? 10 : undefined;
}

/** Packages of the instance's runtime: the JDK (OpenJDK, or the vendor's), the distribution's Tomcat. */
export function runtimePackages(c: InstanceConfig): string[] {
  const jdk = c.jdkFrom === "vendor" ? `temurin-${c.jdk}-jre` : `openjdk-${c.jdk}-jre-headless`;
  const tomcat = c.servletContainer !== "embedded" && c.tomcatFrom === "distribution" ? [c.servletContainer] : [];
  return [jdk, ...tomcat];
}

/** The JDK vendor's apt repository, when the system does not package the JDK. */
export function runtimeRepositories(plan: Plan, c: InstanceConfig): AptSource[] {
  if (c.jdkFrom !== "vendor") return [];
  const repo = plan.config.sources.jdk;
  const os = OS_IMAGES[c.os];
  return [{ name: "jdk", purpose: `JDK ${c.jdk} (${os.name} does not package it)`, url: repo.url, suite: os.codename, component: "main", key: repo.key, fingerprint: repo.fingerprint }];
}

/** Where the JDK's java lives (a glob: the architecture is part of the name). */
export function jdkGlob(c: InstanceConfig): string {
  return c.jdkFrom === "vendor" ? `/usr/lib/jvm/temurin-${c.jdk}-*` : `/usr/lib/jvm/java-${c.jdk}-openjdk-*`;
}

/**
 * The distribution's Tomcat: CATALINA_HOME (linked as /opt/tomcat), its default configuration
 * (web.xml, context.xml, ...) and its own service, which is masked before the package is
 * installed so that it never starts. Tomcat from Apache's archive: its own directory under /opt.
 */
export function tomcatLayout(c: InstanceConfig): { home: string; defaults: string; service?: string; archive: boolean } | undefined {
  const major = tomcatMajor(c.servletContainer);
  if (!major) return undefined;
  if (c.tomcatFrom === "archive") return { home: `/opt/apache-tomcat-${major}`, defaults: `/opt/apache-tomcat-${major}/conf`, archive: true };
  return { home: `/usr/share/${c.servletContainer}`, defaults: `/usr/share/${c.servletContainer}/etc`, service: `${c.servletContainer}.service`, archive: false };
}

/** Installs Tomcat from Apache's release archive (sha512-checked) and gives the instance its defaults. */
export function tomcatArchiveScript(plan: Plan, c: InstanceConfig, index: number, artifact: ArtifactSource, sha512: string): string {
  const layout = tomcatLayout(c)!;
  return renderTemplate("instance/tomcat-archive.sh.hbs", {
    stack: plan.config.stack, name: c.name, index, container: c.servletContainer, sha512,
    home: layout.home, link: PATHS.catalinaHome, javaHome: PATHS.javaHome, base: PATHS.catalinaBase, serviceUser: SERVICE_USER,
    ...artifactContext(artifact),
  });
}

/** The step installing Tomcat from the archive, when the system does not package it. */
export function tomcatArchiveSteps(plan: Plan, c: InstanceConfig, inputs: RoleStepInputs): RoleStep[] {
  if (c.servletContainer === "embedded" || c.tomcatFrom !== "archive") return [];
  const archive = plan.config.sources[c.servletContainer];
  if (!archive) throw new Error(`no dhis2:sources.${c.servletContainer} for ${c.name} (validation lets none through)`);
  const artifact = inputs.artifact(`tomcat-${tomcatMajor(c.servletContainer)}`, archive.url);
  return [{ name: "tomcat", phase: "prepare", script: tomcatArchiveScript(plan, c, plan.config.instances.indexOf(c), artifact, archive.sha512), ...withCopy(artifact) }];
}
