# Thin wrapper over CMake. The README's two commands are `make demo` and `make test`.
JOBS ?= $(shell nproc)
RELEASE_DIR := build
TEST_DIR := build-test
FUZZ_DIR := build-fuzz
FUZZ_SECONDS ?= 60

PREFIX ?= /usr/local

.PHONY: all deps release install test test-build fuzz demo examples bench clean

all: release

deps:
	@scripts/install-deps.sh

release: deps
	@cmake -S . -B $(RELEASE_DIR) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(RELEASE_DIR) -j $(JOBS) -- --no-print-directory

# ebm, libebm.a/.so, headers, ebm.pc, ebm.1 and the Python module under PREFIX.
install: release
	@cmake --install $(RELEASE_DIR) --prefix $(PREFIX)

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

# Data pictures, then training (2-D toys with exact NLL; uva-cnn on Fashion-MNIST).
demo: release
	@scripts/demo.sh $(RELEASE_DIR)/ebm
	@scripts/demo-train.sh $(RELEASE_DIR)/ebm

# Composition / inpainting / denoising pictures; uses the demo's Fashion-MNIST
# model when `make demo` has run (CKPT= and COND_CKPT= override).
CKPT ?= $(wildcard demo/out/train/fashion-mnist-fresh/ckpt/last.safetensors)
COND_CKPT ?=
examples: release
	@scripts/examples.sh $(RELEASE_DIR)/ebm $(CKPT) $(COND_CKPT)

# ebm next to the PyTorch reference in the same run (installs python3-torch).
bench: release
	@scripts/install-deps.sh --torch
	@bench/compare.sh $(RELEASE_DIR)/ebm

clean:
	rm -rf $(RELEASE_DIR) $(TEST_DIR) $(FUZZ_DIR)
