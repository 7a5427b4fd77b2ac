/** Real-program check harness (see ./index.ts): nft -c. */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import type { RenderedFile } from "../../../lib/render/file";
import { withHostFiles } from "./hostfiles";
import { CheckResult, joinOutput, run } from "./run";
import { makeTempDir, removeTempDir } from "./temp";

// ---------------------------------------------------------------------------------------------
// nftables
// ---------------------------------------------------------------------------------------------

/**
 * `nft -c -f <file>` in a fresh network namespace: the kernel checks the whole ruleset as on
 * a freshly booted host (nothing is applied, and the host's ruleset neither helps nor hurts).
 * `files` are placed with withHostFiles for `include` statements.
 */
export async function nftCheck(rules: string, opts: { files?: RenderedFile[] } = {}): Promise<CheckResult> {
  const dir = await makeTempDir("nft");
  try {
    const file = path.join(dir, "rules.nft");
    await fsp.writeFile(file, rules, { mode: 0o600 });
    const r = await withHostFiles(opts.files ?? [], ["nft", "-c", "-f", file], { network: "private", timeoutMs: 60_000 });
    return { ok: r.code === 0, output: joinOutput(r.stdout, r.stderr, ...r.notes.map((n) => `[harness] ${n}`)) };
  } finally {
    await removeTempDir(dir);
  }
}

/**
 * Fixed text. Two network namespaces joined by a veth pair: the server loads `rules` and listens
 * on PORT; the client opens ATTEMPTS new TCP connections one after the other (0.3 s each at most: a dropped SYN is not retried, so the refill while waiting stays small)
 * and prints how many were accepted. The namespaces are deleted on exit.
 */
const RATE_SCRIPT = `set -eu
srv=$1; cli=$2; rules=$3; srv_addr=$4; cli_addr=$5; port=$6; attempts=$7
cleanup() { ip netns del "$srv" 2>/dev/null || true; ip netns del "$cli" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$srv"; ip netns add "$cli"
ip link add "$srv" type veth peer name "$cli"
ip link set "$srv" netns "$srv"; ip link set "$cli" netns "$cli"
ip -n "$srv" addr add "$srv_addr/24" dev "$srv"; ip -n "$cli" addr add "$cli_addr/24" dev "$cli"
ip -n "$srv" link set "$srv" up; ip -n "$cli" link set "$cli" up
ip -n "$srv" link set lo up; ip -n "$cli" link set lo up
ip netns exec "$srv" nft -f "$rules"
ip netns exec "$srv" nc.openbsd -lk "$srv_addr" "$port" >/dev/null 2>&1 </dev/null &
listener=$!
trap 'kill "$listener" 2>/dev/null || true; cleanup' EXIT
# the first attempt only once the listener listens (a fixed pause lost one connection, refused, on
# a busy machine): up to 10 s
i=0
until ip netns exec "$srv" ss -Hltn "sport = :$port" | grep -q .; do
  i=$((i+1)); [ "$i" -lt 200 ] || { echo "the listener did not start" >&2; exit 1; }
  sleep 0.05
done
# the client's loop runs inside its namespace (one ip netns exec), so the attempts follow each
# other quickly. A dropped SYN is never answered: nc gives up after 1 s (-w 1), so each drop lets
# the limit refill a little; an answered one counts however slow this machine is (no shorter
# timeout that a busy machine would turn into a "drop")
ip netns exec "$cli" sh -c '
  ok=0; i=0
  while [ "$i" -lt "$3" ]; do
    i=$((i+1))
    if timeout 5 nc.openbsd -z -w 1 "$1" "$2" 2>/dev/null; then ok=$((ok+1)); fi
  done
  echo "accepted $ok of $3"' client "$srv_addr" "$port" "$attempts"
`;

/**
 * Loads `rules` (a whole nftables file) in a fresh network namespace with address `serverAddr`,
 * and counts how many of `attempts` new TCP connections to `port` from `clientAddr` (same /24,
 * another namespace) are accepted: real traffic through the real kernel ruleset.
 */
export async function nftConnectionCount(rules: string, opts: { serverAddr: string; clientAddr: string; port: number; attempts: number }): Promise<{ accepted: number; output: string }> {
  const dir = await makeTempDir("nftrate");
  const id = Math.random().toString(16).slice(2, 8);
  try {
    const file = path.join(dir, "rules.nft");
    await fsp.writeFile(file, rules, { mode: 0o600 });
    const r = await run("sh", ["-c", RATE_SCRIPT, "nft-rate", `d2s${id}`, `d2c${id}`, file, opts.serverAddr, opts.clientAddr, String(opts.port), String(opts.attempts)], { timeoutMs: 300_000 });
    const m = /accepted (\d+) of/.exec(r.stdout);
    if (r.code !== 0 || !m) throw new Error(`nft rate check failed (exit ${r.code}):\n${joinOutput(r.stdout, r.stderr)}`);
    return { accepted: Number(m[1]), output: joinOutput(r.stdout, r.stderr) };
  } finally {
    await removeTempDir(dir);
  }
}
