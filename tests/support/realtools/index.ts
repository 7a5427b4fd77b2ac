/**
 * Harness that checks rendered configuration files with the REAL programs
 * (nginx, PostgreSQL 15, Tomcat 10, cloud-init, nft, postfix, munin-node, systemd-analyze).
 *
 * The programs are installed by `tools/install-check-tools.sh`; the helpers need root
 * (mount namespaces, network namespaces, runuser).
 *
 * Rules kept throughout:
 *  - every program is started with spawn and an argument array, never through a shell string
 *    built from content; the only scripts are fixed texts (NS_SCRIPT, the postfix daemon
 *    runner, the cloud-init key check) that get everything as positional arguments;
 *  - no secret is ever put in argv: passwords go through the environment (PGPASSWORD), keys
 *    and rendered files through files with their own mode (0600 where secret);
 *  - the host filesystem is not changed: rendered files appear only inside a private mount
 *    namespace, and every temp dir is removed afterwards (from the host namespace, where no
 *    bind mount of the private namespace is visible, so a recursive delete can never reach
 *    through a bind into a host directory).
 */
export type { RenderedFile } from "../../../lib/render/file";
export * from "./run";
export * from "./temp";
export * from "./hostfiles";
export * from "./certificates";
export * from "./nginx";
export * from "./postgres";
export * from "./tomcat";
export * from "./cloud-init";
export * from "./nft";
export * from "./postfix";
export * from "./munin";
export * from "./systemd";
export * from "./nginx-serve";
export * from "./testssl";
export * from "./sshd";
export * from "./sysctl";
