# kemudi: one binary, a whole Kubernetes cluster.
# Go: the one on PATH, else where go.dev's archive installs it (sudo
# drops /usr/local/go/bin from PATH).
GO       ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
BIN      := bin/kemudi
DATA_DIR ?= /var/lib/kemudi
# The whole suite must stay well under CI's limit.
TEST_TIMEOUT ?= 25m
# Tests that call t.Parallel (the end-to-end ones: each in network
# namespaces, data and cgroup directories of its own) run this many at a
# time. They mostly wait on processes, containers and the API, so more
# than the cores; more than 4 on 2 cores makes timeouts flaky.
TEST_PARALLEL ?= 4

.PHONY: build supervisor dns go-check build-deps test-deps run run-as-root test vet bench fuzz clean

# kemudi embeds kemudi-supervisor (internal/cri/supervisor/bin, gitignored):
# static, with libseccomp (cgo, Debian libseccomp-dev) and without CRIU.
SUPERVISOR := internal/cri/supervisor/bin/kemudi-supervisor
SUPERVISOR_TAGS := seccomp runc_nocriu netgo osusergo

build: supervisor dns
	$(GO) build -o $(BIN) ./cmd/kemudi

supervisor: go-check build-deps
	CGO_ENABLED=1 $(GO) build -tags '$(SUPERVISOR_TAGS)' -ldflags '-s -w -extldflags -static' -o $(SUPERVISOR) ./cmd/kemudi-supervisor

# kemudi embeds kemudi-dns, gzipped (internal/dns/dnsexe/bin, gitignored),
# which `kemudi dns` runs: the DNS server without the rest of kemudi's
# memory.
DNS := internal/dns/dnsexe/bin/kemudi-dns.gz
dns: go-check
	CGO_ENABLED=0 $(GO) build -trimpath -tags 'netgo osusergo' -ldflags '-s -w' -o $(DNS:.gz=) ./cmd/kemudi-dns
	gzip -9 -n -f $(DNS:.gz=)

# Go 1.21 or newer reads go.mod's go line and fetches that toolchain
# itself; older ones (Debian 12's golang-go is 1.19) cannot.
go-check:
	@v=$$($(GO) env GOVERSION 2>/dev/null) || { \
		echo "kemudi needs Go 1.21 or newer (it fetches the version go.mod names): https://go.dev/dl (sudo drops it from PATH: sudo env PATH=\"\$$PATH\" make ...)" >&2; exit 1; }; \
	minor=$$(echo "$$v" | sed -n 's/^go1\.\([0-9]*\).*/\1/p'); \
	if [ -z "$$minor" ] || [ "$$minor" -lt 21 ]; then \
		echo "kemudi needs Go 1.21 or newer (it fetches the version go.mod names); $(GO) is $$v: https://go.dev/dl" >&2; exit 1; \
	fi

# The supervisor links libseccomp statically with cgo, and Go fetches
# modules over TLS: on Debian as root the missing packages are installed,
# elsewhere the build says what it needs.
build-deps:
	@need=""; \
	command -v gcc >/dev/null || need="$$need gcc libc6-dev"; \
	command -v pkg-config >/dev/null || need="$$need pkgconf"; \
	pkg-config --exists libseccomp 2>/dev/null || need="$$need libseccomp-dev"; \
	[ -e /etc/ssl/certs/ca-certificates.crt ] || need="$$need ca-certificates"; \
	if [ -n "$$need" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing$$need (the container supervisor links libseccomp; Go fetches modules over TLS)"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$need; \
		else \
			echo "building kemudi needs these Debian packages (or your system's equivalents):$$need" >&2; exit 1; \
		fi; \
	fi

# What the tests drive besides kemudi (the list .ci/run installs): ip and
# nsenter for test nodes, busybox-static for test images, nft and
# conntrack to read back rules, the CNI plugins and iptables for the CNI
# path, containerd and runc for the kubelet on another runtime, podman
# and skopeo as registry clients, mmdebstrap for the tutorial's base
# image, QEMU for a cgroup v2-only guest (test/cgroupv2). As root on
# Debian the missing ones are installed, and the guest's kernel fetched.
TEST_DEBS := iproute2 util-linux busybox-static nftables iptables conntrack containernetworking-plugins containerd runc podman skopeo mmdebstrap qemu-system-x86
test-deps:
	@command -v dpkg >/dev/null || { echo "make test: cannot check packages without dpkg; the tests need the Debian packages $(TEST_DEBS) (or equivalents)" >&2; exit 0; }; \
	need=""; for p in $(TEST_DEBS); do dpkg -s $$p >/dev/null 2>&1 || need="$$need $$p"; done; \
	if [ -n "$$need" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing$$need (the tests drive them)"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$need; \
		else \
			echo "make test needs root and these Debian packages:$$need (apt-get install$$need)" >&2; exit 1; \
		fi; \
	fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		test/vm/fetch-kernel.sh >/dev/null || echo "test/vm/fetch-kernel.sh failed: test/cgroupv2 will have no kernel to boot" >&2; \
	fi

# Builds kemudi and runs a single-node cluster in the foreground; it
# says where its kubeconfig, node token and registry password are once
# the node is Ready. In another shell: bin/kemudi kubectl get nodes
# SERVER_FLAGS go to kemudi server. Load balancers get addresses from
# LB_ADDRESS_POOL (198.18.0.0/15 is reserved for benchmarks, so it is no
# one's LAN): on the node's own addresses port 5000 is the registry's, and
# the tutorial's app serves on 5000 too. This machine reaches the pool's
# addresses; route them to it to reach them from others. LB_ADDRESS_POOL=
# (empty) gives load balancers the node's addresses, as k3s does.
LB_ADDRESS_POOL ?= 198.18.0.10-198.18.0.19
run: run-as-root build
	./$(BIN) server --data-dir $(DATA_DIR) $(if $(LB_ADDRESS_POOL),--lb-address-pool $(LB_ADDRESS_POOL)) $(SERVER_FLAGS)

run-as-root:
	@[ "$$(id -u)" = 0 ] || { echo "make run needs root: the node makes a bridge, nftables rules, mounts and cgroups (sudo env PATH=\"\$$PATH\" make run)" >&2; exit 1; }

vet:
	$(GO) vet ./...
	@unformatted=$$(gofmt -l cmd internal bench test 2>/dev/null); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi

# Every test: unit, integration (in-process API server on a throwaway
# etcd, driven by client-go and the real kubectl) and end to end.
# test/cgroupv2, the longest (an emulated guest), is named first so that it
# starts first: go test runs packages in the order given, and the rest fill
# the other core around it.
test: test-deps vet build
	KEMUDI_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout $(TEST_TIMEOUT) -parallel $(TEST_PARALLEL) ./test/cgroupv2 ./...

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
	rm -rf bin $(SUPERVISOR) $(DNS)
