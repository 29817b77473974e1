#!/usr/bin/env python3
"""Opens a Glossa language-model directory in transformers and compares greedy continuations.

Usage: scripts/check-llama-roundtrip.py MODEL_DIR [--glossa .build/release/glossa] [--prompts FILE] [--max-new-tokens 20]

Loads MODEL_DIR with `transformers.LlamaForCausalLM.from_pretrained` (config.json in the Llama layout,
model.safetensors with tied embeddings), tokenises each prompt with MODEL_DIR/tokenizer.model, prepends
the BOS id from config.json as `glossa generate` does, and runs greedy search for --max-new-tokens tokens,
stopping at EOS. Then runs `glossa generate --temperature 0` on the same prompts and prints how many
continuations are identical. Reference side only: needs torch, transformers and sentencepiece.
"""
import argparse
import json
import os
import subprocess
import sys

import sentencepiece as spm
import torch
from transformers import LlamaForCausalLM

DEFAULT_PROMPTS = ["Open the", "Click", "The file", "Die Datei", "Klicken Sie auf", "Select the", "This is", "Es ist",
                   "Save", "Wählen Sie"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("--glossa", default=".build/release/glossa")
    parser.add_argument("--prompts")
    parser.add_argument("--max-new-tokens", type=int, default=20)
    args = parser.parse_args()
    prompts = DEFAULT_PROMPTS
    if args.prompts:
        with open(args.prompts, encoding="utf-8") as f:
            prompts = [line.rstrip("\n") for line in f]
    config = json.load(open(os.path.join(args.model, "config.json")))
    sp = spm.SentencePieceProcessor(model_file=os.path.join(args.model, "tokenizer.model"))
    model = LlamaForCausalLM.from_pretrained(args.model).eval()
    torch.set_num_threads(1)
    reference = []
    with torch.no_grad():
        for prompt in prompts:
            ids = [config["bos_token_id"]] + sp.encode(prompt)
            out = model.generate(torch.tensor([ids]), max_new_tokens=args.max_new_tokens - 1, do_sample=False,
                                 eos_token_id=config["eos_token_id"], pad_token_id=config["pad_token_id"])
            new = [t for t in out[0, len(ids):].tolist() if t != config["eos_token_id"]]
            reference.append(prompt + sp.decode(sp.encode(prompt) + new)[len(sp.decode(sp.encode(prompt))):])
    run = subprocess.run([args.glossa, "generate", "--model", args.model, "--temperature", "0",
                          "--max-new-tokens", str(args.max_new_tokens)], input="\n".join(prompts) + "\n",
                         capture_output=True, text=True, check=True)
    ours = run.stdout.splitlines()
    same = sum(a == b for a, b in zip(ours, reference))
    for a, b in zip(ours, reference):
        if a != b:
            print(f"glossa:       {a}\ntransformers: {b}")
    print(f"{same} of {len(prompts)} greedy continuations identical (transformers {__import__('transformers').__version__})")
    sys.exit(0 if same == len(prompts) else 1)


if __name__ == "__main__":
    main()
