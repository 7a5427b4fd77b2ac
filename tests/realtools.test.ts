/**
 * Proves that each helper of tests/support/realtools.ts catches real errors with the real
 * program AND accepts good input. Needs root and `bash tools/install-check-tools.sh`.
 */
import test from "ava";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import * as net from "node:net";

import type { RenderedFile } from "../lib/render/file";
import {
  PostgresStartError,
  cloudInitSchema,
  makeTestCertificate,
  muninNodeProbe,
  nftCheck,
  nginxTest,
  pendingTempDirs,
  postfixCheck,
  run,
  startThrowawayPostgres,
  systemdVerify,
  tomcatConfigtest,
  withHostFiles,
} from "./support/realtools";

function file(p: string, content: string, extra: Partial<RenderedFile> = {}): RenderedFile {
  return { path: p, content, mode: "0644", owner: "root", group: "root", ...extra };
}

test.after.always("no temp dirs are left behind", (t) => {
  const left = pendingTempDirs();
  t.deepEqual(left, []);
  t.deepEqual(left.filter((d) => existsSync(d)), []);
});

// -------------------------------------------------------------------------------------------
// withHostFiles
// -------------------------------------------------------------------------------------------

test("withHostFiles: files appear at their paths with mode/owner, package files stay, host is unchanged", async (t) => {
  const hostNginxConf = readFileSync("/etc/nginx/nginx.conf", "utf8");
  t.false(existsSync("/etc/letsencrypt"), "precondition: /etc/letsencrypt does not exist on this host");
  const files = [
    file("/etc/nginx/nginx.conf", "# rendered\n"),
    file("/etc/letsencrypt/live/example.org/privkey.pem", "KEY\n", { mode: "0600", owner: "postgres", group: "ssl-cert" }),
    file("/etc/dhis2/dhis.conf", "connection.url = x\n", { mode: "0640", owner: "root", group: "postgres" }),
  ];
  const r = await withHostFiles(files, [
    "sh", "-c",
    'cat /etc/nginx/nginx.conf; stat -c "%a %U %G" /etc/letsencrypt/live/example.org/privkey.pem /etc/dhis2/dhis.conf; ' +
      "test -f /etc/nginx/mime.types && echo mime-ok; test -d /etc/nginx/sites-available && echo subdir-ok; " +
      "echo scribble > /etc/nginx/written-inside",
  ]);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(r.stdout.trim().split("\n"), ["# rendered", "600 postgres ssl-cert", "640 root postgres", "mime-ok", "subdir-ok"]);
  t.deepEqual(r.notes, []);
  // nothing reached the host
  t.is(readFileSync("/etc/nginx/nginx.conf", "utf8"), hostNginxConf);
  t.false(existsSync("/etc/letsencrypt"));
  t.false(existsSync("/etc/dhis2"));
  t.false(existsSync("/etc/nginx/written-inside"));
});

test("withHostFiles: hide removes a host file inside the namespace only; unknown owners are reported", async (t) => {
  t.true(existsSync("/etc/nginx/sites-enabled/default"), "precondition: the package's default site is enabled");
  const r = await withHostFiles([file("/etc/nginx/conf.d/a.conf", "# a\n", { owner: "nosuchuser-xyz" })], ["ls", "/etc/nginx/sites-enabled"], {
    hide: ["/etc/nginx/sites-enabled/default"],
  });
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout.trim(), "");
  t.true(existsSync("/etc/nginx/sites-enabled/default"));
  t.regex(r.notes.join("\n"), /owner nosuchuser-xyz does not exist/);
});

test("withHostFiles: a failing command's exit code and output come back", async (t) => {
  const r = await withHostFiles([file("/etc/nginx/conf.d/x.conf", "x\n")], ["sh", "-c", "echo out; echo err >&2; exit 3"]);
  t.is(r.code, 3);
  t.is(r.stdout, "out\n");
  t.is(r.stderr, "err\n");
});

// -------------------------------------------------------------------------------------------
// certificates
// -------------------------------------------------------------------------------------------

test("makeTestCertificate: self-signed, one SAN per name, key matches", async (t) => {
  const c = await makeTestCertificate(["dhis2.example.org", "www.example.org", "127.0.0.1"]);
  const x = new X509Certificate(c.certPem);
  t.is(x.subjectAltName, "DNS:dhis2.example.org, DNS:www.example.org, IP Address:127.0.0.1");
  t.true(x.checkPrivateKey(createPrivateKey(c.keyPem)));
  t.true(x.verify(x.publicKey), "self-signed");
  await t.throwsAsync(makeTestCertificate(["bad name; rm -rf /"]), { message: /not a hostname/ });
});

// -------------------------------------------------------------------------------------------
// nginx
// -------------------------------------------------------------------------------------------

const NGINX_CONF = `user www-data;
worker_processes auto;
pid /run/nginx.pid;
events { worker_connections 768; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log /var/log/nginx/dhis2-access.log;
  error_log /var/log/nginx/dhis2-error.log;
  proxy_cache_path /var/cache/nginx/dhis2 levels=1:2 keys_zone=dhis2:10m max_size=1g;
  include /etc/nginx/conf.d/*.conf;
}
`;

function nginxSite(certDir: string): string {
  return `server {
  listen 443 ssl http2;
  server_name dhis2.example.org;
  ssl_certificate ${certDir}/fullchain.pem;
  ssl_certificate_key ${certDir}/privkey.pem;
  ssl_protocols TLSv1.2 TLSv1.3;
  client_max_body_size 10m;
  location / {
    proxy_pass http://127.0.0.1:8080;
    proxy_set_header Host $host;
    proxy_set_header X-Forwarded-Proto https;
    proxy_cache dhis2;
  }
}
server {
  listen 80;
  server_name dhis2.example.org;
  return 301 https://$host$request_uri;
}
`;
}

async function nginxFiles(site: string): Promise<RenderedFile[]> {
  const cert = await makeTestCertificate(["dhis2.example.org"]);
  const dir = "/etc/letsencrypt/live/dhis2.example.org";
  return [
    file("/etc/nginx/nginx.conf", NGINX_CONF),
    file("/etc/nginx/conf.d/dhis2.conf", site),
    file(`${dir}/fullchain.pem`, cert.certPem),
    file(`${dir}/privkey.pem`, cert.keyPem, { mode: "0600" }),
  ];
}

test("nginxTest: a good config with TLS passes, and nothing it writes reaches the host", async (t) => {
  const pidFileBefore = existsSync("/run/nginx.pid");
  const r = await nginxTest(await nginxFiles(nginxSite("/etc/letsencrypt/live/dhis2.example.org")));
  t.true(r.ok, r.output);
  t.regex(r.output, /test is successful/);
  t.false(existsSync("/var/log/nginx/dhis2-error.log"));
  t.false(existsSync("/var/cache/nginx/dhis2"));
  t.is(existsSync("/run/nginx.pid"), pidFileBefore, "nginx -t creates its pid file; it must stay private");
});

test("nginxTest: a typo in a directive fails with nginx's message", async (t) => {
  const r = await nginxTest(await nginxFiles(nginxSite("/etc/letsencrypt/live/dhis2.example.org").replace("proxy_pass ", "proxy_pas ")));
  t.false(r.ok, r.output);
  t.regex(r.output, /unknown directive "proxy_pas" in \/etc\/nginx\/conf\.d\/dhis2\.conf:9/);
});

test("nginxTest: a certificate path that is not rendered fails", async (t) => {
  const r = await nginxTest(await nginxFiles(nginxSite("/etc/letsencrypt/live/other.example.org")));
  t.false(r.ok, r.output);
  t.regex(r.output, /cannot load certificate "\/etc\/letsencrypt\/live\/other\.example\.org\/fullchain\.pem"/);
});

test("nginxTest: a missing semicolon fails", async (t) => {
  const r = await nginxTest(await nginxFiles(nginxSite("/etc/letsencrypt/live/dhis2.example.org").replace("client_max_body_size 10m;", "client_max_body_size 10m")));
  t.false(r.ok, r.output);
  t.regex(r.output, /\[emerg\]/);
});

// -------------------------------------------------------------------------------------------
// PostgreSQL
// -------------------------------------------------------------------------------------------

const PG_CONF_PATH = "/etc/postgresql/15/main/conf.d/dhis2.conf";

test.serial("postgres: rendered tuning values are in force; harness overrides only port/listen/socket/ssl", async (t) => {
  const pg = await startThrowawayPostgres({
    confD: file(
      PG_CONF_PATH,
      [
        "shared_buffers = 256MB",
        "work_mem = 16MB",
        "max_connections = 50",
        "random_page_cost = 1.1",
        "jit = off",
        "listen_addresses = '*'",
        "shared_preload_libraries = 'pg_stat_statements'",
        "",
      ].join("\n"),
      { owner: "postgres", group: "postgres" },
    ),
  });
  t.teardown(() => pg.stop());
  t.is(await pg.show("shared_buffers"), "256MB");
  t.is(await pg.show("work_mem"), "16MB");
  t.is(await pg.show("max_connections"), "50");
  t.is(await pg.show("random_page_cost"), "1.1");
  t.is(await pg.show("jit"), "off");
  t.is(await pg.show("shared_preload_libraries"), "pg_stat_statements");
  t.is(await pg.show("listen_addresses"), "127.0.0.1");
  t.is(await pg.show("port"), String(pg.port));
  t.is(await pg.show("ssl"), "on");
  // where each value comes from
  const src = await pg.query("SELECT name || '=' || sourcefile FROM pg_settings WHERE name IN ('shared_buffers','port') ORDER BY name");
  t.is(src.code, 0, src.stderr);
  t.deepEqual(src.stdout.trim().split("\n"), [`port=${pg.dataDir}/conf.d/zz-test-harness.conf`, `shared_buffers=${pg.dataDir}/conf.d/dhis2.conf`]);
  // the extension our config preloads really works (postgresql-contrib), and so does PostGIS
  const ext = await pg.query("CREATE EXTENSION pg_stat_statements; CREATE EXTENSION postgis; SELECT postgis_lib_version() IS NOT NULL");
  t.is(ext.code, 0, ext.stderr);
  t.regex(ext.stdout, /^t$/m);
  // TCP on 127.0.0.1 is up and initdb's host rule (scram-sha-256) is in force: postgres has no password
  const tcp = await pg.query("SELECT 1", { host: "127.0.0.1", sslmode: "require", user: "postgres" });
  t.not(tcp.code, 0);
  t.regex(tcp.stderr, /fe_sendauth: no password supplied/);
  const dir = pg.dataDir;
  await pg.stop();
  t.false(existsSync(dir), "stop() deletes the temp dir");
});

test.serial("postgres: an unknown parameter makes start fail with the server's error", async (t) => {
  const err = await t.throwsAsync(
    startThrowawayPostgres({ confD: file(PG_CONF_PATH, "shared_buffers = 256MB\nshard_buffers = 1GB\n") }),
    { instanceOf: PostgresStartError },
  );
  t.regex(err!.message, /unrecognized configuration parameter "shard_buffers" in file ".*\/conf\.d\/dhis2\.conf" line 2/);
  t.regex(err!.output, /contains errors/);
});

test.serial("postgres: an invalid value makes start fail", async (t) => {
  const err = await t.throwsAsync(startThrowawayPostgres({ confD: file(PG_CONF_PATH, "effective_cache_size = lots\n") }), {
    instanceOf: PostgresStartError,
  });
  t.regex(err!.message, /invalid value for parameter "effective_cache_size": "lots"/);
});

test.serial("postgres: a 32 GB host's shared_buffers = 8GB with huge_pages = try starts here", async (t) => {
  const pg = await startThrowawayPostgres({
    confD: file(PG_CONF_PATH, "shared_buffers = 8GB\nhuge_pages = try\neffective_cache_size = 24GB\nmaintenance_work_mem = 1GB\n"),
  });
  t.teardown(() => pg.stop());
  t.is(await pg.show("shared_buffers"), "8GB");
  t.is(await pg.show("huge_pages"), "try");
  t.is(await pg.show("effective_cache_size"), "24GB");
});

test.serial("postgres: rendered pg_hba.conf is loaded and enforced; password only via PGPASSWORD", async (t) => {
  const hba = [
    "local   all       postgres                 peer",
    "host    dhis2     dhis      127.0.0.1/32   scram-sha-256",
    "hostssl all       all       127.0.0.1/32   reject",
    "",
  ].join("\n");
  const cert = await makeTestCertificate(["localhost", "127.0.0.1"]);
  const pg = await startThrowawayPostgres({
    confD: file(PG_CONF_PATH, "password_encryption = scram-sha-256\n"),
    hba: file("/etc/postgresql/15/main/pg_hba.conf", hba, { mode: "0640", owner: "postgres", group: "postgres" }),
    sslCert: cert,
  });
  t.teardown(() => pg.stop());
  t.true(pg.hbaLoaded);
  t.deepEqual(await pg.hbaErrors(), []);
  const setup = await pg.query("CREATE ROLE dhis LOGIN PASSWORD 'test-only-secret'; CREATE DATABASE dhis2 OWNER dhis;");
  t.is(setup.code, 0, setup.stderr);
  const good = await pg.query("SELECT current_user || ' ' || (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid())", {
    user: "dhis", database: "dhis2", host: "127.0.0.1", password: "test-only-secret", sslmode: "require",
  });
  t.is(good.code, 0, good.stderr);
  t.is(good.stdout.trim(), "dhis true");
  const wrong = await pg.query("SELECT 1", { user: "dhis", database: "dhis2", host: "127.0.0.1", password: "nope", sslmode: "disable" });
  t.not(wrong.code, 0);
  t.regex(wrong.stderr, /password authentication failed for user "dhis"/);
  const otherDb = await pg.query("SELECT 1", { user: "dhis", database: "postgres", host: "127.0.0.1", password: "test-only-secret", sslmode: "require" });
  t.not(otherDb.code, 0);
  t.regex(otherDb.stderr, /rejects connection|no pg_hba\.conf entry/);
});

test.serial("postgres: bad pg_hba.conf lines show up in hbaErrors and are not loaded", async (t) => {
  const hba = ["local all postgres peer", "host all all 127.0.0.1/33 scram-sha-256", "hots all all 127.0.0.1/32 md5", ""].join("\n");
  const pg = await startThrowawayPostgres({ confD: file(PG_CONF_PATH, "work_mem = 8MB\n"), hba: file("/etc/postgresql/15/main/pg_hba.conf", hba) });
  t.teardown(() => pg.stop());
  const errors = await pg.hbaErrors();
  t.false(pg.hbaLoaded);
  t.is(errors.length, 2, errors.join("\n"));
  t.regex(errors[0], /^line 2: invalid CIDR mask in address "127\.0\.0\.1\/33"/);
  t.regex(errors[1], /^line 3: invalid connection type "hots"/);
});

// -------------------------------------------------------------------------------------------
// Tomcat
// -------------------------------------------------------------------------------------------

const SERVER_XML = `<?xml version="1.0" encoding="UTF-8"?>
<Server port="8005" shutdown="SHUTDOWN">
  <Listener className="org.apache.catalina.startup.VersionLoggerListener" />
  <Listener className="org.apache.catalina.core.JreMemoryLeakPreventionListener" />
  <Listener className="org.apache.catalina.mbeans.GlobalResourcesLifecycleListener" />
  <Listener className="org.apache.catalina.core.ThreadLocalLeakPreventionListener" />
  <Service name="Catalina">
    <Connector port="8080" address="127.0.0.1" protocol="HTTP/1.1"
               connectionTimeout="20000" maxThreads="200"
               relaxedQueryChars="[]|{}^&#x5c;&#x60;&quot;&lt;&gt;"
               proxyName="dhis2.example.org" proxyPort="443" scheme="https" secure="true" />
    <Engine name="Catalina" defaultHost="localhost">
      <Host name="localhost" appBase="webapps" unpackWARs="true" autoDeploy="false">
        <Valve className="org.apache.catalina.valves.RemoteIpValve" remoteIpHeader="X-Forwarded-For" protocolHeader="X-Forwarded-Proto" />
        <Valve className="org.apache.catalina.valves.AccessLogValve" directory="logs" prefix="access" suffix=".log" pattern="common" />
      </Host>
    </Engine>
  </Service>
</Server>
`;

test("tomcatConfigtest: a good server.xml passes", async (t) => {
  const r = await tomcatConfigtest(SERVER_XML);
  t.true(r.ok, r.output);
  t.is(r.code, 0);
  t.regex(r.output, /Initializing ProtocolHandler \["http-nio-127\.0\.0\.1-8080"\]/);
});

test("tomcatConfigtest: malformed XML fails", async (t) => {
  const r = await tomcatConfigtest(SERVER_XML.replace("</Engine>", "</Engin>"));
  t.false(r.ok, r.output);
  t.regex(r.output, /SEVERE/);
  t.regex(r.output, /must be terminated by the matching end-tag "<\/Engine>"/);
});

test("tomcatConfigtest: a misspelled attribute and an unknown class fail", async (t) => {
  const typo = await tomcatConfigtest(SERVER_XML.replace('maxThreads="200"', 'maxThred="200"'));
  t.false(typo.ok, typo.output);
  t.regex(typo.output, /failed to set property \[maxThred\] to \[200\]/);
  const cls = await tomcatConfigtest(SERVER_XML.replace("valves.RemoteIpValve", "valves.RemoteIPValve"));
  t.false(cls.ok, cls.output);
  t.regex(cls.output, /ClassNotFoundException: org\.apache\.catalina\.valves\.RemoteIPValve/);
});

test("tomcatConfigtest: a non-numeric port fails (SEVERE although catalina.sh exits 0)", async (t) => {
  const r = await tomcatConfigtest(SERVER_XML.replace('port="8080"', 'port="http"'));
  t.false(r.ok, r.output);
  t.regex(r.output, /SEVERE: Failed to initialize component/);
});

// -------------------------------------------------------------------------------------------
// cloud-init
// -------------------------------------------------------------------------------------------

const CLOUD_CONFIG = `#cloud-config
package_update: true
packages:
  - nginx
  - postgresql-15
users:
  - name: dhis
    shell: /bin/bash
    lock_passwd: true
write_files:
  - path: /etc/dhis2/dhis.conf
    permissions: "0600"
    owner: root:root
    content: |
      connection.dialect = org.hibernate.dialect.PostgreSQLDialect
runcmd:
  - [systemctl, restart, nginx]
`;

test("cloudInitSchema: good cloud-config passes", async (t) => {
  const r = await cloudInitSchema(CLOUD_CONFIG);
  t.true(r.ok, r.output);
  t.regex(r.output, /Valid cloud-config/);
  t.deepEqual(r.unknownKeys, []);
});

test("cloudInitSchema: wrong types and a misspelled write_files key fail", async (t) => {
  const r = await cloudInitSchema(CLOUD_CONFIG.replace("  - nginx\n  - postgresql-15\n", " nginx\n").replace("permissions:", "permisions:"));
  t.false(r.ok, r.output);
  t.regex(r.output, /packages: 'nginx' is not of type 'array'/);
  t.regex(r.output, /'permisions' was unexpected/);
});

test("cloudInitSchema: an unknown top-level key, invalid YAML and a missing header fail", async (t) => {
  const unknown = await cloudInitSchema(CLOUD_CONFIG.replace("packages:", "pakages:"));
  t.false(unknown.ok, unknown.output);
  t.deepEqual(unknown.unknownKeys, ["pakages"]);
  const yaml = await cloudInitSchema(CLOUD_CONFIG + "runcmd: [\n");
  t.false(yaml.ok, yaml.output);
  t.regex(yaml.output, /is not valid yaml/);
  const header = await cloudInitSchema(CLOUD_CONFIG.replace("#cloud-config\n", ""));
  t.false(header.ok, header.output);
  t.regex(header.output, /needs to begin with "#cloud-config"/);
});

// -------------------------------------------------------------------------------------------
// nftables
// -------------------------------------------------------------------------------------------

const NFT_RULES = `#!/usr/sbin/nft -f
flush ruleset
table inet filter {
  set munin_masters { type ipv4_addr; elements = { 192.0.2.10 } }
  chain input {
    type filter hook input priority 0; policy drop;
    ct state established,related accept
    ct state invalid drop
    iif "lo" accept
    ip protocol icmp accept
    tcp dport { 22, 80, 443 } accept
    ip saddr @munin_masters tcp dport 4949 accept
  }
  chain forward { type filter hook forward priority 0; policy drop; }
  chain output { type filter hook output priority 0; policy accept; }
}
`;

test.serial("nftCheck: a good ruleset passes and the host ruleset is untouched", async (t) => {
  const before = await run("nft", ["list", "ruleset"]);
  const r = await nftCheck(NFT_RULES);
  t.true(r.ok, r.output);
  const after = await run("nft", ["list", "ruleset"]);
  t.is(after.stdout, before.stdout);
});

test.serial("nftCheck: a syntax error and a jump to a missing chain fail", async (t) => {
  const syntax = await nftCheck(NFT_RULES.replace("tcp dport { 22", "tcp dprot { 22"));
  t.false(syntax.ok, syntax.output);
  t.regex(syntax.output, /syntax error/);
  const kernel = await nftCheck(NFT_RULES.replace("ct state invalid drop", "ct state invalid jump nosuchchain"));
  t.false(kernel.ok, kernel.output);
  t.regex(kernel.output, /Could not process rule: No such file or directory/);
});

// -------------------------------------------------------------------------------------------
// postfix
// -------------------------------------------------------------------------------------------

const MAIN_CF = `compatibility_level = 3.6
myhostname = dhis2.example.org
mydestination = localhost
inet_interfaces = loopback-only
inet_protocols = ipv4
relayhost = [smtp.example.org]:587
smtp_tls_security_level = encrypt
smtp_sasl_auth_enable = yes
smtp_sasl_password_maps = hash:/etc/postfix/sasl_passwd
smtp_sasl_security_options = noanonymous
smtpd_banner = $myhostname ESMTP
alias_maps =
`;

const MASTER_CF = `smtp      inet  n       -       y       -       -       smtpd
pickup    unix  n       -       y       60      1       pickup
cleanup   unix  n       -       y       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       y       1000?   1       tlsmgr
rewrite   unix  -       -       y       -       -       trivial-rewrite
bounce    unix  -       -       y       -       0       bounce
defer     unix  -       -       y       -       0       bounce
trace     unix  -       -       y       -       0       bounce
verify    unix  -       -       y       -       1       verify
flush     unix  n       -       y       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       y       -       -       smtp
relay     unix  -       -       y       -       -       smtp
  -o smtp_helo_timeout=5
showq     unix  n       -       y       -       -       showq
error     unix  -       -       y       -       -       error
retry     unix  -       -       y       -       -       error
local     unix  -       n       n       -       -       local
anvil     unix  -       -       y       -       1       anvil
scache    unix  -       -       y       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`;

function postfixFiles(main: string, master = MASTER_CF): RenderedFile[] {
  return [file("/etc/postfix/main.cf", main), file("/etc/postfix/master.cf", master)];
}

test("postfixCheck: a good main.cf/master.cf passes", async (t) => {
  const r = await postfixCheck(postfixFiles(MAIN_CF));
  t.true(r.ok, r.output);
  t.deepEqual(r.problems, []);
  t.regex(r.output, /smtp_tls_security_level = encrypt/);
});

test("postfixCheck: a misspelled parameter name fails (postconf: unused parameter)", async (t) => {
  const r = await postfixCheck(postfixFiles(MAIN_CF + "smtp_tls_securty_level = encrypt\n"));
  t.false(r.ok, r.output);
  t.regex(r.problems.join("\n"), /unused parameter: smtp_tls_securty_level=encrypt/);
});

test("postfixCheck: bad values fail: inet_protocols (postconf), TLS level and boolean (daemon start)", async (t) => {
  const [proto, level, bool] = await Promise.all([
    postfixCheck(postfixFiles(MAIN_CF.replace("inet_protocols = ipv4", "inet_protocols = ipv5"))),
    postfixCheck(postfixFiles(MAIN_CF.replace("smtp_tls_security_level = encrypt", "smtp_tls_security_level = encrpyt"))),
    postfixCheck(postfixFiles(MAIN_CF.replace("smtp_sasl_auth_enable = yes", "smtp_sasl_auth_enable = yess"))),
  ]);
  t.false(proto.ok, proto.output);
  t.regex(proto.problems.join("\n"), /unknown inet_protocols value "ipv5"/);
  t.false(level.ok, level.output);
  t.regex(level.problems.join("\n"), /postfix\/smtp\[\d+\]: fatal: Invalid TLS level "encrpyt"/);
  t.false(bool.ok, bool.output);
  t.regex(bool.problems.join("\n"), /fatal: bad boolean configuration: smtp_sasl_auth_enable = yess/);
});

test("postfixCheck: a bad master.cf fails", async (t) => {
  const [badType, badOverride] = await Promise.all([
    postfixCheck(postfixFiles(MAIN_CF, MASTER_CF.replace("pickup    unix", "pickup    unixx"))),
    postfixCheck(postfixFiles(MAIN_CF, MASTER_CF.replace("-o smtp_helo_timeout=5", "-o smtp_helo_timout=5"))),
  ]);
  t.false(badType.ok, badType.output);
  t.regex(badType.problems.join("\n"), /invalid type field "unixx"/);
  t.false(badOverride.ok, badOverride.output);
  t.regex(badOverride.problems.join("\n"), /master\.cf: unused parameter: smtp_helo_timout=5/);
});

// -------------------------------------------------------------------------------------------
// munin-node
// -------------------------------------------------------------------------------------------

const MUNIN_NODE_CONF = `log_level 4
log_file /var/log/munin/munin-node.log
pid_file /var/run/munin/munin-node.pid
background 1
setsid 1
user root
group root
ignore_file [\\#~]$
ignore_file DEADJOE$
ignore_file \\.bak$
ignore_file %$
ignore_file \\.dpkg-(tmp|new|old|dist)$
allow ^127\\.0\\.0\\.1$
allow ^::1$
host *
port 4949
`;

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port });
    s.on("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}

test.serial("muninNodeProbe: a good munin-node.conf lists the plugins, and the daemon is gone afterwards", async (t) => {
  const r = await muninNodeProbe(MUNIN_NODE_CONF);
  t.true(r.ok, r.output);
  for (const p of ["cpu", "load", "memory", "df"]) t.true(r.plugins.includes(p), `${p} in ${r.plugins.join(" ")}`);
  t.false(await portOpen(r.port), "munin-node was killed");
  t.false(existsSync("/var/log/munin/munin-node.log") && readFileSync("/var/log/munin/munin-node.log", "utf8").includes(`port ${r.port}`));
});

test.serial("muninNodeProbe: cidr_allow is honoured", async (t) => {
  const r = await muninNodeProbe(MUNIN_NODE_CONF.replace(/^allow .*\n/gm, "") + "cidr_allow 127.0.0.0/8\n");
  t.true(r.ok, r.output);
  t.true(r.plugins.includes("cpu"));
});

test.serial("muninNodeProbe: a config that does not allow the client is refused", async (t) => {
  const r = await muninNodeProbe(MUNIN_NODE_CONF.replace(/^allow .*\n/gm, "") + "allow ^192\\.0\\.2\\.10$\n");
  t.false(r.ok, r.output);
  t.deepEqual(r.plugins, []);
  t.regex(r.output, /connection closed before the banner/);
  t.false(await portOpen(r.port));
});

test.serial("muninNodeProbe: a broken config makes munin-node exit", async (t) => {
  const r = await muninNodeProbe(MUNIN_NODE_CONF.replace("user root", "user nosuchuser-xyz"));
  t.false(r.ok, r.output);
  t.regex(r.output, /munin-node exited \(code 1/);
  t.regex(r.output, /No such user "nosuchuser-xyz"/);
});

// -------------------------------------------------------------------------------------------
// systemd
// -------------------------------------------------------------------------------------------

const BACKUP_SERVICE = `[Unit]
Description=DHIS2 database backup
After=postgresql.service

[Service]
Type=oneshot
User=postgres
ExecStart=/usr/local/bin/dhis2-backup --all
Nice=10
`;

const BACKUP_TIMER = `[Unit]
Description=Nightly DHIS2 backup

[Timer]
OnCalendar=*-*-* 02:30:00
Persistent=true

[Install]
WantedBy=timers.target
`;

const BACKUP_SCRIPT = file("/usr/local/bin/dhis2-backup", "#!/bin/sh\nexit 0\n", { mode: "0755" });

test("systemdVerify: a good service (with its rendered script) and timer pass", async (t) => {
  const svc = await systemdVerify("dhis2-backup.service", BACKUP_SERVICE, { files: [BACKUP_SCRIPT] });
  t.true(svc.ok, svc.output);
  const timer = await systemdVerify("dhis2-backup.timer", BACKUP_TIMER, { extraUnits: { "dhis2-backup.service": BACKUP_SERVICE }, files: [BACKUP_SCRIPT] });
  t.true(timer.ok, timer.output);
  t.false(existsSync("/usr/local/bin/dhis2-backup"));
});

test("systemdVerify: misspelled key, bad value, missing binary and bad calendar fail", async (t) => {
  const key = await systemdVerify("dhis2-backup.service", BACKUP_SERVICE.replace("Nice=10", "Nise=10"), { files: [BACKUP_SCRIPT] });
  t.false(key.ok, key.output);
  t.regex(key.output, /Unknown key 'Nise' in section \[Service\]/);
  const type = await systemdVerify("dhis2-backup.service", BACKUP_SERVICE.replace("Type=oneshot", "Type=oneshoot"), { files: [BACKUP_SCRIPT] });
  t.false(type.ok, type.output);
  t.regex(type.output, /Failed to parse service type, ignoring: oneshoot/);
  const missing = await systemdVerify("dhis2-backup.service", BACKUP_SERVICE);
  t.false(missing.ok, missing.output);
  t.regex(missing.output, /Command \/usr\/local\/bin\/dhis2-backup is not executable: No such file or directory/);
  const cal = await systemdVerify("dhis2-backup.timer", BACKUP_TIMER.replace("*-*-* 02:30:00", "nightly at 2"), {
    extraUnits: { "dhis2-backup.service": BACKUP_SERVICE },
    files: [BACKUP_SCRIPT],
  });
  t.false(cal.ok, cal.output);
  t.regex(cal.output, /Failed to parse calendar specification/);
});
