/**
 * The proxy's analytics rate limit, served by a real nginx on loopback: the rendered
 * limit_req_zone and the rendered analytics location (its upstream pointed at a second server
 * block that answers 200), then a burst of 40 parallel analytics requests from one address, as
 * one dashboard sends them.
 */
import test from "ava";
import * as http from "node:http";
import type { Plan } from "../lib/plan";
import { renderDeployment } from "../lib/render/hosts";
import { placeholderSecrets } from "../lib/render/secrets";
import { serveNginx } from "./support/realtools";
import { cloudStack, load } from "./support/stacks";

function analyticsConfig(plan: Plan): string {
  const proxy = renderDeployment(plan, { secrets: placeholderSecrets(plan) }).find((h) => h.role === "proxy")!;
  const main = proxy.files.find((f) => f.path.endsWith("/00-proxy.conf"))!.content;
  const site = proxy.files.find((f) => f.path.endsWith(`/${plan.config.domain}.conf`))!.content;
  const zone = /^limit_req_zone .*;$/m.exec(main)![0];
  const status = /^limit_req_status .*;$/m.exec(main)![0];
  const location = /^ {4}location ~ \^\/api\/\(\\d\+\/\)\?analytics \{\n[\s\S]*?\n {4}\}$/m.exec(site)![0];
  return [
    zone, status,
    "upstream dhis2_production { server 127.0.0.1:{{port1}}; }",
    'server { listen 127.0.0.1:{{port1}}; location / { return 200 "ok\\n"; } }',
    "server {", "    listen 127.0.0.1:{{port0}};", location, "}",
  ].join("\n");
}

function burst(port: number, n: number): Promise<number[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => new Promise<number>((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path: `/api/41/analytics?dimension=dx:item${i}`, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
  })));
}

const stack = (proxy?: Record<string, number>) => load({ ...cloudStack({ isolation: "vm", cpus: 4, memoryGb: 8 }), ...(proxy ? { proxy } : {}) }).plan;

test.serial("40 parallel analytics requests from one address (one dashboard) all pass with the default limit", async (t) => {
  const config = analyticsConfig(stack());
  t.regex(config, /rate=20r\/s/);
  t.regex(config, /burst=100 nodelay/);
  const nginx = await serveNginx(config, 2);
  t.teardown(() => nginx.stop());
  const codes = await burst(nginx.ports[0]!, 40);
  t.deepEqual(codes.filter((c) => c !== 200), [], `${await nginx.errorLog()}`);
});

test.serial("the limit still works: the former 5 r/s with bursts of 20 refuses part of the same burst with 429, and so does a stack's own lower burst", async (t) => {
  for (const proxy of [{ analyticsRatePerSecond: 5, analyticsBurst: 20 }, { analyticsBurst: 10 }] as Record<string, number>[]) {
    const nginx = await serveNginx(analyticsConfig(stack(proxy)), 2);
    try {
      const codes = await burst(nginx.ports[0]!, 40);
      const refused = codes.filter((c) => c === 429).length;
      t.true(refused >= 40 - 1 - proxy.analyticsBurst! - 2, `${JSON.stringify(proxy)}: ${refused} refused`);
      t.is(codes.filter((c) => c !== 200 && c !== 429).length, 0);
      t.log(`${JSON.stringify(proxy)}: ${codes.filter((c) => c === 200).length} passed, ${refused} refused with 429`);
    } finally {
      await nginx.stop();
    }
  }
});
