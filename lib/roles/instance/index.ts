/**
 * Role `instance`: one DHIS2 instance on its own node — the JDK and servlet container its version
 * needs (the distribution's Tomcat with the instance's own CATALINA_BASE, or DHIS2's embedded
 * server), dhis.conf with its database login and encryption password, the WAR, and the glowroot
 * agent. Never runs as root. Opens Tomcat (and glowroot's UI) to the proxy only.
 * Templates: templates/instance/.
 */
import type { InstancePlan, Plan } from "../../plan";
import { PORTS } from "../../plan/topology";
import { clamp } from "../../plan/units";
import { artifactContext, withCopy, type ArtifactSource } from "../../render/artifacts";
import { renderTemplate } from "../../render/engine";
import { file, type RenderedFile } from "../../render/file";
import { glowrootPath, PATHS, SERVICE_USER, warFileName } from "../../render/paths";
import type { DeploymentSecrets } from "../../render/secrets";
import { flow, fromNode } from "../flows";
import { jdkGlob, runtimePackages, runtimeRepositories, tomcatArchiveSteps, tomcatLayout, tomcatMajor } from "./runtime";
import { NOTHING, type Role, type RoleContext, type RoleStep, type RoleStepInputs } from "../types";

/** The instance a node runs. */
export function instanceOf(plan: Plan, node: string): InstancePlan {
  const inst = plan.instances.find((i) => i.config.name === node);
  if (!inst) throw new Error(`${node} is not a DHIS2 instance of the plan`);
  return inst;
}

function files({ plan, node }: RoleContext, secrets: DeploymentSecrets): RenderedFile[] {
  const { config, topology } = plan;
  const inst = instanceOf(plan, node.name);
  const c = inst.config;
  const glowroot = config.monitoring.glowroot;
  const proxyRegex = topology.proxy.address.replace(/\./g, "\\.");
  const javaOpts = glowroot ? `${inst.jvm.javaOpts} -javaagent:${PATHS.glowrootDir}/glowroot.jar` : inst.jvm.javaOpts;
  const common = {
    stack: config.stack,
    name: c.name,
    version: c.runtime.display,
    jdk: c.jdk,
    serviceUser: SERVICE_USER,
    javaHome: PATHS.javaHome,
    dhis2Home: PATHS.dhis2Home,
    javaOpts,
    listenAddress: inst.node.address,
    port: PORTS.tomcat,
    glowrootDir: glowroot ? PATHS.glowrootDir : false,
  };
  const out: RenderedFile[] = [
    file(`${PATHS.dhis2Home}/dhis.conf`, renderTemplate("instance/dhis.conf.hbs", {
      ...common,
      databaseHost: topology.database.address,
      databasePort: PORTS.postgres,
      database: inst.database,
      databaseUser: inst.databaseUser,
      databasePassword: secrets.databasePasswords[c.name],
      poolMaxSize: inst.jvm.poolMaxSize,
      hikari: c.runtime.major >= 38,
      baseUrl: c.baseUrl,
      encryptionPassword: secrets.encryptionPasswords[c.name],
    }), "0600", SERVICE_USER, SERVICE_USER, "systemctl restart dhis2", true),
  ];
  if (c.servletContainer === "embedded") {
    out.push(file(PATHS.dhis2Unit, renderTemplate("instance/dhis2-embedded.service.hbs", {
      ...common,
      warPath: `${PATHS.dhis2Home}/dhis2.war`,
      contextPath: c.path,
      // X-Forwarded-* trusted from the proxy only (systemd reads "\\" as one backslash)
      internalProxiesRegex: proxyRegex.replace(/\\/g, "\\\\"),
    }), "0644", "root", "root", "systemctl daemon-reload && systemctl restart dhis2"));
  } else {
    const major = tomcatMajor(c.servletContainer);
    out.push(
      file(`${PATHS.catalinaBase}/conf/server.xml`, renderTemplate("instance/server.xml.hbs", {
        ...common,
        tomcatMajor: major,
        proxyAddress: topology.proxy.address,
        proxyName: c.hostname,
        maxThreads: clamp(Math.round(inst.node.budget.cpus * 16), 50, 300),
        internalProxiesRegex: proxyRegex,
      }), "0640", "root", SERVICE_USER, "systemctl restart dhis2"),
      file(PATHS.dhis2Unit, renderTemplate("instance/dhis2-tomcat.service.hbs", {
        ...common, tomcatMajor: major, catalinaHome: PATHS.catalinaHome, catalinaBase: PATHS.catalinaBase,
      }), "0644", "root", "root", "systemctl daemon-reload && systemctl restart dhis2"),
    );
  }
  if (glowroot) {
    out.push(file(`${PATHS.glowrootDir}/admin.json`, renderTemplate("instance/glowroot-admin.json.hbs", {
      port: PORTS.glowroot, bindAddress: inst.node.address, contextPath: glowrootPath(c.name),
    }), "0600", SERVICE_USER, SERVICE_USER, "systemctl restart dhis2"));
  }
  return out;
}

/** Installs an instance's WAR where its servlet container deploys it. */
export function warScript(plan: Plan, inst: InstancePlan, artifact: ArtifactSource): string {
  const c = inst.config;
  const target = c.servletContainer === "embedded"
    ? `${PATHS.dhis2Home}/dhis2.war`
    : `${PATHS.catalinaBase}/webapps/${warFileName(c.path)}`;
  return renderTemplate("instance/war.sh.hbs", {
    stack: plan.config.stack, name: c.name, index: plan.instances.indexOf(inst), version: c.runtime.display, target, serviceUser: SERVICE_USER, ...artifactContext(artifact),
  });
}

/** Installs the glowroot agent next to the toolkit's admin.json. */
export function glowrootScript(plan: Plan, artifact: ArtifactSource): string {
  return renderTemplate("instance/glowroot-install.sh.hbs", {
    stack: plan.config.stack, version: plan.config.monitoring.glowrootVersion, dir: PATHS.glowrootDir, serviceUser: SERVICE_USER, ...artifactContext(artifact),
  });
}

function steps({ plan, node }: RoleContext, inputs: RoleStepInputs): RoleStep[] {
  const inst = instanceOf(plan, node.name);
  const given = inputs.artifact("war", inst.config.war);
  // the stack's warSha256 is checked on the host after a download (a local file's own sum is
  // checked against it before anything is touched: lib/config/artifacts.ts)
  const war = inst.config.warSha256 && !given.sha256 ? { ...given, sha256: inst.config.warSha256 } : given;
  const out: RoleStep[] = [...tomcatArchiveSteps(plan, inst.config, inputs), { name: "war", phase: "install", script: warScript(plan, inst, war), ...withCopy(war) }];
  if (plan.config.monitoring.glowroot) {
    const gr = inputs.artifact("glowroot", plan.config.monitoring.glowrootArchive);
    out.push({ name: "glowroot", phase: "install", script: glowrootScript(plan, gr), ...withCopy(gr) });
  }
  return out;
}

export const instance: Role = {
  ...NOTHING,
  name: "instance",
  // the file store (uploads, apps, images) and the local backups, apart from compute: a rebuilt
  // server keeps them (its own key per instance: LXD volumes are per stack)
  dataVolumes: ({ node }) => [{ key: `files-${node.name}`, path: PATHS.dhis2DataDir, purpose: `DHIS2 file store of ${node.name}` }],
  packages: ({ plan, node }) => {
    const c = instanceOf(plan, node.name).config;
    // the distribution's Tomcat, whose own service stays masked (tomcatLayout): the toolkit's
    // dhis2.service runs it with this instance's CATALINA_BASE
    return [...runtimePackages(c), ...(plan.config.monitoring.glowroot ? ["unzip"] : [])];
  },
  files,
  setup: ({ plan, node }) => {
    const c = instanceOf(plan, node.name).config;
    const tomcat = tomcatLayout(c);
    return {
      repositories: runtimeRepositories(plan, c),
      masked: tomcat?.service ? [tomcat.service] : [],
      section: renderTemplate("instance/setup.sh.hbs", {
        name: c.name,
        serviceUser: SERVICE_USER,
        dhis2Home: PATHS.dhis2Home,
        dataDir: PATHS.dhis2DataDir,
        fileStore: PATHS.dhis2FileStore,
        jdk: c.jdk,
        jdkGlob: jdkGlob(c),
        javaHome: PATHS.javaHome,
        tomcat: tomcat ? { ...tomcat, link: PATHS.catalinaHome, base: PATHS.catalinaBase } : false,
        glowrootDir: plan.config.monitoring.glowroot ? PATHS.glowrootDir : false,
      }),
    };
  },
  services: () => ["dhis2"],
  statusChecks: ({ plan, node }) => {
    const i = instanceOf(plan, node.name);
    const slowMs = plan.config.monitoring.thresholds.pingSlowMs;
    return ["check_service dhis2", `check_http ping:${i.config.name} http://${i.node.address}:${PORTS.tomcat}${i.config.path === "/" ? "" : i.config.path}/api/ping ${slowMs}`];
  },
  steps,
  flows: ({ config, topology, instances }) => instances.flatMap((i) => [
    flow(fromNode(topology.proxy), i.node, PORTS.tomcat, `DHIS2 ${i.config.name} behind the proxy`),
    ...(config.monitoring.glowroot ? [flow(fromNode(topology.proxy), i.node, PORTS.glowroot, `glowroot UI of ${i.config.name} behind the proxy`)] : []),
  ]),
};
