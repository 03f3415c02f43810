# Bridgeline: the two commands that matter are `make run` and `make test`.
BUILD_DIR ?= build
JOBS ?= 2
CMAKE_FLAGS ?=
CONFIG ?= config/example.yaml

.PHONY: all deps test-deps bench-deps build run test test-fast bench crash-test fuzz test-sanitize format check-format clean

all: build

deps:
	@scripts/install-deps.sh

test-deps:
	@scripts/install-deps.sh --test

bench-deps:
	@scripts/install-deps.sh --bench

build: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	@mkdir -p var
	$(BUILD_DIR)/broker/bridgeline serve --config $(CONFIG)

# Every test, slow suites included, a short fuzzing run of request decoding, and the style.
test: test-deps build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)
	scripts/fuzz.sh 30
	scripts/check-format.sh

# Only the fast suites: what a developer runs between edits.
test-fast: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS) -LE 'slow'

bench: bench-deps build
	$(BUILD_DIR)/tests/bench/bridgeline_bench

# The long crash run: 200 kill -9s under load (the default suite does 20).
crash-test: test-deps build
	BRIDGELINE_CRASH_KILLS=200 $(BUILD_DIR)/tests/crash/crash_test

# libFuzzer on request decoding with ASan and UBSan (clang), 10 minutes.
fuzz: test-deps
	scripts/fuzz.sh $(or $(FUZZ_SECONDS),600)

# Every ctest suite built with AddressSanitizer and UndefinedBehaviorSanitizer.
test-sanitize: test-deps
	@cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBRIDGELINE_SANITIZE=ON >/dev/null
	@cmake --build build-sanitize -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir build-sanitize --output-on-failure -j $(JOBS)

format:
	@clang-format -i $$(git ls-files '*.cc' '*.h')

# Fails, naming the files, when one is not as `make format` would leave it.
check-format:
	@scripts/check-format.sh

clean:
	rm -rf $(BUILD_DIR)
