/** Real-program check harness (see ./index.ts): test certificates. */
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
