# The front door. `make` builds the library; `make demo` and `make check`,
# the README's two commands, first install any missing Debian package
# (scripts/install-deps), then run the demo, or build with
# AddressSanitizer+UBSan and run every test. See README.md.

BUILD   ?= build
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
PREFIX  ?= /usr/local
CMAKE   ?= cmake
CTEST   ?= ctest

.PHONY: all deps build check check-asan check-tsan check-install fuzz fuzz-smoke demo bench install clean

# Prerequisites in the order written, even under `make -j`: the packages
# must be there before CMake looks for them. Each step parallelises itself
# (cmake --build -j, ctest -j).
.NOTPARALLEL:

all: build

deps:
	@scripts/install-deps

# Release build of the library, the examples and (when cmocka is there) the
# tests.
build:
	$(CMAKE) -S . -B $(BUILD)/release -DCMAKE_BUILD_TYPE=RelWithDebInfo
	$(CMAKE) --build $(BUILD)/release -j $(JOBS)

check: deps check-asan check-install

check-asan:
	$(CMAKE) -S . -B $(BUILD)/asan -DCMAKE_BUILD_TYPE=Debug -DWH_SANITIZE=address,undefined
	$(CMAKE) --build $(BUILD)/asan -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $(CTEST) --test-dir $(BUILD)/asan --output-on-failure -j $(JOBS)

# The concurrency suite under ThreadSanitizer (CONTRACT.md: every clause's
# test runs under TSan).
check-tsan: deps
	$(CMAKE) -S . -B $(BUILD)/tsan -DCMAKE_BUILD_TYPE=Debug -DWH_SANITIZE=thread \
	  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
	$(CMAKE) --build $(BUILD)/tsan -j $(JOBS)
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  $(CTEST) --test-dir $(BUILD)/tsan --output-on-failure -L concurrency

# Installs a release build into a scratch prefix and builds a consumer
# through pkg-config and through find_package(WinHTTP), as C and C++.
check-install: build
	scripts/check-install $(BUILD)/release

# libFuzzer binaries (clang), and a short deterministic run of each.
fuzz: deps
	$(CMAKE) -S . -B $(BUILD)/fuzz -DCMAKE_BUILD_TYPE=Debug -DWH_BUILD_FUZZERS=ON \
	  -DWH_SANITIZE=address,undefined -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
	$(CMAKE) --build $(BUILD)/fuzz -j $(JOBS)

fuzz-smoke: fuzz
	scripts/fuzz-smoke $(BUILD)/fuzz

demo: deps build
	scripts/demo $(BUILD)/release

# The benchmark against libcurl and libwebsockets, with the limit of each
# row (bench_raw, wrk, h2load) in the same rounds (needs nginx with
# stub_status, libcurl, libwebsockets, wrk and h2load; never part of ctest):
# a Release build in $(BUILD)/bench, then bench/run.sh, which rewrites
# docs/PERFORMANCE.md (RUNS, SECS, MODES, STEAL_MAX, PROFILE=1: see
# bench/run.sh).
# Warnings are not errors here: -O3 finds maybe-uninitialized false
# positives that the checked builds (RelWithDebInfo, Debug) do not.
bench: deps
	$(CMAKE) -S . -B $(BUILD)/bench -DCMAKE_BUILD_TYPE=Release -DWH_BUILD_BENCH=ON -DWH_WERROR=OFF \
	  -DWH_BUILD_TESTS=OFF -DWH_BUILD_EXAMPLES=OFF
	$(CMAKE) --build $(BUILD)/bench -j $(JOBS) --target bench_sync bench_raw bench_async bench_scale bench_ws bench_threads
	bench/run.sh $(BUILD)/bench

install: build
	$(CMAKE) --install $(BUILD)/release --prefix $(PREFIX)

clean:
	rm -rf $(BUILD)
