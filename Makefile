# Everyday entry points. Every target that builds uses one release configuration (optimised, with
# -enable-testing), so `make demo`, `make bench` and `make test` share one set of build products instead of
# rebuilding each other's. Extra flags: `make test SWIFT_FLAGS='-j 1'`.

SWIFT ?= swift
SWIFT_FLAGS ?=
# Numeric tests need an optimised build; -enable-testing lets the same products serve the tests.
BUILD_FLAGS = -c release -Xswiftc -enable-testing $(SWIFT_FLAGS)
# Where the build put `glossa`, asked of SwiftPM inside each recipe so it follows SWIFT_FLAGS.
GLOSSA = "$$($(SWIFT) build $(BUILD_FLAGS) --show-bin-path)/glossa"
BENCH_ARGS ?=
DIST ?= dist
MODEL_DIR = models/en-de
SPM_MODEL = $(firstword $(wildcard Tests/GlossaSentencePieceTests/Fixtures/*.model))
DEMO_TEXT = 'Open the file.\nThis function is not available.\nChoose Format - Paragraph.\nSelect the cells that you want to copy.\n'

.PHONY: bootstrap build demo test bench release example-plugin docs fuzz

bootstrap:
	scripts/bootstrap

build: bootstrap
	$(SWIFT) build $(BUILD_FLAGS) --product glossa

# Translates a few lines with the shipped model; until models/en-de exists, shows the tokenizer and a kernel instead.
demo: build
	@set -e; glossa=$(GLOSSA); \
	if [ -d "$(MODEL_DIR)" ]; then \
		echo "== English -> German with $(MODEL_DIR) (glossa translate)"; \
		printf $(DEMO_TEXT) > .build/demo.en; \
		"$$glossa" translate < .build/demo.en | paste -d '\t' .build/demo.en - | sed 's/\t/  ->  /'; \
	else \
		echo "== no translation model in $(MODEL_DIR) yet: tokenizer demo with $(SPM_MODEL)"; \
		echo "-- pieces"; \
		printf 'Open the file.\nKlicken Sie auf OK, um die Änderungen zu speichern.\n' \
			| "$$glossa" tokenizer encode --model "$(SPM_MODEL)" --output-format piece; \
		echo "-- ids"; \
		printf 'Open the file.\nKlicken Sie auf OK, um die Änderungen zu speichern.\n' \
			| "$$glossa" tokenizer encode --model "$(SPM_MODEL)" --output-format id; \
		echo "-- ids decoded back to text"; \
		printf 'Open the file.\nKlicken Sie auf OK, um die Änderungen zu speichern.\n' \
			| "$$glossa" tokenizer encode --model "$(SPM_MODEL)" \
			| "$$glossa" tokenizer decode --model "$(SPM_MODEL)"; \
		echo "-- softmax kernel against its reference loop"; \
		"$$glossa" bench softmax --seconds 0.2; \
	fi

test: bootstrap
	$(SWIFT) build $(BUILD_FLAGS) --build-tests
	$(SWIFT) test $(BUILD_FLAGS) --skip-build

bench: build
	glossa=$(GLOSSA); "$$glossa" bench $(BENCH_ARGS)

release: build
	mkdir -p "$(DIST)/bin" "$(DIST)/share/glossa/models"
	glossa=$(GLOSSA); cp "$$glossa" "$(DIST)/bin/glossa"
	if [ -d models ]; then cp -R models/. "$(DIST)/share/glossa/models/"; fi
	@echo "installed $(DIST)/bin/glossa and $(DIST)/share/glossa/models/"

# The out-of-tree plugin example: build Examples/ConvEncoder (its own package, depending on this one by path), run its
# tests (receptive field, conformance kit, U-Net tagger, and the library loaded into this `glossa` end to end), then
# load it with --plugin: list it, train it briefly from its recipe, embed a few lines, time it against a static link,
# and train the U-Net tagger briefly through `glossa run conv-tagger` and tag two lines with it.
EXAMPLE = Examples/ConvEncoder
example-plugin: build
	cd $(EXAMPLE) && $(SWIFT) build $(BUILD_FLAGS) --build-tests
	glossa=$(GLOSSA); cd $(EXAMPLE) && GLOSSA_BINARY="$$glossa" $(SWIFT) test $(BUILD_FLAGS) --skip-build
	@set -e; glossa=$(GLOSSA); bin="$$(cd $(EXAMPLE) && $(SWIFT) build $(BUILD_FLAGS) --show-bin-path)"; \
	echo "== glossa --plugin $$bin/libConvEncoder.so plugins"; \
	"$$glossa" --plugin "$$bin/libConvEncoder.so" plugins | grep -E '^(name|conv-encoder|attention-pooling|conv-unet-tagger|conv-tagger) '; \
	echo "== train the conv encoder from $(EXAMPLE)/recipe.json (a few steps)"; \
	"$$glossa" --plugin "$$bin/libConvEncoder.so" train --recipe $(EXAMPLE)/recipe.json --steps $(EXAMPLE_STEPS); \
	echo "== embed three lines with it (first four numbers of each vector)"; \
	printf 'Open the file.\nÖffnen Sie die Datei.\nThis function is not available.\n' \
		| "$$glossa" --plugin "$$bin/libConvEncoder.so" embed --model $(EXAMPLE)/.build/en-de-conv-embedder --format tsv | cut -f1-4; \
	echo "== the plugin through the registry vs the same code linked statically"; \
	"$$glossa" --plugin "$$bin/libConvEncoder.so" bench plugin --static-runner "$$bin/conv-encoder-bench" --seconds 0.5; \
	echo "== train the U-Net tagger from $(EXAMPLE)/tagger-recipe.json (a few steps; the README's runs train minutes)"; \
	"$$glossa" --plugin "$$bin/libConvEncoder.so" run conv-tagger train --recipe $(EXAMPLE)/tagger-recipe.json --steps $(EXAMPLE_STEPS); \
	echo "== restore case and punctuation of two lines with it"; \
	printf 'open the file\nwould you like to have dinner with me\n' \
		| "$$glossa" --plugin "$$bin/libConvEncoder.so" run conv-tagger tag --model $(EXAMPLE)/.build/en-tagger-unet
EXAMPLE_STEPS ?= 20

# DocC for the SDK face (warnings name undocumented or unresolved symbols).
docs:
	$(SWIFT) package generate-documentation --target Glossa

# libFuzzer targets (docs/fuzzing.md), built apart in .build/fuzz with ASan and libFuzzer; each runs SECONDS
# seconds from its seeds in Fuzz/Corpus/NAME, keeping what it learns in .build/fuzz-work/NAME/corpus. A crash stops
# nothing else but makes the target fail; its input lands in .build/fuzz-work/NAME/artifacts. Fix it, then commit
# the input to Fuzz/Regressions/NAME, where `make test` replays it.
SECONDS ?= 60
FUZZ_TARGETS = safetensors-header:SafetensorsHeader plugin-configuration:PluginConfiguration recipe:Recipe \
	vocab-json:VocabJson vocab-txt:VocabTxt sentencepiece-model:SentencepieceModel line-reader:LineReader
# -sanitize=fuzzer links libFuzzer's own main, which clashes with the entry point SwiftPM gives every executable;
# so the targets get exactly the instrumentation -sanitize=fuzzer,address adds (ASan, inline 8-bit counters, PC table,
# comparison tracing) and libFuzzer without its main, whose driver each target's main.swift calls.
FUZZ_RUNTIME ?= $(firstword $(wildcard $(dir $(shell command -v $(SWIFT)))../lib/clang/*/lib/linux/libclang_rt.fuzzer_no_main-x86_64.a))
FUZZ_BUILD = GLOSSA_FUZZ=1 $(SWIFT) build --scratch-path .build/fuzz -c release -Xswiftc -sanitize=address \
	-Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp -Xlinker $(FUZZ_RUNTIME) -Xlinker -lstdc++ $(SWIFT_FLAGS)
FUZZ_RUN_FLAGS ?= -rss_limit_mb=4096 -timeout=20 -print_final_stats=1

fuzz:
	@set -e; for pair in $(FUZZ_TARGETS); do $(FUZZ_BUILD) --product Fuzz$${pair##*:}; done
	@bin="$$($(FUZZ_BUILD) --show-bin-path)"; failed=""; \
	for pair in $(FUZZ_TARGETS); do \
		name=$${pair%%:*}; work=.build/fuzz-work/$$name; mkdir -p $$work/corpus $$work/artifacts; \
		seeds="Fuzz/Corpus/$$name"; [ -d Fuzz/Regressions/$$name ] && seeds="$$seeds Fuzz/Regressions/$$name"; \
		[ $$name = sentencepiece-model ] && seeds="$$seeds Tests/GlossaSentencePieceTests/Fixtures"; \
		[ $$name = safetensors-header ] && seeds="$$seeds Tests/GlossaNNTests/Fixtures/safetensors"; \
		echo "== $$name: $(SECONDS) s"; \
		if "$$bin/Fuzz$${pair##*:}" -max_total_time=$(SECONDS) $(FUZZ_RUN_FLAGS) -artifact_prefix=$$work/artifacts/ \
			$$work/corpus $$seeds > $$work/log.txt 2>&1; then status=ok; else status=CRASH; failed="$$failed $$name"; fi; \
		runs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $$work/log.txt); \
		cov=$$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' $$work/log.txt | tail -1); \
		echo "   $$status: $${runs:-?} executions, $$cov (log $$work/log.txt)"; \
	done; \
	if [ -n "$$failed" ]; then echo "crashes in:$$failed (inputs in .build/fuzz-work/*/artifacts)"; exit 1; fi
