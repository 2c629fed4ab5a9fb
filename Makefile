# Facet's front door. `make demo` and `make test` are what README.md promises.
BUILD      ?= build
ASAN_BUILD ?= build-asan

.PHONY: all deps build demo demo-bus test bench clean format

all: build

deps:
	scripts/install-deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

demo: build
	scripts/demo.sh $(BUILD)

demo-bus: build
	scripts/demo-bus.sh $(BUILD)

test: deps
	scripts/run-tests.sh $(BUILD) $(ASAN_BUILD)

bench: build
	scripts/install-deps.sh --bench
	bench/eth-fwd.sh $(BUILD)
	bench/dpdk-fwd.sh $(BUILD)
	bench/rdma.sh $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
