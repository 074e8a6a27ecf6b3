# Quiver: two commands do everything on a fresh Debian 12 machine.
#   make run   - install what is missing, build, start the standalone server
#   make test  - install what is missing, build, run every test
# And make cluster starts a whole cluster on this machine (docs/CLUSTER.md).
SHELL := /bin/bash
BUILD_DIR ?= build
DATA_DIR ?= ./data
HOST ?= 127.0.0.1
PORT ?= 8888
JOBS ?= 2
# Debian's interpreter: the packaged pytest/requests/numpy live there.
PYTHON ?= /usr/bin/python3

DEB_PACKAGES := g++ cmake ninja-build ccache pkg-config \
  libgtest-dev libgmock-dev libbenchmark-dev \
  nlohmann-json3-dev libsimdjson-dev libcpp-httplib-dev libssl-dev zlib1g-dev libbrotli-dev \
  libfmt-dev libspdlog-dev libcli11-dev libxxhash-dev libzstd-dev libroaring-dev libfaiss-dev \
  libhnswlib-dev \
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc \
  golang-etcd-server-dev golang-github-gogo-protobuf-dev golang-github-grpc-ecosystem-grpc-gateway-dev \
  etcd-server libcurl4-openssl-dev libpugixml-dev ceph-mon ceph-osd radosgw ceph-common \
  libnats-dev nats-server \
  python3 python3-pytest python3-requests python3-numpy python3-xxhash curl iproute2 strace openssl wrk \
  clang-14 libclang-rt-14-dev libomp-14-dev clang-tidy-14

.PHONY: all deps configure build run cluster cluster-status cluster-down test test-unit test-e2e test-fuzz fuzz build-fuzz build-asan test-asan build-tsan test-tsan check-thread-safety bench-ann bench-concurrency bench-http-ann bench-cluster bench-failover bench bench-storage bench-kernels bench-filters soak-crash soak-load soak-cluster lint format clean

all: build

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "Installing missing packages:" $$missing; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $$missing; \
	else echo "All build and test packages are installed."; fi
	@# Node.js and npm run Epsilla's JavaScript client in the e2e tests; a
	@# machine may have them from elsewhere (NodeSource), so look for the commands.
	@if ! command -v node >/dev/null || ! command -v npm >/dev/null; then \
	  echo "Installing nodejs and npm"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
	    --no-install-recommends nodejs npm; fi

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release

configure: $(BUILD_DIR)/build.ninja

build: deps configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	$(BUILD_DIR)/bin/quiver serve --data $(DATA_DIR) --host $(HOST) --port $(PORT)

# A cluster of local processes on 127.0.0.1 (docs/CLUSTER.md, "Running a
# cluster locally"): etcd, 3 NATS servers, a directory as object store, 3
# nodes, 2 dispatchers; data and logs in CLUSTER_DIR; left running. More
# flags of `quiver cluster up` in CLUSTER_FLAGS, e.g. "--object-store rgw".
# Run again after make cluster-down, it starts the same cluster again.
CLUSTER_DIR ?= $(CURDIR)/cluster
CLUSTER_FLAGS ?=
cluster: build
	@up=$$($(BUILD_DIR)/bin/quiver cluster up --dir $(CLUSTER_DIR) $(CLUSTER_FLAGS)) && \
	  echo "$$up" | $(PYTHON) -c 'import json, sys; c = json.load(sys.stdin); \
	    print("Dispatcher:", c["dispatchers"][0] if c["dispatchers"] else "none started"); \
	    print("Processes: " + ", ".join(p["name"] for p in c["processes"]))'
	@echo "Data and logs: $(CLUSTER_DIR); make cluster-status shows it; make cluster-down stops it."

cluster-status:
	$(BUILD_DIR)/bin/quiver cluster status --dir $(CLUSTER_DIR)

cluster-down:
	$(BUILD_DIR)/bin/quiver cluster down --dir $(CLUSTER_DIR)

test: build
	$(MAKE) --no-print-directory test-unit test-fuzz test-e2e

test-unit:
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

test-e2e:
	QUIVER_BIN=$(abspath $(BUILD_DIR))/bin/quiver $(PYTHON) -m pytest -q tests/e2e

# Sanitizer builds in their own directories (outside make test; .ci/run runs
# them after it). ASan + UBSan: every unit and end-to-end test. TSan: the
# concurrency stress tests and the HTTP server (worker pool, rate limits, metrics).
SAN_CMAKE = -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQUIVER_BUILD_BENCH=OFF
build-asan: deps
	@[ -f build-asan/build.ninja ] || cmake -S . -B build-asan $(SAN_CMAKE) \
	  -DQUIVER_SANITIZE=address,undefined
	cmake --build build-asan -j $(JOBS)

test-asan: build-asan
	cd build-asan && ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 \
	  UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  QUIVER_BIN=$(abspath build-asan)/bin/quiver $(PYTHON) -m pytest -q tests/e2e

build-tsan: deps
	@[ -f build-tsan/build.ninja ] || cmake -S . -B build-tsan $(SAN_CMAKE) -DQUIVER_SANITIZE=thread
	cmake --build build-tsan -j $(JOBS) --target quiver_unit_tests

test-tsan: build-tsan
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 QUIVER_STRESS_SECONDS=$${STRESS_SECONDS:-20} \
	  build-tsan/bin/quiver_unit_tests --gtest_filter='Stress*:*Concurren*:Auth*'

# clang 14's thread-safety analysis over the whole tree (common/mutex.h):
# every GUARDED_BY member read or written without its lock, every REQUIRES
# broken, fails the build. Compiles only; the tests run in the other builds.
check-thread-safety: deps
	@[ -f build-clang/build.ninja ] || CXX=clang++-14 cmake -S . -B build-clang -G Ninja \
	  -DCMAKE_BUILD_TYPE=Debug -DQUIVER_BUILD_BENCH=OFF \
	  -DCMAKE_CXX_FLAGS="-Wthread-safety -Wthread-safety-beta -Werror"
	cmake --build build-clang -j $(JOBS)

# libFuzzer targets (clang 14, ASan + UBSan) in their own build directory.
FUZZ_DIR ?= build-fuzz
build-fuzz: deps
	@[ -f $(FUZZ_DIR)/build.ninja ] || cmake -S fuzz -B $(FUZZ_DIR) -G Ninja \
	  -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=Debug
	cmake --build $(FUZZ_DIR) -j $(JOBS)

FUZZ_TARGETS ?= filter request wal segment index name

# Replays every seed corpus (part of make test).
test-fuzz: build-fuzz
	@set -o pipefail; for t in $(FUZZ_TARGETS); do echo "replaying $$t"; \
	  $(FUZZ_DIR)/$${t}_fuzzer tests/fuzz/corpus/$$t -runs=0 2>&1 | tail -3 || exit 1; done

# Fuzzes each target for FUZZ_SECONDS (default 300) on a scratch copy of
# its corpus (FUZZ_TARGETS= picks some); a crashing input is written to
# crash-* in this directory.
fuzz: build-fuzz
	@for t in $(FUZZ_TARGETS); do \
	  rm -rf $(FUZZ_DIR)/corpus-$$t && cp -r tests/fuzz/corpus/$$t $(FUZZ_DIR)/corpus-$$t && \
	  $(FUZZ_DIR)/$${t}_fuzzer $(FUZZ_DIR)/corpus-$$t tests/fuzz/corpus/$$t \
	    -max_total_time=$${FUZZ_SECONDS:-300} -max_len=4096 || exit 1; done

bench: build
	$(PYTHON) bench/http_insert_search.py --bin $(BUILD_DIR)/bin/quiver

# Durable ingest through the engine, restart times, disk bytes per row.
bench-storage: build
	$(BUILD_DIR)/bin/quiver_storage_bench

# Small queries and inserts while full gets and a compaction run (issue 11).
bench-concurrency: build
	$(BUILD_DIR)/bin/quiver_concurrency_bench

# Distance kernels vs Faiss, exact scan vs memory bandwidth.
bench-kernels: build
	$(PYTHON) bench/kernels_ratios.py $(BUILD_DIR)/bin/quiver_kernels_bench

# Our HNSW vs hnswlib on an .fvecs data set (DATA=directory).
DATA ?= ../shared/data/ocvsift-128
bench-ann: build
	$(BUILD_DIR)/bin/quiver_ann_bench $(DATA)

# A local cluster (quiver cluster up) against standalone in the same run:
# durable ingest through a dispatcher, search QPS/p99 over 2 shards, STRONG vs EVENTUAL.
bench-cluster: build
	$(PYTHON) bench/cluster_bench.py --bin $(BUILD_DIR)/bin/quiver

# The same data through the REST API as a new user would: insert, rebuild,
# query with the C++ load client (2 keep-alive threads), kill -9, restart.
# 20 kill -9 of a shard's leader: the gaps to a write, STRONG read, seal, re-placement.
bench-failover: build
	$(PYTHON) bench/cluster_failover.py --bin $(BUILD_DIR)/bin/quiver

bench-http-ann: build
	$(PYTHON) bench/http_ann.py --bin $(BUILD_DIR)/bin/quiver --load $(BUILD_DIR)/bin/quiver_http_load $(DATA)

# Filter evaluation rows/s, column at a time vs row at a time.
bench-filters: build
	$(BUILD_DIR)/bin/quiver_filter_bench

# The kill -9 loop of tests/e2e/test_crash_recovery.py, longer (T1 soak).
soak-crash: build
	QUIVER_SOAK_CYCLES=$${CYCLES:-200} QUIVER_POWER_LOSS_SEEDS=$${SEEDS:-20000} \
	  QUIVER_BIN=$(abspath $(BUILD_DIR))/bin/quiver $(PYTHON) -m pytest -q \
	  tests/e2e/test_crash_recovery.py::test_random_kills_during_seals_and_compactions
	QUIVER_POWER_LOSS_SEEDS=$${SEEDS:-20000} $(BUILD_DIR)/bin/quiver_unit_tests --gtest_filter='PowerLoss*'

# The sustained-load test (T11) for LOAD_SECONDS (default 1800) instead of 60.
soak-load: build
	QUIVER_LOAD_SECONDS=$${LOAD_SECONDS:-1800} QUIVER_BIN=$(abspath $(BUILD_DIR))/bin/quiver \
	  $(PYTHON) -m pytest -q tests/e2e/test_sustained_load.py

# Random kill -9 / SIGSTOP of every cluster process and the object store
# taken away, under checked writes, deletes and STRONG reads (issue 13):
# MINUTES (default 30), SEED (default 1). Prints the counts; fails on a loss.
soak-cluster: build
	$(PYTHON) tests/soak/cluster_soak.py --bin $(BUILD_DIR)/bin/quiver \
	  --minutes $${MINUTES:-30} --seed $${SEED:-1}

# clang-tidy (.clang-tidy; warnings are errors) on the C++ files changed since
# LINT_BASE (default: the previous commit), committed or not.
LINT_BASE ?= HEAD~1
lint: configure
	@files=$$(git diff --name-only --diff-filter=AM $(LINT_BASE) -- '*.cc' | grep -v '^fuzz/'); \
	if [ -z "$$files" ]; then echo "lint: no changed C++ files since $(LINT_BASE)"; exit 0; fi; \
	echo "clang-tidy:" $$files; clang-tidy-14 -p $(BUILD_DIR) --quiet $$files

format:
	git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR)
