/**
 * Host hardening checked by the real programs: the rendered SSH drop-in as sshd itself reads it
 * (sshd -T: keys only, no root, only the admin user), and the SSH rate limit of the rendered
 * firewall proven with real connections between two network namespaces, and the sysctl settings
 * applied as in a container (kernel keys read-only).
 */
import test from "ava";
import * as path from "node:path";
import { loadStackFile } from "../lib/load";
import { PATHS } from "../lib/render/paths";
import { renderDeployment, scriptOf } from "../lib/render/hosts";
import { placeholderSecrets } from "../lib/render/secrets";
import { SSH_BURST, SSH_RATE_PER_MINUTE } from "../lib/roles/common/firewall";
import { inContainerLikeNamespace, nftCheck, nftConnectionCount, sshdEffective } from "./support/realtools";
import { cloudStack, load } from "./support/stacks";

const PROJECT = path.resolve(__dirname, "..");
const plan = (isolation: "vm" | "lxd") => load(cloudStack({ isolation, cpus: 8, memoryGb: 16 })).plan;
const hostsOf = (p: ReturnType<typeof plan>) => renderDeployment(p, { secrets: placeholderSecrets(p) });

test("sshd -T: every server of a cloud stack (vm and lxd) allows keys only, no root, only the admin user", async (t) => {
  for (const p of [plan("vm"), plan("lxd")]) {
    const servers = hostsOf(p);
    t.true(servers.length > 0);
    for (const h of servers) {
      const dropIn = h.files.find((f) => f.path === PATHS.sshdDropIn);
      if (p.config.isolation === "lxd" && h.role !== "lxd-host") {
        t.is(dropIn, undefined, `${h.host}: containers have no sshd drop-in`);
        continue;
      }
      t.truthy(dropIn, `${h.host}: no ${PATHS.sshdDropIn}`);
      const admin = p.config.admin.user;
      const r = await sshdEffective([dropIn!], { user: admin });
      t.true(r.ok, `${h.host}:\n${r.output}`);
      t.is(r.effective.get("permitrootlogin"), "no");
      t.is(r.effective.get("passwordauthentication"), "no");
      t.is(r.effective.get("kbdinteractiveauthentication"), "no");
      t.is(r.effective.get("permitemptypasswords"), "no");
      t.is(r.effective.get("pubkeyauthentication"), "yes");
      t.is(r.effective.get("authenticationmethods"), "publickey");
      t.is(r.effective.get("allowusers"), admin);
      t.is(r.effective.get("maxauthtries"), "3");
    }
  }
});

test("sshd -T refuses a drop-in with an invalid value (the check can fail)", async (t) => {
  const h = hostsOf(plan("vm")).find((x) => x.role === "proxy")!;
  const dropIn = h.files.find((f) => f.path === PATHS.sshdDropIn)!;
  const r = await sshdEffective([{ ...dropIn, content: dropIn.content.replace("PermitRootLogin no", "PermitRootLogin maybe") }], { user: "root" });
  t.false(r.ok, r.output);
  t.regex(r.output, /unsupported option "maybe"|Bad yes\/without-password|Bad permitrootlogin/i);
});

test("nft: new admin SSH connections beyond the burst are dropped, per source address (real connections)", async (t) => {
  t.timeout(10 * 60_000);
  const proxy = hostsOf(plan("vm")).find((h) => h.role === "proxy")!;
  const rules = proxy.files.find((f) => f.path === PATHS.nftables)!.content;
  t.true((await nftCheck(rules)).ok);
  // the admin network of the test stack is 196.12.4.0/24; the proxy stands in at .254
  const attempts = SSH_BURST + 60;
  const limited = await nftConnectionCount(rules, { serverAddr: "196.12.4.254", clientAddr: "196.12.4.10", port: 22, attempts });
  t.log(`rendered proxy firewall: ${limited.output} (limit ${SSH_RATE_PER_MINUTE}/minute, burst ${SSH_BURST})`);
  t.true(limited.accepted >= SSH_BURST, limited.output);
  t.true(limited.accepted < attempts, `nothing was dropped: ${limited.output}`);
  // the same ruleset without the limit accepts every connection: the drops come from the limit
  const unlimited = rules.replace(/ct state new add @ssh_new4 \{[^}]*\} /, "");
  t.not(unlimited, rules);
  const all = await nftConnectionCount(unlimited, { serverAddr: "196.12.4.254", clientAddr: "196.12.4.10", port: 22, attempts });
  t.log(`without the limit: ${all.output}`);
  t.is(all.accepted, attempts, all.output);
});

// A server the toolkit does not own may be a container (the e2e existing-servers phase, an LXC
// guest in a data centre): its kernel settings are the host's. Every sysctl command of the set-up
// (the files' own commands and the start checks) runs as in such a container: a user namespace
// with its own network namespace, where network keys can be set and kernel keys cannot.
test("sysctl: every server's start script and sysctl files apply in a container, where kernel keys are read-only (real sysctl, user namespace)", async (t) => {
  const p = loadStackFile(PROJECT, "example-existing").plan;
  for (const h of renderDeployment(p, { secrets: placeholderSecrets(p) })) {
    const sysctlFiles = h.files.filter((f) => f.path.startsWith("/etc/sysctl.d/"));
    t.true(sysctlFiles.some((f) => f.path === PATHS.sysctlKernel), `${h.host}: a server gets the kernel settings`);
    const commands = [
      ...sysctlFiles.map((f) => f.reload!),
      ...scriptOf(h, "start").split("\n").filter((l) => /^\s*sysctl\b/.test(l)),
    ];
    const r = await inContainerLikeNamespace(sysctlFiles, commands);
    t.is(r.code, 0, `${h.host}: ${commands.join("; ")}\n${r.output}`);
  }
  // the check can fail: the kernel file applied without tolerance fails in the same namespace
  const proxy = renderDeployment(p, { secrets: placeholderSecrets(p) }).find((h) => h.role === "proxy")!;
  const kernel = proxy.files.filter((f) => f.path === PATHS.sysctlKernel);
  const strict = await inContainerLikeNamespace(kernel, [`sysctl -q -p ${PATHS.sysctlKernel}`]);
  t.not(strict.code, 0, strict.output);
});
