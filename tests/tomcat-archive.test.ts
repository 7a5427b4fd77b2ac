/**
 * Tomcat from Apache's release archive (templates/instance/tomcat-archive.sh.hbs), installed for
 * real: a stack asking for DHIS2 2.42 (Tomcat 10) on Debian 11, which packages only Tomcat 9,
 * with dhis2:sources.tomcat10 pointing at a local archive. The archive is made here in Apache's
 * layout from this machine's Tomcat 10 (Debian's tomcat10: the same release's jars and scripts;
 * Apache's downloads cannot be reached here). The rendered script runs as root in a private mount
 * namespace with /opt on a tmpfs, so nothing of this machine changes; then Tomcat's own
 * version.sh, run from where the script installed it, must report the release.
 */
import test from "ava";
import { spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { tomcatArchiveScript } from "../lib/roles/instance/runtime";
import { PATHS, SERVICE_USER } from "../lib/render/paths";
import { cloudStack, load } from "./support/stacks";

const DEBIAN_TOMCAT = "/usr/share/tomcat10";

/** The release of this machine's tomcat10 package (e.g. 10.1.60), from its version.sh. */
function installedRelease(): string {
  const r = spawnSync("bash", [`${DEBIAN_TOMCAT}/bin/version.sh`], { encoding: "utf8", env: { ...process.env, CATALINA_HOME: DEBIAN_TOMCAT } });
  const m = /Server version: Apache Tomcat\/(\d+\.\d+\.\d+)/.exec(r.stdout);
  if (!m) throw new Error(`tomcat10's version.sh printed no version:\n${r.stdout}\n${r.stderr}`);
  return m[1]!;
}

/** apache-tomcat-<release>.tar.gz in Apache's layout (bin, conf, lib, webapps), links resolved. */
function makeArchive(dir: string, release: string): string {
  const top = path.join(dir, `apache-tomcat-${release}`);
  fs.mkdirSync(path.join(top, "webapps", "ROOT"), { recursive: true });
  fs.writeFileSync(path.join(top, "webapps", "ROOT", "index.jsp"), "example webapp\n");
  for (const [from, to] of [[`${DEBIAN_TOMCAT}/bin`, "bin"], [`${DEBIAN_TOMCAT}/lib`, "lib"], [`${DEBIAN_TOMCAT}/etc`, "conf"]]) {
    const r = spawnSync("cp", ["-rL", from!, path.join(top, to!)]);
    if (r.status !== 0) throw new Error(`cp ${from}: ${r.stderr}`);
  }
  const archive = path.join(dir, `apache-tomcat-${release}.tar.gz`);
  const r = spawnSync("tar", ["-czf", archive, "-C", dir, `apache-tomcat-${release}`]);
  if (r.status !== 0) throw new Error(`tar: ${r.stderr}`);
  return archive;
}

const sha512 = (file: string) => crypto.createHash("sha512").update(fs.readFileSync(file)).digest("hex");

/**
 * Runs a script as root in its own mount namespace: /opt empty (tmpfs), /etc/group with the
 * service user's group, /usr/lib/jvm/dhis2-jdk linked to this machine's JDK 17.
 */
function runIsolated(dir: string, script: string): { code: number; stdout: string; stderr: string; listing: string } {
  const group = path.join(dir, "group");
  fs.writeFileSync(group, `${fs.readFileSync("/etc/group", "utf8").trimEnd()}\n${SERVICE_USER}:x:64999:\n`);
  fs.writeFileSync(path.join(dir, "step.sh"), script);
  const wrapper = `set -e
mount --make-rprivate /
mount -t tmpfs tmpfs /opt
mount --bind ${group} /etc/group
install -d ${dir}/jvm && mount --bind /usr/lib/jvm ${dir}/jvm
mount -t tmpfs tmpfs /usr/lib/jvm
ln -s ${dir}/jvm/$(ls ${dir}/jvm | grep -m1 '^java-17-openjdk') ${PATHS.javaHome}
install -d -m 0755 ${PATHS.catalinaBase}/conf
set +e
bash ${dir}/step.sh
code=$?
echo "@@listing"
find /opt -maxdepth 4 -printf '%M %u %g %p\\n' | sort
JAVA_HOME=${PATHS.javaHome} ${PATHS.catalinaHome}/bin/version.sh 2>&1 | sed 's/^/@@version /'
exit $code
`;
  const r = spawnSync("unshare", ["--mount", "bash", "-c", wrapper], { encoding: "utf8", timeout: 120_000 });
  const [out, listing = ""] = r.stdout.split("@@listing\n");
  return { code: r.status ?? 1, stdout: out ?? "", stderr: r.stderr, listing };
}

test("Tomcat 10 for DHIS2 2.42 on Debian 11 comes from the archive: checked, installed without its webapps, the instance's defaults placed, version.sh answers", (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dhis2-tomcat-archive-"));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const release = installedRelease();
  const archive = makeArchive(dir, release);
  const plan = load({
    ...cloudStack({ isolation: "vm", cpus: 8, memoryGb: 16 }), os: "debian-11", postgresVersion: 13,
    sources: { tomcat10: { url: `https://mirror.example.org/tomcat/apache-tomcat-${release}.tar.gz`, sha512: sha512(archive) } },
    instances: [{ name: "production", version: "2.42.1", path: "/" }],
  }).plan;
  const c = plan.instances[0]!.config;
  t.deepEqual([c.servletContainer, c.tomcatFrom, c.os], ["tomcat10", "archive", "debian-11"]);
  // the archive as the host gets it (a local file staged by pulumi, or a mirror's download)
  const script = tomcatArchiveScript(plan, c, 0, { source: plan.config.sources.tomcat10!.url, staged: archive }, plan.config.sources.tomcat10!.sha512);

  const r = runIsolated(dir, script);
  t.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
  t.regex(r.stdout, new RegExp(`^apache-tomcat-${release.replace(/\./g, "\\.")} installed in /opt/apache-tomcat-10 from https://mirror\\.example\\.org/.*: Apache Tomcat/${release.replace(/\./g, "\\.")}( \\(Debian\\))?$`, "m"));
  t.regex(r.listing, new RegExp(`^@@version Server version: Apache Tomcat/${release.replace(/\./g, "\\.")}( \\(Debian\\))?$`, "m"));
  // root's and read-only for the instance; no example webapps; the defaults in the instance's base
  t.regex(r.listing, /^drwxr-xr-x root root \/opt\/apache-tomcat-10$/m);
  t.regex(r.listing, /^lrwxrwxrwx root root \/opt\/tomcat$/m);
  t.notRegex(r.listing, /apache-tomcat-10\/webapps/);
  for (const f of ["web.xml", "context.xml", "logging.properties", "catalina.properties"]) {
    t.regex(r.listing, new RegExp(`^-rw-r----- root ${SERVICE_USER} ${PATHS.catalinaBase}/conf/${f.replace(".", "\\.")}$`, "m"), f);
  }
});

test("an archive that is not the one the stack names is refused: another sha512, or not an Apache Tomcat archive", (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dhis2-tomcat-archive-"));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const release = installedRelease();
  const archive = makeArchive(dir, release);
  const stack = (sum: string) => load({
    ...cloudStack({ isolation: "vm", cpus: 8, memoryGb: 16 }), os: "debian-11", postgresVersion: 13,
    sources: { tomcat10: { url: "https://mirror.example.org/tomcat/apache-tomcat-10.tar.gz", sha512: sum } },
    instances: [{ name: "production", version: "2.42.1", path: "/" }],
  }).plan;
  const wrong = stack("ab".repeat(64));
  const bad = runIsolated(dir, tomcatArchiveScript(wrong, wrong.instances[0]!.config, 0, { source: "https://mirror.example.org/tomcat/apache-tomcat-10.tar.gz", staged: archive }, "ab".repeat(64)));
  t.not(bad.code, 0);
  t.regex(bad.stderr, /sha512 [0-9a-f]{128} is not the expected (ab)+ \(dhis2:sources\.tomcat10\.sha512\)/);
  t.notRegex(bad.listing, /apache-tomcat-10/, "nothing installed");
  // the right checksum of something else: a tarball without Tomcat's top directory
  const other = path.join(dir, "other.tar.gz");
  fs.mkdirSync(path.join(dir, "other"));
  fs.writeFileSync(path.join(dir, "other", "README"), "not tomcat\n");
  spawnSync("tar", ["-czf", other, "-C", dir, "other"]);
  const named = stack(sha512(other));
  const notTomcat = runIsolated(dir, tomcatArchiveScript(named, named.instances[0]!.config, 0, { source: "https://mirror.example.org/tomcat/apache-tomcat-10.tar.gz", staged: other }, sha512(other)));
  t.not(notTomcat.code, 0);
  t.regex(notTomcat.stderr, /is not an Apache Tomcat archive \(its top directory: other\)/);
});
