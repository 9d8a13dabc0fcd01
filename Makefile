# Thin wrapper over CMake/CTest. See README.md.
BUILD      ?= build
TEST_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
LISTEN     ?= 127.0.0.1:8080
DATA       ?= ./data
JOBS       ?= $(shell nproc)
FUZZ_SECONDS ?= 60

.PHONY: all build deps run test unit e2e fuzz soak bench clean format

all: build

deps:
	@scripts/deps.sh

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j$(JOBS) --target magpie

run: deps build
	$(BUILD)/magpie serve --listen $(LISTEN) --data $(DATA)

$(TEST_BUILD)/CMakeCache.txt:
	@CC=clang cmake -S . -B $(TEST_BUILD) -DCMAKE_BUILD_TYPE=Debug -DMAGPIE_SANITIZE=ON >/dev/null

test: deps $(TEST_BUILD)/CMakeCache.txt
	@cmake --build $(TEST_BUILD) -j$(JOBS)
	@cd $(TEST_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j$(JOBS) $(CTEST_ARGS)

fuzz: deps
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DMAGPIE_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j$(JOBS)
	@for f in $(FUZZ_BUILD)/fuzz_*; do \
	  n=$$(basename $$f); mkdir -p $(FUZZ_BUILD)/corpus/$$n; \
	  echo "fuzz: $$n for $(FUZZ_SECONDS)s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    $(FUZZ_BUILD)/corpus/$$n tests/fuzz/corpus/$$n || exit 1; \
	done

soak: deps $(TEST_BUILD)/CMakeCache.txt
	@cmake --build $(TEST_BUILD) -j$(JOBS) --target e2e_test_chat_durability magpie
	@# Run directly, not through ctest: 200 rounds outlast the per-test timeout.
	@MAGPIE_BIN=$(TEST_BUILD)/magpie MAGPIE_SOAK_ITERATIONS=$${MAGPIE_SOAK_ITERATIONS:-200} \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $(TEST_BUILD)/e2e_test_chat_durability

bench: deps
	@scripts/bench.sh

clean:
	rm -rf $(BUILD) $(TEST_BUILD) $(FUZZ_BUILD)

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')
