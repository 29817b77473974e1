#!/bin/sh
# Tagging speed of the models compare-taggers.sh trained, measured round-robin (ROUNDS rounds, default 5, one
# thread) so that a busy neighbour slows every model alike; each model's best round goes in ROOT/RUN.seedS.bench.txt.
set -eu
glossa="${GLOSSA:-$(swift build -c release -Xswiftc -enable-testing --show-bin-path)/glossa}"
library="${LIBRARY:-$(cd Examples/ConvEncoder && swift build -c release -Xswiftc -enable-testing --show-bin-path)/libConvEncoder.so}"
root="${ROOT:-Examples/ConvEncoder/.build/compare}"
seeds="${SEEDS:-1 2}"
runs="${RUNS:-unet-nearest unet-bed-of-nails unet-max-unpool unet-transposed flat}"
rounds="${ROUNDS:-5}"
for seed in $seeds; do for run in $runs; do : > "$root/$run.seed$seed.bench.rounds"; done; done
round=0
while [ "$round" -lt "$rounds" ]; do
    for seed in $seeds; do
        for run in $runs; do
            nice -n 10 "$glossa" --plugin "$library" run conv-tagger bench --model "$root/$run.seed$seed" \
                --text corpora/en-de.test.en --repeats 1 --threads 1 >> "$root/$run.seed$seed.bench.rounds"
        done
    done
    round=$((round + 1))
done
for seed in $seeds; do
    for run in $runs; do sort -n -r "$root/$run.seed$seed.bench.rounds" | head -n 1 > "$root/$run.seed$seed.bench.txt"; done
done
