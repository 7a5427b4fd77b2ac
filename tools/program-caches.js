// Loaded by node before the Pulumi program (Pulumi.yaml, runtime.options.nodeargs). Two caches
// of the program's code, both in the project's .cache/ (git-ignored, readable only by its owner)
// rather than in a shared /tmp directory whose name another user of the machine could take first:
// - V8's compiled code of every module the program loads (typescript, @pulumi/pulumi, the
//   program), reused while the module's text is unchanged (v8-compile-cache keys each entry by
//   file and SHA-1 of its content), instead of compiled again on every preview and up (0.4 s);
// - ts-node's transpiled program files (TS_NODE_CACHE_DIRECTORY; ts-node keys them by content).
const fs = require("node:fs");
const path = require("node:path");

const root = path.join(__dirname, "..", ".cache");
try {
  for (const name of ["v8-compile-cache", "ts-node"]) fs.mkdirSync(path.join(root, name), { recursive: true, mode: 0o700 });
  process.env.TS_NODE_CACHE_DIRECTORY = path.join(root, "ts-node");
  process.env.V8_COMPILE_CACHE_CACHE_DIR = path.join(root, "v8-compile-cache");
  require("v8-compile-cache");
} catch {
  // a read-only checkout: the program runs without these caches, only slower
}
