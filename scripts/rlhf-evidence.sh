#!/bin/sh
# The RLHF evidence of docs/alignment.md on the arithmetic task: a scripted "person" (scripts/rank-arithmetic.py,
# ranking by the true reward no model sees) ranks 4 samples per prompt of models/arithmetic-sft through
# `glossa align rank`; reward models are trained on the first 50, 200 and 1000 rankings; GRPO runs against the
# 1000-ranking reward model; plots are drawn with `glossa align plot`. Needs python3 and jq.
#
#   scripts/rlhf-evidence.sh rank      # the rankings (about a minute)
#   scripts/rlhf-evidence.sh reward    # reward models and their pairwise accuracy (a few minutes)
#   scripts/rlhf-evidence.sh grpo      # GRPO against the learned reward (recipes/grpo-arithmetic-learned.json)
#   scripts/rlhf-evidence.sh plots     # the plots and the numbers of the tables
set -eu
G="${GLOSSA:-$(swift build -c release -Xswiftc -enable-testing --show-bin-path)/glossa}"
N="nice -n 5"
OUT=docs/alignment
W="${WORK:-/tmp/glossa-rlhf}"
mkdir -p data/rlhf "$OUT" "$W"

rank() {  # prompts, seed, output
    $N python3 scripts/rank-arithmetic.py -- "$G" align rank --model models/arithmetic-sft --prompts "$1" --samples 4 \
        --temperature 1 --seed "$2" --max-new-tokens 12 --threads 1 --output "$3"
}

case "${1:-}" in
rank)
    # Rankings on the first 1000 GRPO training prompts; test rankings on 300 other training prompts and on the 400
    # held-out prompts (operand pairs no model trains on).
    head -1000 data/arithmetic/prompts.train.jsonl > data/rlhf/prompts.rank.jsonl
    sed -n 3001,3300p data/arithmetic/prompts.train.jsonl > data/rlhf/prompts.test.jsonl
    rank data/rlhf/prompts.rank.jsonl 1 data/rlhf/rankings.train.jsonl
    rank data/rlhf/prompts.test.jsonl 2 data/rlhf/rankings.test.jsonl
    rank data/arithmetic/heldout.jsonl 3 data/rlhf/rankings.heldout.jsonl
    # The same test rankings cut down to well-formatted responses: every pair is a right answer over a wrong one.
    for split in test heldout; do
        python3 scripts/rank-arithmetic.py --formatted-only data/rlhf/rankings.$split.jsonl data/rlhf/rankings.$split.formatted.jsonl
    done
    ;;
reward)
    for n in 50 100 200 1000; do
        out="$W/rm-$n"
        [ "$n" = 1000 ] && out=models/arithmetic-rm
        jq ".reward.limit = $n | .output = \"$out\"" recipes/reward-arithmetic.json > "$W/reward-$n.json"
        $N "$G" train --recipe "$W/reward-$n.json" --overwrite
        for split in test heldout test.formatted heldout.formatted; do
            "$G" align score --reward-model "$out" --rankings data/rlhf/rankings.$split.jsonl --json > "$W/rm-$n.$split.json"
        done
    done
    ;;
grpo)
    $N "$G" train --recipe recipes/grpo-arithmetic-learned.json --overwrite
    for m in arithmetic-sft arithmetic-grpo arithmetic-grpo-learned; do
        "$G" align eval --model models/$m --data data/arithmetic/heldout.jsonl --reward arithmetic --max-new-tokens 12 --json > "$W/eval-$m.heldout.json"
        "$G" align eval --model models/$m --data data/rlhf/prompts.test.jsonl --reward arithmetic --max-new-tokens 12 --json > "$W/eval-$m.test.json"
    done
    ;;
plots)
    # (a) pairwise accuracy against the number of rankings.
    for split in test heldout test.formatted heldout.formatted; do
        for n in 50 100 200 1000; do printf '[%s, %s]\n' "$n" "$(jq .accuracy "$W/rm-$n.$split.json")"; done | jq -s . > "$W/a-$split.json"
    done
    jq -n --slurpfile t "$W/a-test.json" --slurpfile h "$W/a-heldout.json" --slurpfile tf "$W/a-test.formatted.json" \
        --slurpfile hf "$W/a-heldout.formatted.json" '{title: "Reward model: pairwise accuracy on unseen rankings",
        x_label: "rankings trained on", y_label: "pairwise accuracy",
        series: [{name: "all pairs, 300 other training prompts", points: $t[0]}, {name: "all pairs, 400 held-out prompts", points: $h[0]},
                 {name: "right over wrong answer only, training prompts", points: $tf[0]},
                 {name: "right over wrong answer only, held-out prompts", points: $hf[0]}]}' \
        > "$W/a.json"
    "$G" align plot --input "$W/a.json" --output "$OUT/rlhf-reward-accuracy.svg"
    # (b) held-out greedy accuracy during GRPO: true reward against learned reward.
    jq '[.history[] | select(.dev.accuracy != null) | [.step, .dev.accuracy]]' models/arithmetic-grpo/training.json > "$W/b-true.json"
    jq '[.history[] | select(.dev.accuracy != null) | [.step, .dev.accuracy]]' models/arithmetic-grpo-learned/training.json > "$W/b-learned.json"
    jq -n --slurpfile t "$W/b-true.json" --slurpfile l "$W/b-learned.json" '{title: "GRPO: held-out greedy accuracy (the true metric)",
        x_label: "update", y_label: "accuracy on 400 held-out prompts",
        series: [{name: "GRPO against the true reward", points: $t[0]}, {name: "GRPO against the learned reward (898 rankings)", points: $l[0]}]}' \
        > "$W/b.json"
    "$G" align plot --input "$W/b.json" --output "$OUT/rlhf-grpo-accuracy.svg"
    # (c) over-optimisation: the rollouts' learned and true reward as the KL to the reference grows; each reward as
    # its gain over its value in the first window, in units of the learned reward's spread over all windows.
    for f in models/arithmetic-grpo-learned ${EXTRA_OVEROPT:-}; do
        jq '[.history[] | select(.trainMetrics.kl != null) | {kl: .trainMetrics.kl, l: .trainMetrics.learned_reward, t: .trainMetrics.true_reward}]' \
            "$f/training.json"
    done | jq -s 'add' > "$W/c-rows.json"
    jq '[.history[] | select(.trainMetrics.kl != null) | {kl: .trainMetrics.kl, t: .trainMetrics.reward}]' \
        models/arithmetic-grpo/training.json > "$W/c-true.json"
    jq --slurpfile r "$W/c-true.json" '{title: "Over-optimisation: rollout rewards against KL to the reference",
        x_label: "KL to the reference (k3, per token; mean of each 50-update window)", y_label: "reward (gain over the first window)",
        series: [{name: "learned reward, GRPO against it", points: (.[0].l as $l0 | [.[] | [.kl, .l - $l0]])},
                 {name: "true reward, same run", points: (.[0].t as $t0 | [.[] | [.kl, .t - $t0]])},
                 {name: "true reward, GRPO against the true reward", points: ($r[0] | .[0].t as $t0 | [.[] | [.kl, .t - $t0]])}]}' \
        "$W/c-rows.json" > "$W/c.json"
    "$G" align plot --input "$W/c.json" --output "$OUT/rlhf-overoptimisation.svg"
    for m in arithmetic-sft arithmetic-grpo arithmetic-grpo-learned; do
        echo "$m: held-out $(jq -c '{accuracy, format, reward}' "$W/eval-$m.heldout.json")  test $(jq -c '{accuracy, format, reward}' "$W/eval-$m.test.json")"
    done
    for n in 50 100 200 1000; do
        for split in test heldout test.formatted heldout.formatted; do echo "rm-$n $split: $(jq -c . "$W/rm-$n.$split.json")"; done
    done
    ;;
*)
    echo "usage: $0 rank | reward | grpo | plots" >&2
    exit 2
    ;;
esac
