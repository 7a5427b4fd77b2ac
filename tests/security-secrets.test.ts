/**
 * Secrets in rendered files: `npm run render` of every example stack, and the modes of the files
 * that hold secrets (dhis.conf, htpasswd, postfix SASL map, PostgreSQL password files, TLS keys)
 * as listed in its FILES.txt. The deployed-stack audit is in tests/e2e/phases/security.ts.
 */
import test from "ava";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { renderDeployment } from "../lib/render/hosts";
import { placeholderSecrets } from "../lib/render/secrets";
import { run } from "./support/realtools";
import { auditPlaces, parseFilesListing, secretFileModeProblems, type ListedFile } from "./support/secrets-audit";
import { cloudStack, load } from "./support/stacks";

const ROOT = path.resolve(__dirname, "..");
const EXAMPLES = fs.readdirSync(path.join(ROOT, "stacks")).filter((f) => /^Pulumi\..+\.yaml$/.test(f)).map((f) => f.slice(7, -5));

/** Every file of a directory tree, relative paths. */
function walk(dir: string, rel = ""): string[] {
  return fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => e.isDirectory() ? walk(dir, path.join(rel, e.name)) : [path.join(rel, e.name)]);
}

for (const stack of EXAMPLES) {
  test(`npm run render -- --stack ${stack}: files holding secrets are not readable by everyone, and placeholders are only in them`, async (t) => {
    t.timeout(120_000);
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "render-secrets-"));
    t.teardown(() => fs.rmSync(out, { recursive: true, force: true }));
    const r = await run(process.execPath, ["--import=tsx", path.join(ROOT, "scripts/render.ts"), "--stack", stack, "--out", out], { cwd: ROOT, env: { ...process.env }, timeoutMs: 110_000 });
    t.is(r.code, 0, r.stderr);
    const hosts = fs.readdirSync(out).filter((h) => fs.existsSync(path.join(out, h, "FILES.txt")));
    t.true(hosts.length > 0);
    const kinds = new Set<string>();
    for (const host of hosts) {
      const listed = parseFilesListing(fs.readFileSync(path.join(out, host, "FILES.txt"), "utf8"));
      t.true(listed.length > 0, host);
      t.deepEqual(secretFileModeProblems(listed), [], host);
      for (const f of listed) if (f.secret) kinds.add(path.basename(f.path));
      // a secret placeholder only in files marked as holding secrets (and in the steps that fill them)
      const secretPaths = new Set(listed.filter((f) => f.secret).map((f) => f.path));
      for (const rel of walk(path.join(out, host))) {
        const abs = `/${rel}`;
        if (rel.startsWith("steps/") || secretPaths.has(abs)) continue;
        t.false(fs.readFileSync(path.join(out, host, rel), "utf8").includes("<secret:"), `${host}: ${abs} holds a secret placeholder but is not marked secret`);
      }
    }
    t.true(kinds.has("dhis.conf"), `${stack}: no dhis.conf found among the secret files: ${[...kinds].join(", ")}`);
    t.log(`${stack}: ${hosts.length} hosts; secret files: ${[...kinds].sort().join(", ")}`);
  });
}

test("a relay login: postfix's sasl_passwd is 0600 root and marked secret; the password is in no other file or user-data", (t) => {
  const raw = cloudStack({ isolation: "vm", cpus: 8, memoryGb: 16 });
  raw.alerts = { recipients: ["ops@example.org"], smtp: { host: "smtp.example.org", username: "alerts", password: "relay-S3CRET-value" } };
  const plan = load(raw).plan;
  const real = { ...placeholderSecrets(plan), smtpPassword: "relay-S3CRET-value" };
  const hosts = renderDeployment(plan, { secrets: real });
  const listed: ListedFile[] = hosts.flatMap((h) => h.files.map((f) => ({ path: f.path, mode: f.mode, owner: f.owner, group: f.group, secret: Boolean(f.secret) })));
  t.deepEqual(secretFileModeProblems(listed), []);
  const sasl = listed.filter((f) => f.path === "/etc/postfix/sasl_passwd");
  t.true(sasl.length > 0);
  for (const f of sasl) t.deepEqual([f.mode, f.owner, f.secret], ["0600", "root", true]);
  const places = hosts.flatMap((h) => [
    ...h.files.filter((f) => !f.secret).map((f) => ({ name: `${h.host}:${f.path}`, text: f.content })),
    ...(h.userData ? [{ name: `${h.host}: user-data`, text: h.userData }] : []),
  ]);
  const audit = auditPlaces({ "alerts.smtp.password": "relay-S3CRET-value" }, places);
  t.log(audit.line);
  t.deepEqual(audit.hits, []);
});

test("the checks can fail: a world-readable dhis.conf, a group-writable htpasswd, an unmarked SASL map, a secret in a log", (t) => {
  const problems = secretFileModeProblems([
    { path: "/opt/dhis2/dhis.conf", mode: "0644", owner: "dhis", group: "dhis", secret: true },
    { path: "/etc/nginx/dhis2-monitoring.htpasswd", mode: "0660", owner: "root", group: "www-data", secret: true },
    { path: "/etc/postfix/sasl_passwd", mode: "0600", owner: "root", group: "root", secret: false },
    { path: "/var/lib/postgresql/.pgpass", mode: "0604", owner: "postgres", group: "postgres", secret: false },
  ]);
  t.is(problems.length, 5, problems.join("\n"));
  t.regex(problems.join("\n"), /dhis\.conf .*0644 gives everyone access/);
  t.regex(problems.join("\n"), /htpasswd .*0660 lets group www-data write/);
  t.regex(problems.join("\n"), /sasl_passwd .*not marked as holding secrets/);
  t.regex(problems.join("\n"), /\.pgpass .*0604 gives everyone access/);
  const audit = auditPlaces({ "database password of production": "Zq8vX1t0pLk2" }, [
    { name: "pulumi up log", text: "creating... password=Zq8vX1t0pLk2 done" },
    { name: "pulumi stack export", text: "{\"ciphertext\":\"v1:abc\"}" },
  ]);
  t.deepEqual(audit.hits, [{ secret: "database password of production", place: "pulumi up log", before: "creating... password=" }]);
  t.regex(audit.line, /^secrets audit: 1 hits in 2 places \(1 secrets\)/);
  // the failure says what printed it, never the value itself
  t.regex(audit.line, /in pulumi up log after "creating\.\.\. password="/);
  const twice = auditPlaces({ a: "Zq8vX1t0pLk2", b: "Yy7uW2s9oKj3" }, [{ name: "log", text: "a=Yy7uW2s9oKj3 then Zq8vX1t0pLk2" }]);
  t.false(twice.line.includes("Yy7uW2s9oKj3"), twice.line);
  t.regex(twice.line, /a in log after "a=<b> then "/);
  t.throws(() => auditPlaces({ short: "abc" }, []), { message: /too short/ });
});
