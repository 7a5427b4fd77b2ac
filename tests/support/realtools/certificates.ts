/** Real-program check harness (see ./index.ts): test certificates. */
import { X509Certificate } from "node:crypto";
import { promises as fsp } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { joinOutput, run } from "./run";
import { makeTempDir, removeTempDir } from "./temp";

// ---------------------------------------------------------------------------------------------
// certificates
// ---------------------------------------------------------------------------------------------

export interface TestCertificate {
  certPem: string;
  keyPem: string;
}

/**
 * A self-signed certificate (EC P-256, 3 days, one SAN per name; IP addresses as IP SANs)
 * made with `openssl req -x509`. For tests only.
 */
export async function makeTestCertificate(hostnames: string[]): Promise<TestCertificate> {
  if (hostnames.length === 0) throw new Error("makeTestCertificate: no hostnames");
  const sans = hostnames.map((h) => {
    if (net.isIP(h)) return `IP:${h}`;
    if (!/^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(h)) {
      throw new Error(`makeTestCertificate: not a hostname: ${JSON.stringify(h)}`);
    }
    return `DNS:${h}`;
  });
  const dir = await makeTempDir("cert");
  try {
    const key = path.join(dir, "key.pem");
    const crt = path.join(dir, "cert.pem");
    const r = await run("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-keyout", key, "-out", crt, "-days", "3",
      "-subj", `/CN=${hostnames[0]}`,
      "-addext", `subjectAltName=${sans.join(",")}`,
      "-addext", "basicConstraints=critical,CA:FALSE",
      "-addext", "keyUsage=critical,digitalSignature,keyEncipherment",
      "-addext", "extendedKeyUsage=serverAuth",
    ]);
    if (r.code !== 0) throw new Error(`openssl req failed:\n${joinOutput(r.stdout, r.stderr)}`);
    return { certPem: await fsp.readFile(crt, "utf8"), keyPem: await fsp.readFile(key, "utf8") };
  } finally {
    await removeTempDir(dir);
  }
}

export interface TestCaCertificate extends TestCertificate {
  /** The test CA's certificate (give it to the client as an extra trust anchor). */
  caPem: string;
}

/**
 * A server certificate signed by a throwaway test CA (EC P-256, 90 days like Let's Encrypt, SANs as in
 * makeTestCertificate, a CRL distribution point under example.invalid), so that a judge such as
 * testssl.sh can be told to trust the CA and then has no certificate findings that only come
 * from the test certificate being self-signed. For tests only.
 */
export async function makeTestCaCertificate(hostnames: string[]): Promise<TestCaCertificate> {
  const leaf = await makeTestCertificate(hostnames); // validates the names; its key is reused
  const dir = await makeTempDir("ca");
  try {
    const f = (n: string) => path.join(dir, n);
    await fsp.writeFile(f("leaf-key.pem"), leaf.keyPem, { mode: 0o600 });
    const x509 = new X509Certificate(leaf.certPem);
    await fsp.writeFile(f("ext.cnf"), [
      `subjectAltName=${x509.subjectAltName!.replace(/IP Address:/g, "IP:")}`,
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature",
      "extendedKeyUsage=serverAuth",
      "crlDistributionPoints=URI:http://crl.example.invalid/test-ca.crl",
      "authorityKeyIdentifier=keyid",
      "",
    ].join("\n"));
    const steps: string[][] = [
      ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", f("ca-key.pem"), "-out", f("ca.pem"),
        "-days", "90", "-subj", "/CN=DHIS2 toolkit test CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
      ["req", "-new", "-key", f("leaf-key.pem"), "-subj", `/CN=${hostnames[0]}`, "-out", f("leaf.csr")],
      ["x509", "-req", "-in", f("leaf.csr"), "-CA", f("ca.pem"), "-CAkey", f("ca-key.pem"), "-CAcreateserial", "-days", "90",
        "-extfile", f("ext.cnf"), "-out", f("leaf.pem")],
    ];
    for (const args of steps) {
      const r = await run("openssl", args);
      if (r.code !== 0) throw new Error(`openssl ${args[0]} failed:\n${joinOutput(r.stdout, r.stderr)}`);
    }
    return { certPem: await fsp.readFile(f("leaf.pem"), "utf8"), keyPem: leaf.keyPem, caPem: await fsp.readFile(f("ca.pem"), "utf8") };
  } finally {
    await removeTempDir(dir);
  }
}
