#!/usr/bin/env python3
"""Where a learned reward disagrees with the true one on a policy's own samples (docs/alignment.md, RLHF, (b)).

    scripts/rlhf-diagnose.py GLOSSA REWARD_MODEL RANKINGS...
    scripts/rlhf-diagnose.py --grid GLOSSA REWARD_MODEL PROMPTS

Each RANKINGS file is `glossa align rank` output made by scripts/rank-arithmetic.py from some policy's samples (so every
record holds that policy's distinct responses to one prompt, ranked by the true reward). Every response is scored by
the reward model (`glossa align score --data`) and by the true reward, and the script prints, per file:

- acc, format: the share of distinct responses that are right, and well formatted;
- pairs: the reward model's pairwise accuracy on same-format right-over-wrong pairs (the pairs GRPO needs it to get right);
- spread: the mean standard deviation of the learned reward within a prompt's responses, for prompts whose responses are
  all wrong (where the true reward gives GRPO no signal, but group-normalised learned rewards give full-size advantages)
  against prompts with a right and a wrong one;
- agree: the correlation of group-normalised advantages under the two rewards, over all responses;
- favourites: the wrong numbers the reward model scores highest, averaged over prompts (a prior on the answer that
  ignores the question: what GRPO learns to say whatever it is asked).

The second form scores every well-formatted answer 0...38 (every sum of operands 0...19) to each prompt of PROMPTS and
prints how often the right one is the reward model's top answer (top-1, top-3): what GRPO finds when it searches the
answers for the highest learned reward, where sampled pairs only show what the sampling policy happened to try. It
also prints the learned reward's mean by distance from the right answer and the spread of its prompt-independent part.

A diagnostic of the evidence, not part of the product.
"""
import json
import re
import statistics
import subprocess
import sys
from collections import defaultdict

sys.path.insert(0, __file__.rsplit("/", 1)[0])
rank_arithmetic = __import__("rank-arithmetic")


def normalised(values):
    mean = sum(values) / len(values)
    std = (sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5
    return [(v - mean) / (std + 1e-4) for v in values]


def score(glossa, reward_model, rows):
    text = "".join(json.dumps(x) + "\n" for x in rows)
    out = subprocess.run([glossa, "align", "score", "--reward-model", reward_model, "--threads", "1"], input=text,
                         capture_output=True, text=True, check=True).stdout.split()
    return [float(v) for v in out]


def grid(glossa, reward_model, prompts_path):
    prompts = [json.loads(line)["prompt"] for line in open(prompts_path)]
    answers = range(39)
    scores = score(glossa, reward_model, [{"prompt": p, "response": f"<answer>{a}</answer>"} for p in prompts for a in answers])
    top1 = top3 = 0
    prior, by_distance = defaultdict(list), defaultdict(list)
    for n, p in enumerate(prompts):
        a, op, b = re.fullmatch(r"What is (-?\d+) ([+-]) (-?\d+)\?", p).groups()
        right = int(a) + int(b) if op == "+" else int(a) - int(b)
        row = scores[n * len(answers):(n + 1) * len(answers)]
        mean = sum(row) / len(row)
        order = sorted(answers, key=lambda k: -row[k])
        top1 += order[0] == right
        top3 += right in order[:3]
        for k in answers:
            prior[k].append(row[k] - mean)
            by_distance[min(abs(k - right), 5)].append(row[k] - mean)
    means = [statistics.mean(v) for v in prior.values()]
    print(f"{reward_model} on {prompts_path}: right answer top-1 {top1 / len(prompts):.3f}, top-3 {top3 / len(prompts):.3f} of "
          f"{len(answers)}; by distance " + " ".join(f"{d}: {statistics.mean(v):+.2f}" for d, v in sorted(by_distance.items()))
          + f"; prompt-independent part: sd {statistics.pstdev(means):.2f}, range {min(means):+.2f}...{max(means):+.2f}")


def main() -> None:
    if sys.argv[1:2] == ["--grid"] and len(sys.argv) == 5:
        grid(*sys.argv[2:])
        return
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    glossa, reward_model, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    for path in files:
        records = [json.loads(line) for line in open(path)]
        records = [r for r in records if not r.get("skipped") and len(r["responses"]) >= 2]
        learned = iter(score(glossa, reward_model, [{"prompt": r["prompt"], "response": x} for r in records for x in r["responses"]]))
        right = total = formatted = 0
        good_pairs = pairs = 0
        spread_wrong, spread_mixed = [], []
        adv_l, adv_t = [], []
        by_number = defaultdict(list)
        for r in records:
            l = [next(learned) for _ in r["responses"]]
            t = [rank_arithmetic.true_reward(r["prompt"], x) for x in r["responses"]]
            total += len(t)
            right += sum(v >= 1 for v in t)
            formatted += sum(v % 1 == 0.5 for v in t)
            for i in range(len(t)):
                for j in range(len(t)):
                    if t[i] == 1.5 and t[j] == 0.5:
                        pairs += 1
                        good_pairs += l[i] > l[j]
            sd = statistics.pstdev(l)
            if max(t) < 1:
                spread_wrong.append(sd)
            elif min(t) < 1:
                spread_mixed.append(sd)
            adv_l += normalised(l)
            adv_t += normalised(t)
            mean = sum(l) / len(l)
            for x, v, s in zip(r["responses"], t, l):
                m = re.fullmatch(r"<answer>(-?\d+)</answer>", x.strip(" "))
                if m and v == 0.5:
                    by_number[int(m.group(1))].append(s - mean)
        corr = statistics.correlation(adv_l, adv_t) if len(set(adv_t)) > 1 else float("nan")
        fav = sorted(((sum(v) / len(v), n, len(v)) for n, v in by_number.items() if len(v) >= 10), reverse=True)[:5]
        print(f"{path}: {len(records)} prompts, acc {right / total:.3f}, format {formatted / total:.3f}, "
              f"pairs {good_pairs / max(pairs, 1):.3f} ({pairs}), spread all-wrong {statistics.mean(spread_wrong or [0]):.3f} "
              f"({len(spread_wrong)}) mixed {statistics.mean(spread_mixed or [0]):.3f} ({len(spread_mixed)}), agree {corr:.3f}")
        print("  favourite wrong numbers (learned reward above the prompt's mean, count): "
              + ", ".join(f"{n}: {m:+.2f} ({c})" for m, n, c in fav))


if __name__ == "__main__":
    main()
