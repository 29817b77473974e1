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

.PHONY: bootstrap build demo test bench release

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
