# Thin wrapper over CMake. The README's two commands are `make demo` and `make test`.
JOBS ?= $(shell nproc)
RELEASE_DIR := build
TEST_DIR := build-test
FUZZ_DIR := build-fuzz
FUZZ_SECONDS ?= 60

.PHONY: all deps release test test-build fuzz demo bench clean

all: release

deps:
	@scripts/install-deps.sh

release: deps
	@cmake -S . -B $(RELEASE_DIR) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(RELEASE_DIR) -j $(JOBS) -- --no-print-directory

# Debug + ASan + UBSan + -Werror, then every test; the last line is "N passed, N failed".
test-build: deps
	@cmake -S . -B $(TEST_DIR) -DCMAKE_BUILD_TYPE=Debug -DEBM_SANITIZE=ON -DEBM_WERROR=ON >/dev/null
	@cmake --build $(TEST_DIR) -j $(JOBS) -- --no-print-directory

test: test-build
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	  $(TEST_DIR)/ebm_tests

fuzz: deps
	@CC=clang cmake -S . -B $(FUZZ_DIR) -DCMAKE_BUILD_TYPE=Debug -DEBM_FUZZ=ON -DEBM_SANITIZE=ON >/dev/null
	@cmake --build $(FUZZ_DIR) -j $(JOBS)
	@scripts/run-fuzz.sh $(FUZZ_DIR) $(FUZZ_SECONDS)

demo: release
	@scripts/demo.sh $(RELEASE_DIR)/ebm

bench: release
	@bench/compare.sh $(RELEASE_DIR)/ebm

clean:
	rm -rf $(RELEASE_DIR) $(TEST_DIR) $(FUZZ_DIR)
