# pmuprof: the two set-up commands of the README, and their parts.
#   make demo   installs dependencies, builds, counts and records the bundled `mix`
#               workload and prints the report
#   make test   installs dependencies, builds with -Werror, runs every test, then the
#               tests again under AddressSanitizer + UndefinedBehaviorSanitizer, then
#               each fuzz target for FUZZ_SECONDS, then the lab (make lab)
#   make fuzz   builds the libFuzzer targets of tests/fuzz with clang and runs each for
#               FUZZ_SECONDS (default 30) from its seed corpus
#   make test-host  the same without the lab
#   make lab    builds, then runs the lab's tests: pmuprof in emulated NUMA machines
#               (tests/lab/run; QEMU and a Debian kernel, cached in $(BUILD)/lab) and
#               the arm64 build (make arm64) in an arm64 machine with a PMU
#   make arm64  cross-builds pmuprof for arm64 into $(BUILD)/arm64 (cmake/aarch64-linux-gnu.cmake,
#               against the sysroot tests/lab/run --sysroot makes) and runs its unit
#               tests under qemu-aarch64

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 30
CMAKE_GEN  ?= -G Ninja
ARM64_BUILD = $(BUILD)/arm64
# Where the lab keeps its kernels, guests' roots and the arm64 sysroot (the lab tests'
# default too: tests/CMakeLists.txt).
LAB_CACHE  ?= $(or $(PMUPROF_LAB_DIR),$(abspath $(BUILD))/lab)

.PHONY: deps build demo test test-host test-asan fuzz lab arm64 clean

deps:
	@if [ "$$(id -u)" -eq 0 ]; then scripts/install-deps.sh; else sudo scripts/install-deps.sh; fi

build: deps
	cmake -S . -B $(BUILD) $(CMAKE_GEN) -DPMUPROF_WERROR=ON
	cmake --build $(BUILD)

demo: build
	$(BUILD)/cli/pmuprof stat -- $(BUILD)/bench/mix
	$(BUILD)/cli/pmuprof record -o $(BUILD)/mix.pb.gz -- $(BUILD)/bench/mix
	$(BUILD)/cli/pmuprof report $(BUILD)/mix.pb.gz --top 10

test: test-host
	$(MAKE) lab

test-host: build
	ctest --test-dir $(BUILD) --output-on-failure -LE lab
	$(MAKE) test-asan
	$(MAKE) fuzz

test-asan: deps
	cmake -S . -B $(ASAN_BUILD) $(CMAKE_GEN) -DPMUPROF_WERROR=ON -DPMUPROF_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
	cmake --build $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		ctest --test-dir $(ASAN_BUILD) --output-on-failure -LE lab

# One guest at a time (the tests are RUN_SERIAL): each boots QEMU on the host's CPUs.
lab: build arm64
	PMUPROF_LAB=1 ctest --test-dir $(BUILD) --output-on-failure -L lab

arm64: deps
	sysroot=$$(tests/lab/run --sysroot --cache $(LAB_CACHE)) && \
	cmake -S . -B $(ARM64_BUILD) $(CMAKE_GEN) -DPMUPROF_WERROR=ON \
		-DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake -DPMUPROF_SYSROOT=$$sysroot
	cmake --build $(ARM64_BUILD)
	ctest --test-dir $(ARM64_BUILD) --output-on-failure

fuzz: deps
	cmake -S . -B $(FUZZ_BUILD) $(CMAKE_GEN) -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
		-DPMUPROF_FUZZ=ON
	cmake --build $(FUZZ_BUILD) --target fuzz-targets
	tests/fuzz/run.sh $(FUZZ_BUILD)/tests/fuzz $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
