# Thin wrapper over CMake/CTest. See README.md.
BUILD      ?= build
TEST_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
TSAN_BUILD ?= build-tsan
LISTEN     ?= 127.0.0.1:8080
DATA       ?= ./data
JOBS       ?= $(shell nproc)
PREFIX     ?= /usr/local
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 20

.PHONY: all build web deps run cluster install test tsan unit e2e fuzz fuzz-smoke soak bench bench-targets bench-search bench-files bench-cluster bench-tls bench-web clean format format-check

all: build

deps:
	@scripts/deps.sh

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j$(JOBS) --target magpie

# The web client alone, into web/dist (the builds above embed their own copy).
web: deps
	@cd web && npm run --silent build

# The binary, magpie(1), the example config, the systemd unit: PREFIX and
# DESTDIR as usual (docs/operations.md).
install: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS) --target magpie magpie_docs
	@DESTDIR=$(DESTDIR) cmake --install $(BUILD)

run: deps build
	$(BUILD)/magpie serve --listen $(LISTEN) --data $(DATA)

# A throwaway cluster to try (docs/cluster.md): PostgreSQL, NATS and three
# nodes behind haproxy on 127.0.0.1:8080; Ctrl-C stops it and removes it all.
# PORT, NODES, EXTRA_FLAGS, KEEP: see scripts/cluster.sh.
cluster: deps build
	@BIN=$(BUILD)/magpie scripts/cluster.sh

$(TEST_BUILD)/CMakeCache.txt:
	@CC=clang cmake -S . -B $(TEST_BUILD) -DCMAKE_BUILD_TYPE=Debug -DMAGPIE_SANITIZE=ON >/dev/null

test: deps $(TEST_BUILD)/CMakeCache.txt
	@cmake --build $(TEST_BUILD) -j$(JOBS)
	@cd $(TEST_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j$(JOBS) $(CTEST_ARGS)

$(TSAN_BUILD)/CMakeCache.txt:
	@CC=clang cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DMAGPIE_TSAN=ON >/dev/null

# Every CTest test under ThreadSanitizer; the e2e servers inherit TSAN_OPTIONS.
# Suppressions (third-party code only) are in scripts/tsan.supp.
tsan: deps $(TSAN_BUILD)/CMakeCache.txt
	@cmake --build $(TSAN_BUILD) -j$(JOBS)
	@cd $(TSAN_BUILD) && \
	  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(CURDIR)/scripts/tsan.supp" \
	  ctest --output-on-failure -j$(JOBS) $(CTEST_ARGS)

fuzz: deps
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DMAGPIE_FUZZ=ON -DMAGPIE_WEB=OFF >/dev/null
	@cmake --build $(FUZZ_BUILD) -j$(JOBS) --target fuzzers
	@for f in $(FUZZ_BUILD)/fuzz_*; do \
	  n=$$(basename $$f); mkdir -p $(FUZZ_BUILD)/corpus/$$n; \
	  if [ $$n = fuzz_media ]; then scripts/fuzz-media-seeds.sh $(FUZZ_BUILD)/corpus/$$n || exit 1; fi; \
	  if [ $$n = fuzz_tls ]; then scripts/fuzz-tls-seeds.py $(FUZZ_BUILD)/corpus/$$n || exit 1; fi; \
	  echo "fuzz: $$n for $(FUZZ_SECONDS)s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    $(FUZZ_BUILD)/corpus/$$n tests/fuzz/corpus/$$n || exit 1; \
	done

fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS)

soak: deps $(TEST_BUILD)/CMakeCache.txt
	@cmake --build $(TEST_BUILD) -j$(JOBS) --target e2e_test_chat_durability magpie
	@# Run directly, not through ctest: 200 rounds outlast the per-test timeout.
	@MAGPIE_BIN=$(TEST_BUILD)/magpie MAGPIE_SOAK_ITERATIONS=$${MAGPIE_SOAK_ITERATIONS:-200} \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $(TEST_BUILD)/e2e_test_chat_durability

bench: deps
	@scripts/bench.sh

# The second performance pass's workloads against their targets
# (scripts/bench-targets.sh).
bench-targets: deps
	@scripts/bench-targets.sh

bench-search: deps
	@scripts/bench-search.sh

bench-files: deps
	@scripts/bench-files.sh

# One node against three on PostgreSQL and NATS (scripts/bench-cluster.sh).
bench-cluster: deps
	@scripts/bench-cluster.sh

# Plain against TLS: WebSocket throughput, memory per connection, handshakes/s
# (scripts/bench-tls.sh).
bench-tls: deps
	@scripts/bench-tls.sh

# The web client's budgets in chromium against a Release server: initial JS,
# the list's first paint with 1,000 conversations, scrolling 10,000 messages.
bench-web: deps build
	@cd web && MAGPIE_BIN=../$(BUILD)/magpie node tests/perf/bench-web.mjs

clean:
	rm -rf $(BUILD) $(TEST_BUILD) $(FUZZ_BUILD) $(TSAN_BUILD)

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	@clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')
