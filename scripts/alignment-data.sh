#!/bin/sh
# Builds the data of the fine-tuning ladder (docs/alignment.md) with the release `glossa`.
# The DPO pairs need the SFT model (models/sft-en-de): run this script again with `dpo` after training it.
set -eu
G="${GLOSSA:-$(swift build -c release -Xswiftc -enable-testing --show-bin-path)/glossa}"
mkdir -p data/arithmetic data/en-de

if [ "${1:-}" != dpo ]; then
    # Arithmetic: SFT warm-up problems (30% answered without tags), GRPO training prompts, held-out prompts.
    "$G" align arithmetic-data --kind sft --count 40000 --seed 1 --max-operand 19 --untagged-fraction 0.3 \
        --output data/arithmetic/sft.train.jsonl --text-output data/arithmetic/tokenizer.txt
    "$G" align arithmetic-data --kind prompts --count 4000 --seed 2 --max-operand 19 --output data/arithmetic/prompts.train.jsonl
    "$G" align arithmetic-data --kind prompts --count 400 --seed 3 --max-operand 19 --held-out --output data/arithmetic/heldout.jsonl
    if [ ! -f data/arithmetic/tokenizer.model ]; then
        "$G" tokenizer train --input data/arithmetic/tokenizer.txt --model-prefix data/arithmetic/tokenizer --vocab-size 24 \
            --user-defined-symbols '<answer>,</answer>,0,1,2,3,4,5,6,7,8,9' --unk-id 1 --bos-id=-1 --eos-id 0 --pad-id 2
    fi

    # Decoder-only translation: `Translate to German: <en>` -> `<de>`.
    "$G" align sft-data --source corpora/en-de.train.en --target corpora/en-de.train.de --output data/en-de/sft.train.jsonl
    "$G" align sft-data --source corpora/en-de.dev.en --target corpora/en-de.dev.de --limit 300 --output data/en-de/sft.dev.jsonl
    head -100 corpora/en-de.dev.en > data/en-de/dev100.en
    head -100 corpora/en-de.dev.de > data/en-de/dev100.de
    "$G" align sft-data --source data/en-de/dev100.en --target data/en-de/dev100.de --output data/en-de/prompts.dev.jsonl.tmp
    sed 's/"response":/"reference":/' data/en-de/prompts.dev.jsonl.tmp > data/en-de/prompts.dev.jsonl
    rm data/en-de/prompts.dev.jsonl.tmp data/en-de/dev100.en data/en-de/dev100.de
    # DPO sources: the first 1000 dev lines and every 20th training line give training pairs, the other 321 dev
    # lines validation pairs.
    { head -1000 corpora/en-de.dev.en; awk 'NR % 20 == 0' corpora/en-de.train.en; } > data/en-de/dpo-train.en
    { head -1000 corpora/en-de.dev.de; awk 'NR % 20 == 0' corpora/en-de.train.de; } > data/en-de/dpo-train.de
    tail -n +1001 corpora/en-de.dev.en > data/en-de/dpo-heldout.en
    tail -n +1001 corpora/en-de.dev.de > data/en-de/dpo-heldout.de
else
    # Eight samples of the SFT model per source at temperature 0.8; the best by sentence chrF and the worst of those
    # within 20% of its length make a pair (length-matched, so that DPO cannot learn "longer is better" from chrF).
    # Training pairs from the first 1000 dev lines, validation pairs (early stopping) from the other 321, and report
    # pairs from the first 500 test lines.
    "$G" align dpo-data --model models/sft-en-de --source data/en-de/dpo-train.en --references data/en-de/dpo-train.de \
        --samples 8 --length-tolerance 0.2 --balance-lengths --temperature 0.8 --seed 1 --output data/en-de/dpo.train.jsonl
    "$G" align dpo-data --model models/sft-en-de --source data/en-de/dpo-heldout.en --references data/en-de/dpo-heldout.de \
        --samples 8 --length-tolerance 0.2 --balance-lengths --temperature 0.8 --seed 2 --output data/en-de/dpo.heldout.jsonl
    "$G" align dpo-data --model models/sft-en-de --source corpora/en-de.test.en --references corpora/en-de.test.de --limit 500 \
        --samples 8 --length-tolerance 0.2 --balance-lengths --temperature 0.8 --seed 3 --output data/en-de/dpo.test.jsonl
fi
