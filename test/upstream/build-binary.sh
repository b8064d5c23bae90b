#!/usr/bin/env bash
# Builds one of upstream Kubernetes' commands, cmd/NAME (kube-proxy,
# kubelet, ...), from k8s.io/kubernetes@VERSION in the Go module cache,
# for benchmarks and tests that run it beside kemudi's own. Prints the
# binary's path.
#
#   test/upstream/build-binary.sh kube-proxy [VERSION]   # default v1.37.2
#   test/upstream/build-binary.sh kubelet
#
# The binary is cached in $XDG_CACHE_HOME/kemudi-test (else
# /var/cache/kemudi-test) under upstream-VERSION-GOVERSION-cmd/, keyed by
# VERSION and the Go version: a second run on one machine prints the path
# at once. The first takes minutes (kube-proxy: ~5 on a busy 2-core
# machine). The commands share one source copy (lib.sh's) and one lock,
# so they build one at a time.
set -euo pipefail

name=${1:-}
version=${2:-v1.37.2}
case $name in
'' | */* | .*)
	echo "usage: $0 COMMAND [VERSION]   (COMMAND: a directory of upstream's cmd/, e.g. kube-proxy)" >&2
	exit 2
	;;
esac
. "$(dirname "$0")/lib.sh"
upstream_init "$version"
[ -d "$mod/cmd/$name" ] || { echo "build-binary: k8s.io/kubernetes@$version has no cmd/$name" >&2; exit 2; }
out=$cache/upstream-$version-$("$go" env GOVERSION)-cmd
if [ -x "$out/$name" ]; then
	echo "$out/$name"
	exit 0
fi
exec 9>"$cache/upstream-$version-cmd.lock"
flock 9
if [ -x "$out/$name" ]; then
	echo "$out/$name"
	exit 0
fi

src=$cache/upstream-$version-src-cmd
if [ ! -e "$src/.kemudi-ready" ]; then
	upstream_source "$src"
	touch "$src/.kemudi-ready"
fi
start=$(date +%s)
# The version upstream's build stamps, so that --version and the
# user agent say which release this is.
upstream_build "$src" "$out" "$name" build -trimpath \
	-ldflags "-X k8s.io/component-base/version.gitVersion=$version -X k8s.io/component-base/version.gitTreeState=clean" \
	"./cmd/$name"
echo "build-binary: built $name in $(($(date +%s) - start))s (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
echo "$out/$name"
