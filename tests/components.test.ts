/**
 * Components with Pulumi mocks: what they would create, without an engine. The real behaviour of
 * the scripts they run is tested against real programs (tests/search-indexes.test.ts).
 */
import { isSecret, plain, recorded, resourcesOf, settle, valueOf } from "./support/pulumi-mocks";
import test from "ava";
import * as pulumi from "@pulumi/pulumi";
import { resolveDhis2Runtime } from "../lib/dhis2/compat";
import type { SearchIndexTarget } from "../lib/dhis2/search-indexes";
import { LocalHost, LxdContainerHost, SshHost } from "../components/host";
import { TrackerSearchIndexes } from "../components/tracker-search-indexes";

const target = (instance: string): SearchIndexTarget => ({
  instance,
  database: `dhis2_${instance}`,
  schema: resolveDhis2Runtime("2.41.3").schema,
  attributes: ["w75KJ2mc4zz", "zDhUuAYrxNC"],
  eventDataElements: [{ programStage: "ZkbAXlQUYJG", dataElement: "LavUrktwH5D" }],
});

test.serial("TrackerSearchIndexes on an LXD container: one command, run as postgres, the script on stdin", async (t) => {
  const c = new TrackerSearchIndexes("production-search", { host: new LxdContainerHost("database", "dhis2-database"), target: target("production") });
  await settle();
  const [cmd, ...more] = resourcesOf("command:local:Command", "production-search");
  t.is(more.length, 0);
  t.is(cmd!.inputs.create, "lxc exec 'dhis2-database' -- /bin/sh -c 'runuser -u postgres -- /bin/bash -s'");
  const stdin = String(cmd!.inputs.stdin);
  t.regex(stdin, /^#!\/bin\/bash/);
  t.regex(stdin, /psql -X -v ON_ERROR_STOP=1 -d "\$database"/);
  t.regex(stdin, /INSERT INTO toolkit_wanted_attribute VALUES \('w75KJ2mc4zz'\);/);
  t.regex(stdin, /INSERT INTO toolkit_wanted_event VALUES \('ZkbAXlQUYJG', 'LavUrktwH5D'\);/);
  t.notRegex(stdin, /PGPASSWORD|PASSWORD '|sslpassword|:\/\/\w+:\w+@/i, "the script needs no credentials");
  t.is(cmd!.inputs.delete, undefined, "removing the component drops nothing");
  t.is(await valueOf(c.report), "ran production-search-apply");
  t.true(recorded.some((r) => r.type === "dhis2:database:TrackerSearchIndexes" && r.name === "production-search"));
});

test.serial("TrackerSearchIndexes over SSH through the bastion: sudo, key as a secret, nothing secret in the command", async (t) => {
  const key = pulumi.secret("-----BEGIN OPENSSH PRIVATE KEY-----\ntest\n-----END OPENSSH PRIVATE KEY-----");
  new TrackerSearchIndexes("staging-search", {
    host: new SshHost("database", { host: "10.231.20.20", user: "dhis2admin", privateKey: key, bastion: { host: "203.0.113.10", user: "dhis2admin", privateKey: key } }),
    target: target("staging"),
  });
  await settle();
  const [cmd] = resourcesOf("command:remote:Command", "staging-search");
  t.is(cmd!.inputs.create, "sudo /bin/sh -c 'runuser -u postgres -- /bin/bash -s'");
  // the connection holds the private key, so the whole connection is a secret in the engine's eyes
  t.true(isSecret(cmd!.inputs.connection));
  const conn = plain<{ host: string; user: string; privateKey: string; proxy: { host: string } }>(cmd!.inputs.connection);
  t.is(conn.host, "10.231.20.20");
  t.is(conn.user, "dhis2admin");
  t.is(conn.proxy.host, "203.0.113.10");
  t.notRegex(String(cmd!.inputs.create), /PRIVATE KEY/);
});

test.serial("TrackerSearchIndexes on this machine with environment (a cluster on another socket)", async (t) => {
  new TrackerSearchIndexes("local-search", { host: new LocalHost("local"), target: target("local"), environment: { PGHOST: "/tmp/sock", PGPORT: "5433" } });
  await settle();
  const [cmd] = resourcesOf("command:local:Command", "local-search");
  t.is(cmd!.inputs.create, "runuser -u postgres -- /bin/bash -s");
  t.deepEqual(cmd!.inputs.environment, { PGHOST: "/tmp/sock", PGPORT: "5433" });
});
