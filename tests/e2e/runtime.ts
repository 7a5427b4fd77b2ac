/**
 * What really ran: per node of an end-to-end stack, the operating system (/etc/os-release in the
 * container or server), PostgreSQL (SHOW server_version), and for each instance the JDK, servlet
 * container and servlet API as the running webapp reports them (/api/system/info of the
 * stand-in, through the proxy) — read from the running services, never from the plan — next to
 * what the stack asked for. Printed as the run's "What ran" table.
 */
import { OS_IMAGES, type OsId } from "../../lib/os/images";
import type { Plan } from "../../lib/plan";
import { assert, inContainer } from "./harness";

export interface RuntimeRow { stack: string; node: string; os: string; software: string }
export const whatRan: RuntimeRow[] = [];

/** What a stand-in instance reports about itself and the request. */
export interface StandInRuntime {
  servletApi: "javax" | "jakarta";
  serverInfo: string;
  javaVersion: string;
  scheme: string;
  secure: boolean;
  remoteAddr: string;
  contextPath: string;
}

async function osOf(container: string): Promise<{ id: string; versionId: string; pretty: string }> {
  const r = await inContainer(container, ". /etc/os-release && printf '%s|%s|%s' \"$ID\" \"$VERSION_ID\" \"$PRETTY_NAME\"");
  assert(r.code === 0, `${container}: /etc/os-release: ${r.stderr}`);
  const [id, versionId, pretty] = r.stdout.split("|");
  return { id: id!, versionId: versionId!, pretty: pretty! };
}

/** The node runs the system the plan gave it. */
export async function checkOs(node: string, container: string, expected: OsId): Promise<string> {
  const os = await osOf(container);
  const want = OS_IMAGES[expected].osRelease;
  assert(os.id === want.id && os.versionId === want.versionId, `${node} runs ${os.pretty}, the plan says ${OS_IMAGES[expected].name}`);
  return os.pretty;
}

/** The database: its system and PostgreSQL's own version. */
export async function checkDatabaseRuntime(stack: string, plan: Plan, container: string): Promise<string> {
  const pretty = await checkOs("database", container, plan.topology.database.os);
  const r = await inContainer(container, "runuser -u postgres -- psql -X -qAt -c 'SHOW server_version'");
  assert(r.code === 0, `SHOW server_version: ${r.stderr}`);
  const version = r.stdout.trim();
  assert(version.split(".")[0] === String(plan.postgres.version), `PostgreSQL ${version} runs, the plan says ${plan.postgres.version}`);
  whatRan.push({ stack, node: "database", os: pretty, software: `PostgreSQL ${version}` });
  return `${pretty}, PostgreSQL ${version}`;
}

/** An instance: its system, and the JDK, container and servlet API of the running webapp. */
export async function checkInstanceRuntime(stack: string, plan: Plan, node: string, container: string, info: StandInRuntime): Promise<string> {
  const inst = plan.instances.find((i) => i.config.name === node)!.config;
  const pretty = await checkOs(node, container, inst.os);
  const javaMajor = info.javaVersion.split(".")[0];
  assert(javaMajor === String(inst.jdk), `${node}: JDK ${info.javaVersion} runs, the plan says ${inst.jdk}`);
  const wantApi = inst.servletContainer === "tomcat9" ? "javax" : "jakarta";
  assert(info.servletApi === wantApi, `${node}: the ${info.servletApi} servlet API runs, ${inst.servletContainer} needs ${wantApi}`);
  const wantServer = inst.servletContainer === "tomcat9" ? /^Apache Tomcat\/9\./ : /^Apache Tomcat\/10\.1\./;
  assert(wantServer.test(info.serverInfo), `${node}: ${info.serverInfo} runs, the plan says ${inst.servletContainer}`);
  const where = inst.servletContainer === "embedded" ? "embedded in the WAR (java -jar)" : `${inst.servletContainer} (${inst.tomcatFrom})`;
  whatRan.push({ stack, node, os: pretty, software: `DHIS2 ${inst.runtime.display} stand-in: ${info.serverInfo} ${where}, ${info.servletApi}.servlet, JDK ${info.javaVersion}` });
  return `${pretty}; ${info.serverInfo}, ${info.servletApi}.servlet, JDK ${info.javaVersion}`;
}

/** The JSON of the stand-in's /api/system/info, its runtime part. */
export function standInRuntime(json: string): StandInRuntime {
  const parsed = JSON.parse(json) as { runtime?: StandInRuntime };
  assert(parsed.runtime, `no runtime in /api/system/info: ${json.slice(0, 300)}`);
  return parsed.runtime;
}

/** The "What ran" table, printed at the end of the run. */
export function printWhatRan(): void {
  if (whatRan.length === 0) return;
  console.log("\nWhat ran (read from the running services):");
  const w = [Math.max(...whatRan.map((r) => r.stack.length)), Math.max(...whatRan.map((r) => r.node.length)), Math.max(...whatRan.map((r) => r.os.length))];
  for (const r of whatRan) console.log(`  ${r.stack.padEnd(w[0]!)}  ${r.node.padEnd(w[1]!)}  ${r.os.padEnd(w[2]!)}  ${r.software}`);
}

