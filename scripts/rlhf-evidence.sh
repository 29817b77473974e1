#!/bin/sh
# The RLHF evidence of docs/alignment.md on the arithmetic task: a scripted "person" (scripts/rank-arithmetic.py,
# ranking by the true reward no model sees) ranks samples through `glossa align rank`; reward models learn the
# rankings; GRPO runs against them; plots are drawn with `glossa align plot`. Needs python3 and jq.
#
#   scripts/rlhf-evidence.sh rank      # rankings of models/arithmetic-sft's samples (a few minutes)
#   scripts/rlhf-evidence.sh reward    # reward models: the K = 4 curve of (a) and models/arithmetic-rm (K = 8; 10 minutes)
#   scripts/rlhf-evidence.sh grpo      # GRPO against models/arithmetic-rm (β 0.2 and 0.04), and against the true reward
#   scripts/rlhf-evidence.sh round2    # rankings of the β = 0.04 policy and a reward model on both rounds (12 minutes)
#   scripts/rlhf-evidence.sh diagnose  # both rewards on GRPO policies' own samples (validation prompts)
#   scripts/rlhf-evidence.sh iterate   # models/arithmetic-rm trained on, then on the samples of a policy GRPO'd against it
#   scripts/rlhf-evidence.sh seeds     # the true-reward and the chosen learned-reward run with more seeds (SEEDS="2 3")
#   scripts/rlhf-evidence.sh ensemble  # GRPO against the mean of models/arithmetic-rm and -rm2, seeds 1 and $SEEDS
#   scripts/rlhf-evidence.sh plots     # the plots and the numbers of the tables
set -eu
G="${GLOSSA:-$(swift build -c release -Xswiftc -enable-testing --show-bin-path)/glossa}"
N="nice -n 5"
OUT=docs/alignment
W="${WORK:-/tmp/glossa-rlhf}"
mkdir -p data/rlhf "$OUT" "$W"

rank() {  # model, prompts, samples, seed, output
    $N python3 scripts/rank-arithmetic.py -- "$G" align rank --model "$1" --prompts "$2" --samples "$3" \
        --temperature 1 --seed "$4" --max-new-tokens 12 --threads 1 --output "$5"
}
# The held-out rankings split three ways: all pairs, format pairs only, same-format right-over-wrong pairs only.
SPLITS="test heldout test.format heldout.format test.formatted heldout.formatted"
score() {  # reward model, name
    for split in $SPLITS; do
        "$G" align score --reward-model "$1" --rankings data/rlhf/rankings.$split.jsonl --json > "$W/$2.$split.json"
    done
}

case "${1:-}" in
rank)
    # Rankings on 3700 GRPO training prompts; test rankings on 300 other training prompts and on the 400 held-out
    # prompts (operand pairs no model trains on). The first 1000 with K = 4 samples were the first evidence and give
    # the small end of (a); the two K = 8 passes (seeds 11, 12) train models/arithmetic-rm.
    { sed -n 1,3000p data/arithmetic/prompts.train.jsonl; sed -n 3301,4000p data/arithmetic/prompts.train.jsonl; } > data/rlhf/prompts.rank.jsonl
    sed -n 3001,3300p data/arithmetic/prompts.train.jsonl > data/rlhf/prompts.test.jsonl
    head -1000 data/rlhf/prompts.rank.jsonl > "$W/prompts.first1000.jsonl"
    rank models/arithmetic-sft "$W/prompts.first1000.jsonl" 4 1 data/rlhf/rankings.train.jsonl
    rank models/arithmetic-sft data/rlhf/prompts.rank.jsonl 8 11 data/rlhf/rankings.k8.1.jsonl
    rank models/arithmetic-sft data/rlhf/prompts.rank.jsonl 8 12 data/rlhf/rankings.k8.2.jsonl
    rank models/arithmetic-sft data/rlhf/prompts.test.jsonl 4 2 data/rlhf/rankings.test.jsonl
    rank models/arithmetic-sft data/arithmetic/heldout.jsonl 4 3 data/rlhf/rankings.heldout.jsonl
    # The same test rankings cut down to well-formatted responses (every pair a right answer over a wrong one of the
    # same format), and to the pairs whose two responses differ in format.
    for split in test heldout; do
        python3 scripts/rank-arithmetic.py --formatted-only data/rlhf/rankings.$split.jsonl data/rlhf/rankings.$split.formatted.jsonl
        python3 scripts/rank-arithmetic.py --format-pairs data/rlhf/rankings.$split.jsonl data/rlhf/rankings.$split.format.jsonl
    done
    ;;
reward)
    # (a)'s curve of the first evidence: K = 4 rankings, 400 updates at learning rate 1e-3.
    for n in 50 100 200 1000; do
        jq ".reward.train = \"data/rlhf/rankings.train.jsonl\" | .reward.limit = $n | .output = \"$W/rm-$n\"
            | .training.steps = 400 | .training.learning_rate = 0.001 | .training.validate_every = 25 | .training.checkpoint_every = 100" \
            recipes/reward-arithmetic.json > "$W/reward-$n.json"
        $N "$G" train --recipe "$W/reward-$n.json" --overwrite
        score "$W/rm-$n" rm-$n
    done
    # models/arithmetic-rm: the two K = 8 passes, 2500 updates at 2e-3 (round 1).
    $N "$G" train --recipe recipes/reward-arithmetic.json --overwrite
    score models/arithmetic-rm rm-round1
    ;;
grpo)
    # GRPO against models/arithmetic-rm with β = 0.2 (the recipe), and with the true-reward run's β = 0.04.
    $N "$G" train --recipe recipes/grpo-arithmetic-learned.json --overwrite
    jq '.grpo.kl_coefficient = 0.04 | .output = "'"$W"'/grpo-learned-kl004"' recipes/grpo-arithmetic-learned.json > "$W/grpo-learned-kl004.json"
    $N "$G" train --recipe "$W/grpo-learned-kl004.json" --overwrite
    # The true-reward run for the same 300 updates and seed (its schedule then ends at 300 too).
    jq '.training.steps = 300 | .output = "'"$W"'/grpo-true-300"' recipes/grpo-arithmetic.json > "$W/grpo-true-300.json"
    $N "$G" train --recipe "$W/grpo-true-300.json" --overwrite
    for m in models/arithmetic-sft models/arithmetic-grpo models/arithmetic-grpo-learned "$W/grpo-true-300" "$W/grpo-learned-kl004"; do
        name=$(basename "$m")
        "$G" align eval --model "$m" --data data/arithmetic/heldout.jsonl --reward arithmetic --max-new-tokens 12 --json \
            --output "$W/out-$name.heldout.txt" > "$W/eval-$name.heldout.json"
        "$G" align eval --model "$m" --data data/rlhf/prompts.test.jsonl --reward arithmetic --max-new-tokens 12 --json > "$W/eval-$name.test.json"
    done
    ;;
round2)
    # Round 2 (tried, not used by GRPO): the person ranks the β = 0.04 policy's own samples, writing the right answer
    # and a near miss beside them (--contrast), and a reward model learns round 1 and these together.
    rank "$W/grpo-learned-kl004" data/rlhf/prompts.rank.jsonl 8 13 "$W/rankings.round2.raw.jsonl"
    python3 scripts/rank-arithmetic.py --contrast "$W/rankings.round2.raw.jsonl" data/rlhf/rankings.round2.jsonl
    jq '.reward.train += ["data/rlhf/rankings.round2.jsonl"] | .output = "'"$W"'/rm-round2"' recipes/reward-arithmetic.json > "$W/reward-round2.json"
    $N "$G" train --recipe "$W/reward-round2.json" --overwrite
    score "$W/rm-round2" rm-round2
    ;;
diagnose)
    # Samples (K = 8, temperature 1) of the SFT model and of GRPO policies on the 300 validation prompts (training
    # operand pairs, data/rlhf/prompts.test.jsonl), ranked by the true reward, scored by the learned one.
    for m in models/arithmetic-sft:sft models/arithmetic-grpo-learned:kl02-300 "$W/grpo-learned-kl004":kl004-300 "$W/grpo-true-300":true-300; do
        rank "${m%%:*}" data/rlhf/prompts.test.jsonl 8 21 "$W/diag-${m##*:}.jsonl"
    done
    python3 scripts/rlhf-diagnose.py "$G" models/arithmetic-rm "$W"/diag-*.jsonl
    python3 scripts/rlhf-diagnose.py --grid "$G" models/arithmetic-rm data/rlhf/prompts.test.jsonl
    ;;
iterate)
    # 1. models/arithmetic-rm trained on (its dev accuracy was still rising): 2500 more updates at 1e-3 on the same rankings.
    jq '. + {initialize_from: {file: "models/arithmetic-rm/model.safetensors", tensors: "all"}} | .training.learning_rate = 0.001
        | .output = "'"$W"'/rm-cont"' recipes/reward-arithmetic.json > "$W/rm-cont.json"
    $N "$G" train --recipe "$W/rm-cont.json" --overwrite
    # 2. GRPO against it (β = 0.2), and the person ranks that policy's samples of the 3700 ranking prompts (K = 8).
    jq '.grpo.reward_model = "'"$W"'/rm-cont" | .output = "'"$W"'/cont-kl02"' recipes/grpo-arithmetic-learned.json > "$W/cont-kl02.json"
    $N "$G" train --recipe "$W/cont-kl02.json" --overwrite
    "$G" align eval --model "$W/cont-kl02" --data data/rlhf/prompts.test.jsonl --reward arithmetic --max-new-tokens 12 --json > "$W/eval-cont-kl02.test.json"
    "$G" align eval --model "$W/cont-kl02" --data data/arithmetic/heldout.jsonl --reward arithmetic --max-new-tokens 12 --json > "$W/eval-cont-kl02.heldout.json"
    rank "$W/cont-kl02" data/rlhf/prompts.rank.jsonl 8 14 data/rlhf/rankings.round2b.jsonl
    # 3. The reward model continued on round 1 and those rankings: 1500 updates at 1e-3 → models/arithmetic-rm2.
    jq '. + {initialize_from: {file: "'"$W"'/rm-cont/model.safetensors", tensors: "all"}} | .reward.train += ["data/rlhf/rankings.round2b.jsonl"]
        | .training.learning_rate = 0.001 | .training.steps = 1500 | .output = "models/arithmetic-rm2"' recipes/reward-arithmetic.json > "$W/rm2.json"
    $N "$G" train --recipe "$W/rm2.json" --overwrite
    for rm in "$W/rm-cont" models/arithmetic-rm2; do
        score "$rm" "$(basename "$rm")"
        python3 scripts/rlhf-diagnose.py --grid "$G" "$rm" data/rlhf/prompts.test.jsonl
        python3 scripts/rlhf-diagnose.py "$G" "$rm" "$W"/diag-*.jsonl
    done
    # 4. GRPO against models/arithmetic-rm2 at β 0.2 and 0.1, and at β 0.2 with "scale_rewards": "batch"; the run is chosen
    #    by greedy accuracy on the validation prompts (data/rlhf/prompts.test.jsonl), never on the held-out ones.
    for run in "kl0.2:." "kl0.1:.grpo.kl_coefficient = 0.1" "kl0.2-batch:.grpo.scale_rewards = \"batch\""; do
        name=rm2-${run%%:*}
        jq ".grpo.reward_model = \"models/arithmetic-rm2\" | ${run#*:} | .output = \"$W/$name\"" recipes/grpo-arithmetic-learned.json > "$W/$name.json"
        $N "$G" train --recipe "$W/$name.json" --overwrite
        "$G" align eval --model "$W/$name" --data data/rlhf/prompts.test.jsonl --reward arithmetic --max-new-tokens 12 --json > "$W/eval-$name.test.json"
        "$G" align eval --model "$W/$name" --data data/arithmetic/heldout.jsonl --reward arithmetic --max-new-tokens 12 --json > "$W/eval-$name.heldout.json"
    done
    ;;
seeds)
    # The 300-update true-reward run and the chosen learned-reward run (recipes/grpo-arithmetic-learned2.json) with other
    # values of training.seed (seed 1 is the table's row), each scored on the validation and the held-out prompts.
    for seed in ${SEEDS:-2 3}; do
        jq ".training.steps = 300 | .training.seed = $seed | .output = \"$W/true-300-s$seed\"" recipes/grpo-arithmetic.json > "$W/true-300-s$seed.json"
        jq ".training.seed = $seed | .output = \"$W/learned2-s$seed\"" recipes/grpo-arithmetic-learned2.json > "$W/learned2-s$seed.json"
        for name in true-300-s$seed learned2-s$seed; do
            $N "$G" train --recipe "$W/$name.json" --overwrite
            "$G" align eval --model "$W/$name" --data data/rlhf/prompts.test.jsonl --reward arithmetic --max-new-tokens 12 --json > "$W/eval-$name.test.json"
            "$G" align eval --model "$W/$name" --data data/arithmetic/heldout.jsonl --reward arithmetic --max-new-tokens 12 --json > "$W/eval-$name.heldout.json"
        done
    done
    for seed in ${SEEDS:-2 3}; do
        for name in true-300-s$seed learned2-s$seed; do
            echo "$name: validation $(jq .accuracy "$W/eval-$name.test.json")  held-out $(jq .accuracy "$W/eval-$name.heldout.json")"
        done
    done
    ;;
ensemble)
    # The chosen run's settings against an ensemble: the mean of models/arithmetic-rm's and models/arithmetic-rm2's
    # scores, each standardised on the first batch. Compared with the single model on the validation prompts.
    for seed in 1 ${SEEDS:-2 3}; do
        name=ensemble-s$seed
        jq ".grpo.reward_model = [\"models/arithmetic-rm\", \"models/arithmetic-rm2\"] | .training.seed = $seed | .output = \"$W/$name\"" \
            recipes/grpo-arithmetic-learned2.json > "$W/$name.json"
        $N "$G" train --recipe "$W/$name.json" --overwrite
        "$G" align eval --model "$W/$name" --data data/rlhf/prompts.test.jsonl --reward arithmetic --max-new-tokens 12 --json > "$W/eval-$name.test.json"
        "$G" align eval --model "$W/$name" --data data/arithmetic/heldout.jsonl --reward arithmetic --max-new-tokens 12 --json > "$W/eval-$name.heldout.json"
        echo "$name: validation $(jq .accuracy "$W/eval-$name.test.json")  held-out $(jq .accuracy "$W/eval-$name.heldout.json")"
    done
    ;;
plots)
    # (a) pairwise accuracy against the number of rankings: the K = 4 curve, and K = 8 (6660 training rankings after
    # the held-out tenth; 9990 with round 2); all pairs, and same-format right-over-wrong pairs alone.
    for split in $SPLITS; do
        for n in 50 100 200 1000; do printf '[%s, %s]\n' "$([ $n = 1000 ] && echo 898 || echo $n)" "$(jq .accuracy "$W/rm-$n.$split.json")"; done \
            | jq -s . > "$W/a4-$split.json"
        printf '[6660, %s]\n[9990, %s]\n' "$(jq .accuracy "$W/rm-round1.$split.json")" "$(jq .accuracy "$W/rm-round2.$split.json")" \
            | jq -s . > "$W/a8-$split.json"
    done
    jq -n --slurpfile h4 "$W/a4-heldout.json" --slurpfile hf4 "$W/a4-heldout.formatted.json" --slurpfile tf4 "$W/a4-test.formatted.json" \
        --slurpfile h8 "$W/a8-heldout.json" --slurpfile hf8 "$W/a8-heldout.formatted.json" --slurpfile tf8 "$W/a8-test.formatted.json" \
        'def lg: [.[] | [(.[0] | log10), .[1]]]; {title: "Reward model: pairwise accuracy on unseen rankings",
        x_label: "rankings trained on, log10 (1.7 = 50, 3 = 1000, 4 = 10000)", y_label: "pairwise accuracy",
        series: [{name: "K = 4, 400 updates: all pairs, held-out prompts", points: ($h4[0] | lg)},
                 {name: "K = 4: same-format right over wrong, training prompts", points: ($tf4[0] | lg)},
                 {name: "K = 4: same-format right over wrong, held-out prompts", points: ($hf4[0] | lg)},
                 {name: "K = 8 (+ round 2), 2500 updates: all pairs, held-out", points: ($h8[0] | lg)},
                 {name: "K = 8: same-format right over wrong, training prompts", points: ($tf8[0] | lg)},
                 {name: "K = 8: same-format right over wrong, held-out prompts", points: ($hf8[0] | lg)}]}' > "$W/a.json"
    "$G" align plot --input "$W/a.json" --output "$OUT/rlhf-reward-accuracy.svg"
    # (b) held-out greedy accuracy during GRPO: true reward against learned reward.
    acc() { jq '[.history[] | select(.dev.accuracy != null) | [.step, .dev.accuracy]]' "$1/training.json"; }
    acc models/arithmetic-grpo > "$W/b-true.json"
    acc "$W/grpo-true-300" > "$W/b-true-300.json"
    acc "$W/grpo-learned-kl004" > "$W/b-kl004.json"
    acc models/arithmetic-grpo-learned > "$W/b-learned.json"
    acc "$W/rm2-kl0.2" > "$W/b-rm2.json"
    acc "$W/rm2-kl0.2-batch" > "$W/b-rm2-batch.json"
    jq -n --slurpfile t "$W/b-true.json" --slurpfile t3 "$W/b-true-300.json" --slurpfile r1 "$W/b-kl004.json" --slurpfile l "$W/b-learned.json" \
        --slurpfile r2 "$W/b-rm2.json" --slurpfile r2b "$W/b-rm2-batch.json" \
        '{title: "GRPO: held-out greedy accuracy (the true metric)", x_label: "update", y_label: "accuracy on 400 held-out prompts",
        series: [{name: "true reward, 1000 updates", points: $t[0]}, {name: "true reward, 300 updates", points: $t3[0]},
                 {name: "learned reward (models/arithmetic-rm), β = 0.04", points: $r1[0]},
                 {name: "learned reward (models/arithmetic-rm), β = 0.2", points: $l[0]},
                 {name: "learned reward (models/arithmetic-rm2, iterated), β = 0.2", points: $r2[0]},
                 {name: "learned reward (models/arithmetic-rm2), β = 0.2, scale_rewards batch", points: $r2b[0]}]}' > "$W/b.json"
    "$G" align plot --input "$W/b.json" --output "$OUT/rlhf-grpo-accuracy.svg"
    # (c) over-optimisation: the rollouts' learned and true reward as the KL to the reference grows, each as its gain
    # over its value in the first 50-update window.
    rows() { jq '[.history[] | select(.trainMetrics.kl != null) | {kl: .trainMetrics.kl, l: .trainMetrics.learned_reward,
                  t: (.trainMetrics.true_reward // .trainMetrics.reward)}]' "$1/training.json"; }
    rows models/arithmetic-grpo-learned > "$W/c-learned.json"
    rows "$W/grpo-learned-kl004" > "$W/c-kl004.json"
    rows "$W/grpo-true-300" > "$W/c-true.json"
    rows "$W/rm2-kl0.2-batch" > "$W/c-rm2.json"
    jq -n --slurpfile l "$W/c-learned.json" --slurpfile r1 "$W/c-kl004.json" --slurpfile r "$W/c-true.json" --slurpfile r2 "$W/c-rm2.json" \
        'def gain(f): .[0] as $first | [.[] | [.kl, (f) - ($first | f)]];
        {title: "Over-optimisation: rollout rewards against KL to the reference",
        x_label: "KL to the reference (k3, per token; mean of each 50-update window)", y_label: "reward (gain over the first window)",
        series: [{name: "β = 0.2: learned reward, GRPO against it", points: ($l[0] | gain(.l))},
                 {name: "β = 0.2: true reward, same run", points: ($l[0] | gain(.t))},
                 {name: "β = 0.04: learned reward, GRPO against it", points: ($r1[0] | gain(.l))},
                 {name: "β = 0.04: true reward, same run", points: ($r1[0] | gain(.t))},
                 {name: "models/arithmetic-rm2, β = 0.2, batch scale: learned reward", points: ($r2[0] | gain(.l))},
                 {name: "models/arithmetic-rm2, β = 0.2, batch scale: true reward, same run", points: ($r2[0] | gain(.t))},
                 {name: "true reward, GRPO against the true reward (300 updates)", points: ($r[0] | gain(.t))}]}' > "$W/c.json"
    "$G" align plot --input "$W/c.json" --output "$OUT/rlhf-overoptimisation.svg"
    for m in arithmetic-sft arithmetic-grpo grpo-true-300 grpo-learned-kl004 arithmetic-grpo-learned cont-kl02 rm2-kl0.2 rm2-kl0.2-batch; do
        echo "$m: held-out $(jq -c '{accuracy, format, reward}' "$W/eval-$m.heldout.json")  test $(jq -c '{accuracy, format, reward}' "$W/eval-$m.test.json")"
    done
    for n in 50 100 200 1000 round1 round2; do
        for split in $SPLITS; do echo "rm-$n $split: $(jq -c '{accuracy, strict: (.pairs - .ties)}' "$W/rm-$n.$split.json")"; done
    done
    ;;
*)
    echo "usage: $0 rank | reward | grpo | round2 | diagnose | iterate | seeds | ensemble | plots" >&2
    exit 2
    ;;
esac
