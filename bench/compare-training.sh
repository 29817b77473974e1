#!/usr/bin/env bash
# Training throughput (target tokens/s), Glossa against PyTorch MarianMTModel on the reference configuration
# of shared/ANCHORS.md, run one after the other on the same machine for the same minutes.
# Usage: bench/compare-training.sh [MINUTES] [PYTHON]   (PYTHON needs torch + transformers)
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-3}
python=${2:-python3}
glossa=${GLOSSA:-.build/release/glossa}
spm=models/en-de/source.spm
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Peak resident memory of each whole process from GNU time (-f %M, KiB), when it is installed.
timed() { if [ -x /usr/bin/time ]; then /usr/bin/time -f "%M" -o "$1" "${@:2}"; else echo 0 > "$1"; "${@:2}"; fi; }
timed "$out/glossa.rss" "$glossa" train --recipe recipes/en-de-transformer.json --minutes "$minutes" --output "$out/glossa" 2> "$out/glossa.log"
theirs=$(timed "$out/torch.rss" "$python" bench/torch_marian.py --spm "$spm" --minutes "$minutes" --json 2>/dev/null)
"$python" - "$out/glossa/training.json" "$theirs" "$(tail -1 "$out/glossa.rss")" "$(tail -1 "$out/torch.rss")" <<'PY'
import json, sys
log = json.load(open(sys.argv[1]))["history"][-1]
ours = log["tokens"] / (log["minutes"] * 60)
theirs = json.loads(sys.argv[2])
t = theirs["overall_tgt_tokens_per_s"]
print(f"glossa:  {ours:.0f} target tokens/s ({log['step']} steps in {log['minutes']:.1f} min)")
print(f"pytorch: {t:.0f} target tokens/s ({json.dumps({k: v for k, v in theirs.items() if 'tokens' in k})})")
print(f"ratio: {ours / t:.2f}")
ours_kib, theirs_kib = int(sys.argv[3] or 0), int(sys.argv[4] or 0)
if ours_kib and theirs_kib:
    print(f"peak memory: glossa {ours_kib / 1024:.0f} MiB, pytorch {theirs_kib / 1024:.0f} MiB (ratio {ours_kib / theirs_kib:.2f})")
PY
