#!/usr/bin/env bash
# Builds upstream Kubernetes' end-to-end suite for test/e2e TestUpstreamE2E:
# e2e.test (`go test -c ./test/e2e`) and agnhost, the program of
# upstream's test images, with sample-apiserver and etcd for the
# Aggregator spec's images (static, for FROM scratch images), all from
# k8s.io/kubernetes@VERSION in the Go module cache. Prints the path of
# e2e.test; the programs are beside it. (TestUpstreamE2E runs each spec in an
# e2e.test process of its own, so the ginkgo CLI is not needed.)
#
#   test/upstream/build-e2e.sh [VERSION]      # default v1.37.2
#   E2E_SUITES="apimachinery" test/upstream/build-e2e.sh
#
# E2E_SUITES (space-separated packages under test/e2e) links only those
# spec packages into e2e.test: upstream's test/e2e main and framework,
# unchanged, with the other SIGs' spec imports dropped from its
# e2e_test.go. The specs and their names are upstream's; the build is
# about half of the whole suite's (TestUpstreamE2E runs only
# sig-api-machinery specs). Unset builds the whole, unmodified e2e.test.
#
# The binaries are cached in $XDG_CACHE_HOME/kemudi-test (else
# /var/cache/kemudi-test), keyed by VERSION and the Go version: a second
# run on one machine prints the path at once. The first takes long
# (e2e.test is large: ~20-40 minutes on a busy 2-core machine). The
# source copy it builds in is lib.sh's.
set -euo pipefail

version=${1:-v1.37.2}
. "$(dirname "$0")/lib.sh"
upstream_init "$version"
suites=${E2E_SUITES:-}
flavor=$(echo "$suites" | tr -s ' ' '-')
out=$cache/upstream-$version-$("$go" env GOVERSION)${flavor:+-$flavor}
built() { for b in e2e.test agnhost sample-apiserver etcd; do [ -x "$out/$b" ] || return 1; done; }
if built; then
	echo "$out/e2e.test"
	exit 0
fi
# One build at a time per machine (test binaries may race to build).
exec 9>"$cache/upstream-$version.lock"
flock 9
if built; then
	echo "$out/e2e.test"
	exit 0
fi

src=$cache/upstream-$version-src${flavor:+-$flavor}
if [ ! -e "$src/.kemudi-ready" ]; then
	upstream_source "$src"
	if [ -n "$suites" ]; then
		# Keep the spec imports (`_ "k8s.io/kubernetes/test/e2e/<pkg>"`,
		# one a line) named in E2E_SUITES, drop the others'.
		awk -v keep=" $suites " '
			/^\t_ "k8s\.io\/kubernetes\/test\/e2e\/[a-z\/]+"$/ {
				p = $2; gsub(/"/, "", p); sub(/^k8s\.io\/kubernetes\/test\/e2e\//, "", p)
				if (p !~ /^(feature|framework\/)/ && index(keep, " " p " ") == 0) next
			}
			{ print }
		' "$mod/test/e2e/e2e_test.go" >"$src/test/e2e/e2e_test.go"
	fi
	touch "$src/.kemudi-ready"
fi

build() { upstream_build "$src" "$out" "$@"; }
start=$(date +%s)
[ -x "$out/e2e.test" ] || build e2e.test test -c -vet=off -trimpath ./test/e2e
# agnhost runs in a FROM scratch image, so it is linked statically; with
# cgo as e2e.test is built (CGO_ENABLED=0 would compile everything below
# package net again), through the external linker.
static='-s -w -linkmode external -extldflags -static'
[ -x "$out/agnhost" ] || build agnhost build -trimpath -ldflags "$static" ./test/images/agnhost
# The Aggregator spec's images: upstream's sample-apiserver (the staging
# module at the same version) and etcd at the version k8s.io/kubernetes
# requires; its go.mod names both modules.
[ -x "$out/sample-apiserver" ] || build sample-apiserver build -trimpath -ldflags "$static" k8s.io/sample-apiserver
[ -x "$out/etcd" ] || build etcd build -trimpath -ldflags "$static" go.etcd.io/etcd/server/v3
echo "build-e2e: built in $(($(date +%s) - start))s (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
echo "$out/e2e.test"
