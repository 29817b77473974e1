#!/usr/bin/env bash
# Translation speed, Glossa against CTranslate2 on the same Marian directory, as whole processes (load, tokenize,
# translate, write), alternating runs, median of N: wall, CPU user/sys, peak RSS, generated tokens/s and the ratio
# (CTranslate2 wall / Glossa wall: above 1 means Glossa is faster). Greedy and beam 4, fp32 and int8.
#
#   bench/compare-ctranslate2.sh [MODEL_DIR] [--input FILE] [--threads N] [--batch-size N] [--repeats N]
#
# Needs ctranslate2, transformers and torch (the converter only) and sentencepiece in PYTHON (default python3).
# CTranslate2 runs with its fastest backend on this machine: MKL's packed SGEMM for float32 (CT2_USE_MKL=1: its
# default on AMD CPUs, oneDNN, was 4x slower here) and its default oneDNN for int8 (MKL's int8 was slower). Beam
# runs stop a sentence once it has 4 finished hypotheses on both sides (CTranslate2's rule; Glossa's
# --early-stopping true), so both do the same search.
# The converted model goes to $CT2_DIR (default /tmp/glossa-ct2/<name>). Glossa int8 rows print "n/a" until
# `glossa translate --compute-type int8` exists.
set -euo pipefail
cd "$(dirname "$0")/.."

MODEL=models/en-de INPUT=corpora/en-de.test.en THREADS=2 BATCH=32 REPEATS=3
while [ $# -gt 0 ]; do
    case "$1" in
        --input) INPUT="$2"; shift 2 ;;
        --threads) THREADS="$2"; shift 2 ;;
        --batch-size) BATCH="$2"; shift 2 ;;
        --repeats) REPEATS="$2"; shift 2 ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) MODEL="$1"; shift ;;
    esac
done
PYTHON="${PYTHON:-python3}"
GLOSSA="${GLOSSA:-.build/release/glossa}"
[ -x "$GLOSSA" ] || swift build -c release --product glossa >&2
CT2_DIR="${CT2_DIR:-/tmp/glossa-ct2/$(basename "$MODEL")}"
if [ ! -f "$CT2_DIR/model.bin" ]; then
    echo "converting $MODEL with ct2-transformers-converter into $CT2_DIR" >&2
    ct2-transformers-converter --model "$MODEL" --output_dir "$CT2_DIR" --force >&2 2>/dev/null
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One timed run: prints "wall user sys rss_kb" and leaves the translation in $work/$1.out.
timed() {
    local name=$1; shift
    /usr/bin/time -f "%e %U %S %M" -o "$work/$name.time" "$@" < "$INPUT" > "$work/$name.out"
    cat "$work/$name.time"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf '%-34s %8s %8s %7s %8s %9s %9s %7s\n' "run" "wall s" "user s" "sys s" "RSS MB" "tokens/s" "sys/cpu" "ratio"
for beam in 1 4; do
    for compute in float32 int8; do
        ct2=(); ours=()
        for i in $(seq "$REPEATS"); do
            mkl=0; [ "$compute" = float32 ] && mkl=1
            ct2+=("$(CT2_USE_MKL=$mkl timed ct2 "$PYTHON" bench/ct2_translate.py "$CT2_DIR" "$MODEL" --beam "$beam" --batch-size "$BATCH" \
                --threads "$THREADS" --compute-type "$compute")")
            if [ "$compute" = float32 ]; then
                ours+=("$(timed glossa "$GLOSSA" translate --model "$MODEL" --beam-size "$beam" --early-stopping true --batch-size "$BATCH" --threads "$THREADS")")
            elif "$GLOSSA" translate --help 2>/dev/null | grep -q -- --compute-type; then
                ours+=("$(timed glossa "$GLOSSA" translate --model "$MODEL" --beam-size "$beam" --early-stopping true --batch-size "$BATCH" --threads "$THREADS" \
                    --compute-type "$compute")")
            fi
        done
        tokens_ct2=$("$PYTHON" -c "import sentencepiece as s,sys; p=s.SentencePieceProcessor(model_file='$MODEL/target.spm'); print(sum(len(p.encode(l))+1 for l in open('$work/ct2.out')))")
        report() {  # name, token count, rows...
            local name=$1 tokens=$2; shift 2
            local wall user sys rss
            wall=$(printf '%s\n' "$@" | awk '{print $1}' | median)
            user=$(printf '%s\n' "$@" | awk '{print $2}' | median)
            sys=$(printf '%s\n' "$@" | awk '{print $3}' | median)
            rss=$(printf '%s\n' "$@" | awk '{print $4}' | median)
            printf '%-34s %8.2f %8.2f %7.2f %8.0f %9.0f %8.1f%%' "$name" "$wall" "$user" "$sys" "$((rss / 1024))" \
                "$(echo "$tokens / $wall" | bc -l)" "$(echo "100 * $sys / ($user + $sys)" | bc -l)"
            echo "$wall"  > "$work/$name.wall"
        }
        report "ctranslate2 $compute beam $beam" "$tokens_ct2" "${ct2[@]}"; echo
        if [ ${#ours[@]} -gt 0 ]; then
            tokens_ours=$("$PYTHON" -c "import sentencepiece as s; p=s.SentencePieceProcessor(model_file='$MODEL/target.spm'); print(sum(len(p.encode(l))+1 for l in open('$work/glossa.out')))")
            report "glossa $compute beam $beam" "$tokens_ours" "${ours[@]}"
            printf ' %6.2f\n' "$(echo "$(cat "$work/ctranslate2 $compute beam $beam.wall") / $(cat "$work/glossa $compute beam $beam.wall")" | bc -l)"
            same=$(paste -d '\t' "$work/ct2.out" "$work/glossa.out" | awk -F '\t' '$1 == $2' | wc -l)
            echo "    identical lines: $same of $(wc -l < "$work/glossa.out")"
        else
            printf '%-34s %8s\n' "glossa $compute beam $beam" "n/a"
        fi
    done
done
