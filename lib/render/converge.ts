/**
 * How a host is brought to its rendered state: one order, used by `pulumi up` (the components run
 * each step through the host abstraction) and by `npm run render` (which writes each step as
 * steps/<n>-<name>):
 *
 *   setup     templates/host/setup.sh.hbs: the roles' packages, users, directories, links;
 *   prepare   role steps that files need first (e.g. the proxy's certificates);
 *   files     one command per rendered file: the content on stdin, written atomically with its
 *             owner and mode; on a later change the same command writes it again and runs the
 *             file's own reload (so one changed file reloads only its service);
 *   install   role steps after the files (e.g. the WAR);
 *   start     templates/host/start.sh.hbs: firewall loaded, services enabled and (re)started, the
 *             roles' start checks;
 *   after     role steps that need the running services (e.g. databases and roles).
 */
import type { RenderedFile } from "./file";
import { PATHS } from "./paths";
import { OS_IMAGES } from "../os/images";
import { PLATFORM_RULES } from "../config/platforms";
import { renderTemplate } from "./engine";
import type { Role, RoleContext, RoleStep } from "../roles/types";

/** A script step of the convergence (stdin of bash, or of `command`). */
export interface ScriptStep {
  readonly kind: "script";
  /** Resource-name suffix and steps/ file name: setup, start, or the role step's name. */
  readonly name: string;
  readonly phase: "setup" | "prepare" | "install" | "start" | "after";
  /** Command on the host that gets `script` on stdin; default: a bash script. */
  readonly command?: string;
  readonly script: string;
  /** The script holds secret placeholders: the real values are filled in at deploy time. */
  readonly secret?: boolean;
  /** A local file copied to the host first (sha256 as fingerprint). */
  readonly copy?: RoleStep["copy"];
}

/** The point at which the rendered files are written (each one its own command). */
export interface FilesStep {
  readonly kind: "files";
}

export type ConvergeStep = ScriptStep | FilesStep;

export interface HostParts {
  readonly packages: readonly string[];
  readonly services: readonly string[];
  readonly files: readonly RenderedFile[];
  readonly roleSteps: readonly RoleStep[];
}

/** The set-up script of a host: its roles' packages and their parts of the set-up. */
export function setupScript(ctx: RoleContext, roles: readonly Role[], packages: readonly string[]): string {
  const { config } = ctx.plan;
  const setups = roles.map((r) => r.setup(ctx));
  const os = OS_IMAGES[ctx.node.os];
  return renderTemplate("host/setup.sh.hbs", {
    stack: config.stack,
    os: { ...os.osRelease, name: os.name, key: ctx.node.os },
    repositories: setups.flatMap((s) => s.repositories ?? []),
    hostname: ctx.node.hostname,
    domain: config.domain,
    role: ctx.node.role,
    packages,
    masked: setups.flatMap((s) => s.masked ?? []),
    // every host installs its security updates itself (the data path in the maintenance window)
    unattendedUpgrades: PLATFORM_RULES[config.platform].unattendedUpgrades,
    nginxSites: setups.some((s) => s.nginx) ? PATHS.nginxSites : false,
    preflights: setups.flatMap((s) => (s.preflight ? [s.preflight.trimEnd()] : [])),
    sections: setups.flatMap((s) => (s.section ? [s.section.trimEnd()] : [])),
  });
}

/** The start script of a host: firewall, its roles' services, their start checks. */
export function startScript(ctx: RoleContext, roles: readonly Role[], services: readonly string[], files: readonly RenderedFile[]): string {
  return renderTemplate("host/start.sh.hbs", {
    stack: ctx.plan.config.stack,
    hostname: ctx.node.hostname,
    role: ctx.node.role,
    services,
    checks: roles.flatMap((r) => r.startChecks(ctx, files)),
  });
}

/** The convergence of one host, in order. */
export function convergence(ctx: RoleContext, roles: readonly Role[], parts: HostParts): ConvergeStep[] {
  const role = (phase: RoleStep["phase"]): ScriptStep[] => parts.roleSteps.filter((s) => s.phase === phase).map((s) => ({
    kind: "script", name: s.name, phase, command: s.command, script: s.script, ...(s.secret ? { secret: true } : {}), ...(s.copy ? { copy: s.copy } : {}),
  }));
  return [
    { kind: "script", name: "setup", phase: "setup", script: setupScript(ctx, roles, parts.packages) },
    ...role("prepare"),
    { kind: "files" },
    ...role("install"),
    { kind: "script", name: "start", phase: "start", script: startScript(ctx, roles, parts.services, parts.files) },
    ...role("after"),
  ];
}
