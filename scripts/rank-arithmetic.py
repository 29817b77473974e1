#!/usr/bin/env python3
"""A scripted "person" for `glossa align rank` (docs/alignment.md, RLHF): it drives the line interface and ranks each
prompt's responses by the true arithmetic reward, which no model is ever shown: 1 for the right integer inside
<answer>...</answer>, plus 0.5 when the whole response is exactly that tag (ArithmeticReward). Equal scores are ties.

    scripts/rank-arithmetic.py [--limit N] -- .build/release/glossa align rank --model M --prompts P --output R ...
    scripts/rank-arithmetic.py --formatted-only IN OUT
    scripts/rank-arithmetic.py --format-pairs IN OUT
    scripts/rank-arithmetic.py --contrast IN OUT

The second form keeps only the well-formatted responses of each ranking in IN (re-ranked by the true reward), so that
every strict pair in OUT is a right answer over a wrong one of the same format: the pairs a reward model must get
right for GRPO to learn to add rather than to format. The third writes the complement that is easy: one two-response
record per strict pair of IN whose responses differ in format (a well-formatted answer against a bare number or a
broken tag), ranked by the true reward, so `glossa align score` gives the reward model's accuracy on format alone.
The fourth is the person writing answers beside ranking them: to each ranking of IN it adds the right answer and a
near miss of the same shape (the sum off by 1, 2 or 10, drawn from the prompt), both well formatted, when the model's
responses lack them (a prompt skipped because all samples were the same response is ranked too), and ranks the whole list again, so every ranking holds a right-over-wrong pair of one format.

Everything after `--` is the glossa command; its stdout is read one JSON line per prompt, and one ranking line is
written back. The evidence's stand-in for a human, not part of the product.
"""
import json
import re
import subprocess
import sys


def true_reward(prompt: str, response: str) -> float:
    m = re.fullmatch(r"What is (-?\d+) ([+-]) (-?\d+)\?", prompt)
    if not m:
        raise SystemExit(f"not an arithmetic prompt: {prompt!r}")
    a, op, b = int(m.group(1)), m.group(2), int(m.group(3))
    answer = str(a + b if op == "+" else a - b)
    tagged = re.search(r"<answer>(.*?)</answer>", response)
    correct = tagged is not None and tagged.group(1).strip(" ") == answer
    text = response.strip(" ")
    inner = text[8:-9].strip(" ") if text.startswith("<answer>") and text.endswith("</answer>") and len(text) > 17 else ""
    formatted = re.fullmatch(r"-?[0-9]+", inner) is not None
    return (1.0 if correct else 0.0) + 0.5 * (1.0 if formatted else 0.0)


def ranking_line(prompt: str, responses: list) -> str:
    scores = [true_reward(prompt, r) for r in responses]
    groups = [[str(i + 1) for i, s in enumerate(scores) if s == v] for v in sorted(set(scores), reverse=True)]
    return " ".join("=".join(g) for g in groups)


def formatted_only(source: str, target: str) -> None:
    with open(source) as f, open(target, "w") as out:
        for line in f:
            record = json.loads(line)
            if record.get("skipped"):
                continue
            kept = [r for r in record["responses"] if true_reward(record["prompt"], r) >= 0.5]
            scores = [true_reward(record["prompt"], r) for r in kept]
            if len(set(scores)) < 2:
                continue
            groups = [[i for i, s in enumerate(scores) if s == v] for v in sorted(set(scores), reverse=True)]
            out.write(json.dumps({"prompt": record["prompt"], "responses": kept, "ranking": groups}) + "\n")


def format_pairs(source: str, target: str) -> None:
    with open(source) as f, open(target, "w") as out:
        for line in f:
            record = json.loads(line)
            if record.get("skipped"):
                continue
            responses = record["responses"]
            scores = [true_reward(record["prompt"], r) for r in responses]
            formatted = [s % 1 == 0.5 for s in scores]
            for i in range(len(responses)):
                for j in range(len(responses)):
                    if scores[i] > scores[j] and formatted[i] != formatted[j]:
                        out.write(json.dumps({"prompt": record["prompt"], "responses": [responses[i], responses[j]],
                                              "ranking": [[0], [1]]}) + "\n")


def contrast(source: str, target: str) -> None:
    with open(source) as f, open(target, "w") as out:
        for line in f:
            record = json.loads(line)
            record.pop("skipped", None)  # a prompt skipped for lack of distinct responses gains the two written ones
            a, op, b = re.fullmatch(r"What is (-?\d+) ([+-]) (-?\d+)\?", record["prompt"]).groups()
            answer = int(a) + int(b) if op == "+" else int(a) - int(b)
            offsets = [1, -1, 2, -2, 10, -10]
            offset = offsets[sum(map(ord, record["prompt"])) % len(offsets)]
            if answer + offset < 0:
                offset = -offset
            responses = list(record["responses"])
            for extra in (f"<answer>{answer}</answer>", f"<answer>{answer + offset}</answer>"):
                if extra not in responses:
                    responses.append(extra)
            scores = [true_reward(record["prompt"], r) for r in responses]
            groups = [[i for i, s in enumerate(scores) if s == v] for v in sorted(set(scores), reverse=True)]
            out.write(json.dumps(dict(record, responses=responses, ranking=groups)) + "\n")


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["--formatted-only"]:
        formatted_only(args[1], args[2])
        return
    if args[:1] == ["--contrast"]:
        contrast(args[1], args[2])
        return
    if args[:1] == ["--format-pairs"]:
        format_pairs(args[1], args[2])
        return
    limit = None
    if args[:1] == ["--limit"]:
        limit, args = int(args[1]), args[2:]
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        raise SystemExit(__doc__)
    child = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
    ranked = 0
    for line in child.stdout:
        shown = json.loads(line)
        if limit is not None and ranked >= limit:
            child.stdin.write("q\n")
            child.stdin.flush()
            break
        child.stdin.write(ranking_line(shown["prompt"], shown["responses"]) + "\n")
        child.stdin.flush()
        ranked += 1
    child.stdin.close()
    sys.exit(child.wait())


if __name__ == "__main__":
    main()
