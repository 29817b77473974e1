#!/usr/bin/env bash
# Keeps a long run's progress in git: `save` copies the newest checkpoint's weights and trainer state (not Adam's
# moments: 2× the weights) into RUN/milestone/, which is committed; `restore` puts it back under RUN/checkpoints/ when
# the machine lost them, so `glossa train --recipe R --resume` continues from it with fresh moments (the resume line
# says so, and training.json records the session).
# Usage: scripts/longrun-milestone.sh save|restore [RUN]   (RUN: models/en-de-large)
set -euo pipefail
cd "$(dirname "$0")/.."
action=${1:?save or restore}
run=${2:-models/en-de-large}
case $action in
save)
  latest=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["latest"])' "$run/checkpoints/latest.json")
  rm -rf "$run/milestone.tmp"
  mkdir -p "$run/milestone.tmp/$latest"
  cp "$run/checkpoints/$latest/model.safetensors" "$run/checkpoints/$latest/trainer.json" "$run/milestone.tmp/$latest/"
  rm -rf "$run/milestone"
  mv "$run/milestone.tmp" "$run/milestone"
  echo "saved $latest to $run/milestone (commit it)" >&2 ;;
restore)
  saved=$(ls "$run/milestone" | grep '^step-' | tail -1)
  if [ -e "$run/checkpoints/latest.json" ]; then
    have=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["latest"])' "$run/checkpoints/latest.json")
    if [[ ! "$have" < "$saved" ]]; then echo "$run/checkpoints already holds $have (not older than $saved); nothing to restore" >&2; exit 0; fi
  fi
  mkdir -p "$run/checkpoints"
  cp -r "$run/milestone/$saved" "$run/checkpoints/$saved"
  printf '{"latest": "%s"}\n' "$saved" > "$run/checkpoints/latest.json"
  echo "restored $saved into $run/checkpoints; resume with glossa train --recipe RECIPE --resume" >&2 ;;
*) echo "usage: $0 save|restore [RUN]" >&2; exit 64 ;;
esac
