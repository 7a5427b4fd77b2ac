/**
 * TLS judged by an outside tool: the rendered proxy configuration served by a real nginx (on
 * 127.0.0.1 in a private network namespace) and examined by testssl.sh (Debian package
 * testssl.sh, installed by tools/install-check-tools.sh). Slow (testssl.sh runs hundreds of
 * handshakes: minutes on a busy machine).
 */
import test from "ava";
import type { RenderedFile } from "../lib/render/file";
import { renderDeployment } from "../lib/render/hosts";
import { certificatePaths } from "../lib/render/paths";
import { placeholderSecrets } from "../lib/render/secrets";
import { makeTestCaCertificate, testsslAgainstNginx } from "./support/realtools";
import { cloudStack, load } from "./support/stacks";
import { judgeTls } from "./support/tls-verdict";

/** The proxy's /etc/nginx files of a cloud stack (no PROXY protocol in front) and a certificate for its domain. */
async function proxyFiles(): Promise<{ files: RenderedFile[]; hostname: string; caPem: string }> {
  const plan = load(cloudStack({ isolation: "vm", cpus: 8, memoryGb: 16, instances: 2 })).plan;
  const proxy = renderDeployment(plan, { secrets: placeholderSecrets(plan) }).find((h) => h.role === "proxy")!;
  const hostname = plan.config.domain;
  const cert = await makeTestCaCertificate([hostname]);
  const p = certificatePaths(hostname);
  const files: RenderedFile[] = [
    ...proxy.files.filter((f) => f.path.startsWith("/etc/nginx/")),
    { path: p.certificate, content: cert.certPem, mode: "0644", owner: "root", group: "root" },
    { path: p.key, content: cert.keyPem, mode: "0600", owner: "root", group: "root" },
  ];
  return { files, hostname, caPem: cert.caPem };
}

test("testssl.sh: the rendered proxy offers TLS 1.2/1.3 only, strong suites with forward secrecy, HSTS, and no HIGH or CRITICAL finding", async (t) => {
  t.timeout(20 * 60_000);
  const { files, hostname, caPem } = await proxyFiles();
  const r = await testsslAgainstNginx(files, { hostname, caPem });
  const verdict = judgeTls(r.findings);
  for (const line of verdict.summary) t.log(line);
  t.deepEqual(verdict.problems, [], r.output);
  t.true(verdict.ok);
  // the certificate was trusted (the test CA), so no finding comes from a self-signed test certificate
  t.is(r.findings.find((f) => f.id === "cert_chain_of_trust")?.severity, "OK", r.output);
});

test("testssl.sh: the same judge fails a proxy that offers TLS 1.0/1.1, CBC suites and no HSTS (the check can fail)", async (t) => {
  t.timeout(20 * 60_000);
  const { files, hostname, caPem } = await proxyFiles();
  const weakened = files.map((f) => f.path === "/etc/nginx/nginx.conf"
    ? { ...f, content: f.content.replace(/ssl_protocols [^;]+;/, "ssl_protocols TLSv1 TLSv1.1 TLSv1.2;").replace(/ssl_ciphers [^;]+;/, "ssl_ciphers ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES128-GCM-SHA256:@SECLEVEL=0;") }
    : { ...f, content: f.content.replace(/^\s*add_header Strict-Transport-Security .*$/m, "") });
  const r = await testsslAgainstNginx(weakened, { hostname, caPem, checks: ["--protocols", "--standard", "--headers"] });
  const verdict = judgeTls(r.findings);
  for (const line of verdict.summary) t.log(line);
  t.false(verdict.ok);
  const problems = verdict.problems.join("\n");
  t.regex(problems, /^TLS1: offered/m, problems);
  t.regex(problems, /^TLS1_1: offered/m, problems);
  t.regex(problems, /^cipherlist_AVERAGE: offered/m, problems);
  t.regex(problems, /^HSTS: /m, problems);
});
