# A thin wrapper around CMake, in the manner of Neovim's top-level Makefile:
# every target here only installs dependencies, configures, builds or runs
# something CMake and CTest already know how to do. Build rules live in
# CMakeLists.txt.
#
# Overridable:  make BUILD_TYPE=Debug CMAKE_FLAGS="-DCMAKE_C_COMPILER=clang"
#               make test CTEST_FLAGS="-R unit/"

BUILD_TYPE  ?= RelWithDebInfo
CMAKE_FLAGS ?=
CTEST_FLAGS ?=
BUILD_DIR   ?= build
ASAN_DIR    ?= build-asan
FAULT_DIR   ?= build-fault
FUZZ_DIR    ?= build-fuzz
FUZZ_SECONDS ?= 60
JOBS        ?= $(shell nproc 2>/dev/null || echo 2)

# Warnings are errors in CI (CI=true), so nothing merges with a warning in it.
# Locally they stay warnings: a newer compiler that adds a warning must not
# stop someone from building and trying Rapport. The setting is applied to
# every configure, not just `make test`, so that `make` and `make test` share
# one build directory without reconfiguring each other back and forth.
ifeq ($(CI),true)
  WERROR ?= ON
else
  WERROR ?= OFF
endif

# Sanitizer reports must fail the test that triggers them.
SANITIZER_ENV = ASAN_OPTIONS=detect_leaks=1 \
                UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# The C sources that lint and format look at.
SOURCES = $(shell find core tests -name '*.c' -o -name '*.h' 2>/dev/null | sort)

.PHONY: all deps configure build run test asan valgrind lint format bench clean fuzz fuzz-smoke

all: build

deps:
	@scripts/deps.sh

configure: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DRP_WERROR=$(WERROR) $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD_DIR) --parallel $(JOBS)

run: build
	./$(BUILD_DIR)/rapport -C examples/clinic render sessions/jd-07.yaml

# Then the fault-injection suite (tests/fault/), which needs a binary built
# with RP_FAULT_INJECTION: only that binary is built, into its own folder,
# so the release build carries no injection hook.
test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j2 $(CTEST_FLAGS)
	cmake -S . -B $(FAULT_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DRP_FAULT_INJECTION=ON \
	  -DRP_WERROR=$(WERROR) $(CMAKE_FLAGS)
	cmake --build $(FAULT_DIR) --target rapport --parallel $(JOBS)
	ctest --test-dir $(FAULT_DIR) --output-on-failure -R '^fault/'

# The sanitizer build also has allocation-failure injection (RP_FAULT_INJECTION,
# a counter per allocation), so that its run includes tests/fault/.
asan: deps
	cmake -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=Debug -DRP_SANITIZE=ON \
	  -DRP_FAULT_INJECTION=ON -DRP_WERROR=$(WERROR) $(CMAKE_FLAGS)
	cmake --build $(ASAN_DIR) --parallel $(JOBS)
	$(SANITIZER_ENV) ctest --test-dir $(ASAN_DIR) --output-on-failure -j2 $(CTEST_FLAGS)

# The end-to-end suite again with every run of the binary under valgrind's
# memcheck: a memory error or a definite leak makes that run exit 99, which
# fails its test. CI runs it after the sanitizer build.
VALGRIND = valgrind -q --error-exitcode=99 --leak-check=full \
           --errors-for-leak-kinds=definite --show-leak-kinds=definite
valgrind: build
	@scripts/deps.sh valgrind
	RAPPORT_WRAPPER="$(VALGRIND)" ctest --test-dir $(BUILD_DIR) --output-on-failure -j2 \
	  -R '^e2e/' $(CTEST_FLAGS)

lint:
	@scripts/deps.sh clang-format cppcheck lua-check
	clang-format --dry-run --Werror $(SOURCES)
	cppcheck --quiet --error-exitcode=1 --std=c11 --inline-suppr \
	  --enable=warning,performance,portability -Icore core
	luacheck --no-color plugins/ examples/plugins/

format:
	@scripts/deps.sh clang-format
	clang-format -i $(SOURCES)

bench: build
	tests/bench/run.sh

# libFuzzer targets (tests/fuzz/), built with clang, ASan and UBSan into
# their own directory and run for FUZZ_SECONDS each; any finding fails.
# Warnings stay warnings here: clang warns where gcc, which CI holds to
# -Werror, does not, and this build is for findings, not for style.
fuzz: deps
	@scripts/deps.sh libclang-rt-14-dev
	cmake -S . -B $(FUZZ_DIR) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DRP_FUZZ=ON -DBUILD_TESTING=OFF -DRP_WERROR=OFF $(CMAKE_FLAGS)
	cmake --build $(FUZZ_DIR) --target fuzz_targets --parallel $(JOBS)
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh $(FUZZ_DIR)

# The same, briefly: what CI runs.
fuzz-smoke:
	$(MAKE) fuzz FUZZ_SECONDS=15

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) $(FAULT_DIR)
