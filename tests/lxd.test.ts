/**
 * The LXD platform's own objects, as rendered: each stack's network (bridge, gateway, DHCP range
 * above the fixed addresses), the package images of the containers (one per package list, shared
 * by every container and stack with the same list, made again when the list changes), the
 * containers' eth0 on their stack's bridge, and this machine's forwarded ports (dhis2:lxd).
 */
import test from "ava";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { loadStackFile } from "../lib/load";
import type { Plan } from "../lib/plan";
import { lxdBridge } from "../lib/plan/topology";
import { renderDeployment } from "../lib/render/hosts";
import { lxdContainers, lxdNetwork, lxdRoleImages } from "../lib/render/lxd";
import { placeholderSecrets } from "../lib/render/secrets";
import { load } from "./support/stacks";

const PROJECT = path.resolve(__dirname, "..");
const local = () => loadStackFile(PROJECT, "local").plan;
const hostsOf = (plan: Plan) => renderDeployment(plan, { secrets: placeholderSecrets(plan) });
const e2eLike = (extra: Record<string, unknown> = {}) => load({
  platform: "local",
  network: { cidr: "10.231.40.0/24" },
  lxd: { bridge: "dhis2e2e0", forward: { address: "127.0.0.1", http: 10080, https: 10443 } },
  sizes: { host: { cpus: 2, memoryGb: 8 } },
  instances: [{ name: "production", version: "2.42.1", path: "/" }, { name: "training", version: "2.42.1", path: "/training" }],
  ...extra,
}, "e2e").plan;

test("each stack has its own network: bridge from dhis2:lxd.bridge, gateway .1, dynamic DHCP only above the fixed addresses", (t) => {
  t.deepEqual(lxdBridge(local().config), { name: "dhis2br0", address: "10.231.20.1/24", dhcpRange: "10.231.20.128-10.231.20.254" });
  t.deepEqual(lxdBridge(e2eLike().config), { name: "dhis2e2e0", address: "10.231.40.1/24", dhcpRange: "10.231.40.128-10.231.40.254" });
  const small = load({ platform: "local", network: { cidr: "10.231.40.0/26" }, sizes: { host: { cpus: 2, memoryGb: 8 } }, instances: [{ name: "p", version: "2.42.1" }] }).plan;
  t.deepEqual(lxdBridge(small.config), { name: "dhis2br0", address: "10.231.40.1/26", dhcpRange: "10.231.40.32-10.231.40.62" });
  const net = lxdNetwork(e2eLike());
  t.regex(net.script, /lxc network create "\$bridge" ipv4\.address=10\.231\.40\.1\/24 ipv4\.nat=true ipv4\.dhcp=true ipv4\.dhcp\.ranges=10\.231\.40\.128-10\.231\.40\.254 ipv6\.address=none/);
  t.regex(net.script, /give this stack its own dhis2:lxd\.bridge/, "another stack's network is not taken over");
  t.regex(net.deleteScript, /still used by/);
  for (const s of [net.script, net.deleteScript]) t.is(spawnSync("bash", ["-n"], { input: s }).status, 0);
});

test("containers: eth0 on their stack's bridge at the fixed address; this machine's forwarded address and ports from dhis2:lxd.forward", (t) => {
  const plan = e2eLike();
  const containers = lxdContainers(plan, lxdRoleImages(plan, hostsOf(plan)));
  for (const c of containers) t.regex(c.script, new RegExp(`lxc config device add "\\$name" eth0 nic name=eth0 network=dhis2e2e0 ipv4\\.address=${c.address.replace(/\./g, "\\.")}`));
  const proxy = containers.find((c) => c.node === "proxy")!;
  t.regex(proxy.script, /proxy listen=tcp:127\.0\.0\.1:10443 connect=tcp:127\.0\.0\.1:443 proxy_protocol=true/);
  t.regex(proxy.script, /proxy listen=tcp:127\.0\.0\.1:10080 connect=tcp:127\.0\.0\.1:80 proxy_protocol=true/);
  const defaults = lxdContainers(local()).find((c) => c.node === "proxy")!;
  t.regex(defaults.script, /proxy listen=tcp:0\.0\.0\.0:443 connect=tcp:127\.0\.0\.1:443/);
});

test("package images: one per package list (both instances share one), named by the list, used to create the containers; another list is another image", (t) => {
  const plan = local();
  const images = lxdRoleImages(plan, hostsOf(plan));
  const of = (node: string) => images.find((i) => i.node === node)!;
  t.is(of("production").alias, of("training").alias, "the same packages: the same image");
  t.is(new Set(images.map((i) => i.alias)).size, 4, "proxy, database, monitor, instance");
  for (const i of images) {
    t.regex(i.alias, /^dhis2-role-[0-9a-f]{12}$/);
    t.regex(i.script, /lxc publish "\$tmp" --alias "\$alias-new"[^\n]*\n[\s\S]*lxc image alias rename "\$alias-new" "\$alias"/, "the alias moves to a complete image only");
    t.regex(i.script, /: >\/etc\/machine-id/, "no machine id shared by containers");
    t.is(spawnSync("bash", ["-n"], { input: i.script }).status, 0);
  }
  t.regex(of("database").script, /pg_dropcluster --stop/, "no PostgreSQL cluster in an image: the data lives on the volume");
  t.regex(of("production").script, /systemctl mask --quiet tomcat10\.service/);
  for (const c of lxdContainers(plan, images)) t.regex(c.script, new RegExp(`lxc init ${of(c.node).alias} "\\$name"`));
  // another package list is another image; the same list in another stack is the same image
  const other = e2eLike({ postgresVersion: 15, monitoring: { glowroot: false } });
  const otherImages = lxdRoleImages(other, hostsOf(other));
  t.not(otherImages.find((i) => i.node === "production")!.alias, of("production").alias, "without glowroot the instance has no unzip: another image");
  t.is(otherImages.find((i) => i.node === "proxy")!.alias, of("proxy").alias, "the proxy's packages are the same in both stacks: one image");
});

test("dhis2:lxd: a bridge name LXD refuses, forwarded ports on servers, the same port twice, lxd keys in vm isolation are refused by key", (t) => {
  const base = { platform: "local", sizes: { host: { cpus: 2, memoryGb: 8 } }, instances: [{ name: "p", version: "2.42.1" }] };
  const refused = (raw: Record<string, unknown>, key: string, says: RegExp) => {
    const e = t.throws(() => load(raw));
    t.regex(e?.message ?? "", new RegExp(`${key.replace(/[.[\]]/g, "\\$&")}: [^\\n]*${says.source}`));
  };
  refused({ ...base, lxd: { bridge: "Dhis2_Bridge" } }, "dhis2:lxd.bridge", /LXD network name/);
  refused({ ...base, lxd: { bridge: "a-very-long-bridge-name" } }, "dhis2:lxd.bridge", /up to 14/);
  refused({ ...base, lxd: { forward: { http: 8443, https: 8443 } } }, "dhis2:lxd.forward.https", /must differ/);
  const servers = {
    platform: "existing", isolation: "lxd", domain: "dhis2.example.org", servers: { host: { address: "10.0.0.5" } }, instances: [{ name: "p", version: "2.42.1" }],
    admin: { sshKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHJ0d3Bvb2xleGFtcGxla2V5Zm9yZG9jc29ubHkx a@b"], allowedCidrs: ["196.12.4.0/24"] },
    alerts: { recipients: ["ops@example.org"], smtp: { host: "smtp.example.org" } },
  };
  refused({ ...servers, lxd: { forward: { https: 8443 } } }, "dhis2:lxd.forward", /applies to platform local only/);
  t.notThrows(() => load({ ...servers, lxd: { bridge: "dhis2prod0" } }));
  refused({ ...servers, isolation: "vm", servers: { proxy: { address: "10.0.0.2" }, database: { address: "10.0.0.20" }, monitor: { address: "10.0.0.30" }, instances: { p: { address: "10.0.0.11" } } }, lxd: { bridge: "x" } }, "dhis2:lxd", /isolation lxd only/);
});
