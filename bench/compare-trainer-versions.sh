#!/usr/bin/env bash
# Trains one translator recipe and one decoder recipe for a fixed number of steps with two glossa binaries (before and
# after a change to the training loop), side by side with one thread each, and prints their validation losses and
# throughput: the check that a refactor of the trainer leaves the committed recipes' results as they were.
#
#   bench/compare-trainer-versions.sh OLD_GLOSSA NEW_GLOSSA [TRANSLATOR_STEPS] [DECODER_STEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
old=$1 new=$2 tsteps=${3:-120} dsteps=${4:-100}
work=$(mktemp -d /tmp/glossa-trainer-versions.XXXXXX)
python3 - "$work" "$tsteps" "$dsteps" <<'PY'
import json, sys
work, tsteps, dsteps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for name, steps in (("en-de-transformer", tsteps), ("lm-en-de", dsteps)):
    recipe = json.load(open(f"recipes/{name}.json"))
    t = recipe["training"]
    t.pop("minutes", None)
    t.update(steps=steps, validate_every=20, validation_lines=0, checkpoint_every=10**6, average_last=1, keep_best=False, threads=1)
    json.dump(recipe, open(f"{work}/{name}.json", "w"))
PY
for recipe in en-de-transformer lm-en-de; do
  for side in old new; do
    bin=$old; [ $side = new ] && bin=$new
    "$bin" train --recipe "$work/$recipe.json" --output "$work/$recipe-$side" --threads 1 > /dev/null 2> "$work/$recipe-$side.log" &
  done
  wait
  python3 - "$work" "$recipe" <<'PY'
import json, sys
work, recipe = sys.argv[1:]
rows = {}
for side in ("old", "new"):
    history = json.load(open(f"{work}/{recipe}-{side}/training.json"))["history"]
    for r in history:
        dev = r.get("dev", {}).get("loss", r.get("devLoss"))
        rows.setdefault(r["step"], {})[side] = (r.get("trainLoss"), dev, r.get("tokens", r.get("units")), r["minutes"])
print(f"\n{recipe}: step | train loss old / new | dev loss old / new | target tokens/s old / new")
for step in sorted(rows):
    o, n = rows[step].get("old"), rows[step].get("new")
    if not o or not n or o[0] is None: continue
    rate = lambda x: x[2] / max(x[3] * 60, 1e-9)
    print(f"{step:5d} | {o[0]:.4f} / {n[0]:.4f} | {o[1]:.4f} / {n[1]:.4f} | {rate(o):.0f} / {rate(n):.0f}")
PY
done
echo "logs and models: $work"
