# kemudi: one binary, a whole Kubernetes cluster.
GO       ?= go
BIN      := bin/kemudi
DATA_DIR ?= /var/lib/kemudi
# The whole suite must stay well under CI's limit.
TEST_TIMEOUT ?= 25m

.PHONY: build supervisor build-deps run test vet bench fuzz clean

# kemudi embeds kemudi-supervisor (internal/cri/supervisor/bin, gitignored):
# static, with libseccomp (cgo, Debian libseccomp-dev) and without CRIU.
SUPERVISOR := internal/cri/supervisor/bin/kemudi-supervisor
SUPERVISOR_TAGS := seccomp runc_nocriu netgo osusergo

build: supervisor
	$(GO) build -o $(BIN) ./cmd/kemudi

supervisor: build-deps
	CGO_ENABLED=1 $(GO) build -tags '$(SUPERVISOR_TAGS)' -ldflags '-s -w -extldflags -static' -o $(SUPERVISOR) ./cmd/kemudi-supervisor

# The supervisor links libseccomp statically with cgo: on Debian as root
# the missing packages are installed, elsewhere the build says what it needs.
build-deps:
	@if ! command -v gcc >/dev/null || ! pkg-config --exists libseccomp 2>/dev/null; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing gcc, pkgconf and libseccomp-dev (the container supervisor links libseccomp)"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc libc6-dev pkgconf libseccomp-dev; \
		else \
			echo "building kemudi needs gcc, pkg-config and libseccomp's static library (Debian: gcc pkgconf libseccomp-dev)" >&2; exit 1; \
		fi; \
	fi

# Builds kemudi and runs a single-node cluster in the foreground.
# In another shell: bin/kemudi kubectl get nodes
run: build
	./$(BIN) server --data-dir $(DATA_DIR)

vet:
	$(GO) vet ./...
	@unformatted=$$(gofmt -l cmd internal bench test 2>/dev/null); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi

# Every test: unit, integration (in-process API server on a throwaway
# etcd, driven by client-go and the real kubectl) and end to end.
test: vet build
	KEMUDI_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

# Benchmarks: go test -bench, each printing its table beside the targets
# and upstream's figures. BENCH_PODS lowers the pod count for a quick run
# (make bench BENCH_PODS=1000); for profiles: go run ./bench/cmd/apibench -h.
bench: build
	KEMUDI_BIN=$(CURDIR)/$(BIN) $(if $(BENCH_PODS),KEMUDI_BENCH_PODS=$(BENCH_PODS)) \
		$(GO) test -v -run '^$$' -bench . -benchtime 1x -timeout 30m ./bench/...

# A short run of every fuzz target (the seed corpus always runs in `test`);
# FUZZTIME=10m for a longer one. New crashers land in testdata/fuzz.
# Each input drives a real server, so minimizing is bounded by count.
FUZZTIME ?= 30s
FUZZ_TARGETS := FuzzDecodeCreateBody FuzzQueryParameters FuzzMayHaveHugeExponent
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		$(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 100x ./internal/apiserver/; \
	done

clean:
	rm -rf bin $(SUPERVISOR)
