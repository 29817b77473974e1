#!/bin/sh
# Builds the case-and-punctuation restoration task from corpora/en-de.{train,dev,test}.en into
# Examples/ConvEncoder/.build/tagging/: PREFIX.input (lowercased, sentence punctuation removed) and PREFIX.labels
# (one label per character). Deterministic: the same corpus gives the same files. Run from the repository root
# after `make example-plugin` (or building both packages with -c release -Xswiftc -enable-testing).
set -eu
glossa="${GLOSSA:-$(swift build -c release -Xswiftc -enable-testing --show-bin-path)/glossa}"
library="${LIBRARY:-$(cd Examples/ConvEncoder && swift build -c release -Xswiftc -enable-testing --show-bin-path)/libConvEncoder.so}"
out=Examples/ConvEncoder/.build/tagging
mkdir -p "$out"
for split in train dev test; do
    "$glossa" --plugin "$library" run conv-tagger make-data --text "corpora/en-de.$split.en" --output "$out/en.$split"
done
