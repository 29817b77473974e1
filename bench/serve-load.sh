#!/usr/bin/env bash
# Load test of `glossa serve`: N concurrent clients each POST one test-set sentence per request to /translate for a
# fixed time; prints requests/s, sentences/s, p50/p95/p99 latency and errors, checks every answer against
# `glossa translate` for that line, and compares with offline `glossa translate --batch-size 32` on the same lines.
# Also reports the server's RSS at start and end, and that SIGTERM ends it with status 0.
# Usage: bench/serve-load.sh [MODEL_DIR] [CLIENTS] [SECONDS] [LINES]
#   defaults: models/en-de, 64 clients, 60 s, the first 500 lines of corpora/en-de.test.en
# Environment: GLOSSA (the binary, default .build/release/glossa), SERVE_FLAGS (extra `glossa serve` flags).
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-models/en-de}
clients=${2:-64}
seconds=${3:-60}
lines=${4:-500}
glossa=${GLOSSA:-.build/release/glossa}
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

head -n "$lines" corpora/en-de.test.en > "$work/input.txt"
# The reference, and the offline figure: the whole set through the CLI's own batching, in sentences/s.
# Also its CPU milliseconds per sentence (user + system), which other work on the machine moves far less than wall time.
offline() {
    local start end
    start=$(date +%s.%N)
    /usr/bin/time -f "%U %S" -o "$work/offline-cpu" "$glossa" translate --model "$model" --batch-size 32 < "$work/input.txt" > "$work/reference.txt"
    end=$(date +%s.%N)
    python3 -c "print(f'{$lines / ($end - $start):.1f}')"
}
offline_cpu() { awk -v n="$lines" '{printf "%.1f", ($1 + $2) * 1000 / n}' "$work/offline-cpu"; }
offline_before=$(offline)
offline_cpu_before=$(offline_cpu)

: > "$work/serve.log"
"$glossa" serve --model "translate=$model" --port 0 ${SERVE_FLAGS:-} 2> "$work/serve.log" &
server=$!
for _ in $(seq 1 200); do
    grep -q "listening on" "$work/serve.log" && break
    sleep 0.05
done
port=$(sed -n 's/.*listening on http:\/\/[^:]*:\([0-9]*\).*/\1/p' "$work/serve.log" | head -n 1)
[ -n "$port" ] || { cat "$work/serve.log"; echo "the server did not start" >&2; exit 1; }
rss() { awk '/VmRSS/ {print $2 " kB"}' "/proc/$server/status"; }
rss_start=$(rss)
# The server's CPU seconds (user + system) so far, from /proc.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$server/stat"; }
cpu_start=$(cpu)
# RSS every 5 s while the load runs, to tell a plateau from growth.
( while kill -0 "$server" 2>/dev/null; do awk '/VmRSS/ {print $2}' "/proc/$server/status" 2>/dev/null; sleep 5; done ) > "$work/rss.txt" &
sampler=$!

status=0
python3 - "$port" "$clients" "$seconds" "$work/input.txt" "$work/reference.txt" <<'PY' > "$work/report.txt" || status=$?
import asyncio, json, random, sys, time

port, clients, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
inputs = open(sys.argv[4], encoding="utf-8").read().split("\n")[:-1]
expected = open(sys.argv[5], encoding="utf-8").read().split("\n")[:-1]
assert len(inputs) == len(expected), (len(inputs), len(expected))
latencies, errors, wrong, failures = [], 0, 0, {}

async def request(reader, writer, line):
    body = json.dumps({"q": line, "source": "en", "target": "de"}).encode()
    writer.write(b"POST /translate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    headers = {k.strip().lower(): v.strip() for k, v in (h.split(b":", 1) for h in head.split(b"\r\n")[1:] if b":" in h)}
    payload = await reader.readexactly(int(headers.get(b"content-length", b"0")))
    return status, payload, headers.get(b"connection", b"").lower() == b"close"

async def client(seed, deadline):
    global errors, wrong
    rng = random.Random(seed)
    reader = writer = None
    while time.monotonic() < deadline:
        index = rng.randrange(len(inputs))
        began = time.monotonic()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            status, payload, close = await request(reader, writer, inputs[index])
        except (OSError, asyncio.IncompleteReadError) as error:
            errors += 1
            failures[type(error).__name__] = failures.get(type(error).__name__, 0) + 1
            writer = None
            continue
        latencies.append(time.monotonic() - began)
        if status != 200:
            errors += 1
            failures[status] = failures.get(status, 0) + 1
        elif json.loads(payload)["translatedText"] != expected[index]:
            wrong += 1
        if close:
            writer.close()
            writer = None

async def main():
    deadline = time.monotonic() + seconds
    began = time.monotonic()
    await asyncio.gather(*(client(seed, deadline) for seed in range(clients)))
    return time.monotonic() - began

elapsed = asyncio.run(main())
latencies.sort()
def percentile(p):
    return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000 if latencies else float("nan")
rate = len(latencies) / elapsed
print(f"clients {clients}, {elapsed:.1f} s, {len(latencies)} requests")
print(f"requests/s {rate:.1f}   sentences/s {rate:.1f}")
mean = sum(latencies) / len(latencies) * 1000 if latencies else float("nan")
print(f"latency ms  p50 {percentile(50):.1f}   p95 {percentile(95):.1f}   p99 {percentile(99):.1f}   mean {mean:.1f}")
print(f"errors {errors} {failures if failures else ''}  wrong answers {wrong}")
sys.exit(1 if errors or wrong else 0)
PY
rss_end=$(rss)
kill "$sampler" 2>/dev/null || true
cpu_end=$(cpu)
kill -TERM "$server"
wait "$server" && stopped="exited 0 on SIGTERM" || stopped="exited with status $? on SIGTERM"
# Measured again after the load, as other work on the machine moves both figures.
offline_after=$(offline)
offline_cpu_after=$(offline_cpu)
cat "$work/report.txt"
served=$(sed -n 's/^requests\/s \([0-9.]*\).*/\1/p' "$work/report.txt")
python3 -c "b, a, s = $offline_before, $offline_after, ${served:-0}; print(f'offline glossa translate --batch-size 32: {b} sentences/s before, {a} after; served/offline {s / max(b, a):.2f} to {s / min(b, a):.2f}')"
requests=$(sed -n 's/^clients .* \([0-9]*\) requests$/\1/p' "$work/report.txt")
python3 -c "print(f'CPU ms per sentence: server {($cpu_end - $cpu_start) * 1000 / max(1, ${requests:-0}):.1f}, offline $offline_cpu_before before, $offline_cpu_after after')"
echo "server RSS: start $rss_start, end $rss_end; server $stopped"
python3 - "$work/rss.txt" <<'PY'
import sys
mb = [int(line) / 1024 for line in open(sys.argv[1]) if line.strip()]
if len(mb) >= 4:
    q = len(mb) // 4
    print(f"server RSS over the load, every 5 s: first quarter max {max(mb[:q]):.0f} MB, last quarter max {max(mb[-q:]):.0f} MB, "
          f"overall max {max(mb):.0f} MB ({len(mb)} samples)")
PY
exit $status
