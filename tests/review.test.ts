/**
 * npm run review (scripts/review.ts): the overrides applied to a copy of the stack file, the plan
 * review (lib/platform/review.ts) of a real example stack, and the preview review
 * (lib/platform/preview.ts) of `pulumi preview --json` documents (tests/support/preview/README.md
 * says how they were made).
 */
import test from "ava";
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { applyOverrides, splitNamespaces, stackFilePath } from "../lib/config/stack-file";
import { loadDeployment, loadStackFile } from "../lib/load";
import { formatPreview, reviewExitCode, reviewPreview, urnParts, type PreviewDigest } from "../lib/platform/preview";
import { formatPlanReview, reviewPlans } from "../lib/platform/review";
import { declaredStack, load } from "./support/stacks";

const PROJECT = path.resolve(__dirname, "..");
const digest = (name: string) => JSON.parse(fs.readFileSync(path.join(__dirname, "support", "preview", `${name}.json`), "utf8")) as PreviewDigest;
const exampleText = fs.readFileSync(stackFilePath(PROJECT, "example-hcloud"), "utf8");
const loadText = (text: string) => loadDeployment("example-hcloud", splitNamespaces((YAML.parse(text) as { config: Record<string, unknown> }).config).project, "test");

test("--set overrides a copy of the stack file by path, keeps comments and every other key; a wrong key is refused", (t) => {
  const text = applyOverrides(exampleText, ["dhis2:sizes.database.memoryGb=192", "dhis2:instances[1].heapMb=4096", "dhis2:cloud.location=hel1"]);
  const doc = YAML.parse(text) as { config: Record<string, any> };
  t.is(doc.config["dhis2:sizes"].database.memoryGb, 192);
  t.is(doc.config["dhis2:sizes"].database.cpus, 32);
  t.is(doc.config["dhis2:instances"][1].heapMb, 4096);
  t.is(doc.config["dhis2:instances"][1].name, "training");
  t.is(doc.config["dhis2:cloud"].location, "hel1");
  t.true(text.includes("# COVAX reference on Hetzner Cloud"));
  t.is(applyOverrides(exampleText, []), YAML.parseDocument(exampleText).toString());
  t.throws(() => applyOverrides(exampleText, ["sizes.database.memoryGb=64"]), { message: /not a stack key such as dhis2:sizes\.database\.memoryGb/ });
  t.throws(() => applyOverrides(exampleText, ["dhis2:sizes.database.memoryGb"]), { message: /expected KEY=VALUE/ });
});

test("plan review of example-hcloud with a bigger database: server type and price, retuned settings with why, what restarts", (t) => {
  const before = loadStackFile(PROJECT, "example-hcloud");
  const after = loadText(applyOverrides(exampleText, ["dhis2:sizes.database.cpus=48", "dhis2:sizes.database.memoryGb=192"]));
  const r = reviewPlans(before, after);
  t.deepEqual(r.servers.map((s) => [s.what, s.before.split(" ")[0], s.after.split(" ")[0], s.why.split(";")[0]]), [["database", "ccx53", "ccx63", "+96.00 EUR/month"]]);
  t.deepEqual(r.monthly && [r.monthly.after - r.monthly.before > 95.99, r.monthly.currency], [true, "EUR"]);
  const row = (name: string) => r.settings.find((s) => s.what === name);
  t.deepEqual([row("shared_buffers")?.before, row("shared_buffers")?.after], ["32GB", "48GB"]);
  t.regex(row("shared_buffers")!.why, /^25% of the database's memory .*\(database: 192 GB, 48 CPU\) \[restart\]$/);
  t.deepEqual([row("effective_cache_size")?.before, row("effective_cache_size")?.after], ["96GB", "144GB"]);
  t.deepEqual(r.jvm, [], "the instances' servers did not change");
  t.deepEqual(r.cloudResources, [], "a bigger type is an update in place");
  t.true(r.restarts.some((x) => x.startsWith("PostgreSQL: restarts (shared_buffers, max_worker_processes)")));
  const text = formatPlanReview(r);
  t.regex(text, /\| shared_buffers +\| 32GB → 48GB +\|/);
  t.regex(text, /Monthly: 447\.85 → 543\.85 EUR \(\+96\.00\)/);
});

test("plan review: another location replaces the servers and says so; a local memory upgrade retunes containers and heaps", (t) => {
  const before = loadStackFile(PROJECT, "example-hcloud");
  const moved = reviewPlans(before, loadText(applyOverrides(exampleText, ["dhis2:cloud.location=hel1"])));
  t.true(moved.cloudResources.some((c) => c.resource === "server database" && c.action === "replace" && c.changed.includes("location")));
  t.regex(formatPlanReview(moved), /^REPLACED OR DELETED \(cloud resources\)\n\n(  REPLACE .*\n)*  REPLACE server database \(location\)\n/);
  const small = load(declaredStack({ isolation: "lxd", cpus: 4, memoryGb: 12 }));
  const big = load(declaredStack({ isolation: "lxd", cpus: 4, memoryGb: 16 }));
  const r = reviewPlans(small, big);
  t.deepEqual(r.sizes[0] && [r.sizes[0].what, r.sizes[0].before, r.sizes[0].after], ["LXD host", "4 CPU / 12 GB", "4 CPU / 16 GB"]);
  t.true(r.sizes.some((s) => s.what === "database" && s.why === "container limits (changed in place)"));
  t.true(r.settings.some((s) => s.what === "shared_buffers"));
  t.true(r.jvm.some((j) => j.what === "production"));
  t.true(r.restarts.includes("DHIS2 production: restarts (JAVA_OPTS or dhis.conf changes)"));
  t.deepEqual(reviewPlans(small, small), { systems: [], sizes: [], servers: [], monthly: undefined, settings: [], jvm: [], restarts: [], cloudResources: [] });
  t.is(formatPlanReview(reviewPlans(small, small)).trim(), "No system, size, server type, setting or heap changes.");
});

test("preview review, memory upgrade: containers and the conf.d file updated in place, nothing replaced, exit 0", (t) => {
  const r = reviewPreview(digest("memory-upgrade"));
  t.deepEqual(r.actions.map((a) => `${a.action} ${a.name}`), [
    "update dhis2-database-file-etc-postgresql-15-main-conf.d-dhis2.conf", "update dhis2-lxd-database-container", "update dhis2-lxd-production-container",
  ]);
  t.is(r.unchanged, 4);
  t.false(r.dangerous);
  t.is(reviewExitCode(r, false), 0);
  const text = formatPreview(r, { color: false, allowReplace: false });
  t.true(text.startsWith("Replaced or deleted: none (data volumes and servers untouched)"));
  t.regex(text, /~ dhis2-lxd-database-container \(command:local:Command\): stdin/);
  t.deepEqual(r.warnings, ["dhis2-e2e: dhis2:sizes.host.memoryGb 12: ..."]);
});

test("preview review, another image: the database container's replacement is named and refused unless --allow-replace", (t) => {
  const r = reviewPreview(digest("image-change"));
  t.deepEqual(r.actions.map((a) => [a.action, a.name, a.holdsData, a.reasons.join()]), [
    ["replace", "dhis2-lxd-database-container", true, "triggers"],
    ["replace", "dhis2-lxd-proxy-container", false, "triggers"],
  ], "the three steps of one replacement are one line");
  t.deepEqual(r.refused.map((a) => a.name), ["dhis2-lxd-database-container"]);
  t.is(reviewExitCode(r, false), 1);
  t.is(reviewExitCode(r, true), 0);
  const text = formatPreview(r, { color: false, allowReplace: false });
  t.regex(text, /^REPLACED OR DELETED: 2\n {2}REPLACE dhis2-lxd-database-container \(command:local:Command\): triggers \[HOLDS DATA: REFUSED without --allow-replace\]/);
  t.true(formatPreview(r, { color: true, allowReplace: false }).includes("\x1b[1;31mREPLACED OR DELETED: 2\x1b[0m"));
});

test("preview review, cloud: a deleted data volume is refused, a new type is an update, a preview error fails", (t) => {
  const r = reviewPreview(digest("cloud"));
  t.deepEqual(r.actions.map((a) => `${a.action} ${a.type} ${a.name} ${a.holdsData}`), [
    "delete hcloud:index/volume:Volume dhis2-dhis2-ke-prod-pgdata true",
    "update hcloud:index/server:Server dhis2-database true",
    "create hcloud:index/server:Server dhis2-staging false",
  ]);
  t.deepEqual(r.errors, ["hcloud: an error happened"]);
  t.is(reviewExitCode(r, true), 1, "an error in the preview is never allowed");
  t.deepEqual(urnParts("urn:pulumi:s::dhis2::dhis2:index:Deployment$hcloud:index/server:Server::dhis2-database"), { type: "hcloud:index/server:Server", name: "dhis2-database" });
});

test("another operating system for a node is named: a new container on LXD, a new server on a cloud", (t) => {
  const local = (os: string) => load({ platform: "local", os: { default: "debian-12", database: os }, postgresVersion: 15, instances: [{ name: "production", version: "2.41.3", path: "/" }] });
  const r = reviewPlans(local("debian-12"), local("debian-13"));
  t.deepEqual(r.systems.map((c) => [c.what, c.before, c.after]), [["database", "Debian 12 (bookworm)", "Debian 13 (trixie)"]]);
  t.regex(r.systems[0]!.why, /a new container .* the data volumes stay/);
  t.regex(formatPlanReview(r), /Operating systems\n\n.*\n.*\n\| database \| Debian 12 \(bookworm\) → Debian 13 \(trixie\) \|/);
  t.true(r.restarts.some((x) => /^database: replaced by new containers/.test(x)));
  const hcloud = reviewPlans(loadText(exampleText), loadText(applyOverrides(exampleText, ["dhis2:os=debian-13"])));
  t.true(hcloud.systems.length > 0 && hcloud.systems.every((c) => /a new server/.test(c.why)), JSON.stringify(hcloud.systems));
});

test("a PostgreSQL major change: upward an upgrade in place with its downtime; downward refused", (t) => {
  const stack = (postgresVersion: number) => load({ ...declaredStack({ isolation: "vm", cpus: 2, memoryGb: 4 }), os: "debian-12", postgresVersion });
  const up = reviewPlans(stack(13), stack(15));
  t.like(up.postgres, { before: "13", after: "15", refused: false });
  t.regex(up.postgres!.why, /pg_upgradecluster/);
  t.true(up.restarts.some((x) => /^PostgreSQL 13 → 15: stopped for the upgrade/.test(x)), up.restarts.join("\n"));
  t.regex(formatPlanReview(up), /PostgreSQL major version\n\n.*\n.*\n\| PostgreSQL +\| 13 → 15 +\| upgraded in place/);
  const down = reviewPlans(stack(15), stack(13));
  t.like(down.postgres, { before: "15", after: "13", refused: true });
  t.regex(formatPlanReview(down), /REFUSED: PostgreSQL cannot go down a major version/);
  t.is(reviewPlans(stack(15), stack(15)).postgres, undefined);
});
