# Shared by build-e2e.sh and build-binary.sh (sourced, not run): where
# upstream's source is, the writable copy they build in, and the build.
#
# k8s.io/kubernetes's go.mod replaces the k8s.io staging modules with
# ./staging/src/..., nested modules that its module zip leaves out, so the
# builds run in a copy whose go.mod requires the published staging
# modules (v0.X.Y for v1.X.Y) instead, all served by the Go module proxy.

# upstream_init VERSION sets go, cache (the cache directory, made) and mod
# (k8s.io/kubernetes@VERSION's directory in the module cache).
upstream_init() {
	version=$1
	go=$(command -v go 2>/dev/null || echo /usr/local/go/bin/go)
	cache=${XDG_CACHE_HOME:+$XDG_CACHE_HOME/kemudi-test}
	cache=${cache:-/var/cache/kemudi-test}
	mkdir -p "$cache"
	mod=$(cd / && GOFLAGS= "$go" mod download -json "k8s.io/kubernetes@$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
	[ -n "$mod" ] && [ -d "$mod" ] || { echo "$(basename "$0"): go mod download k8s.io/kubernetes@$version found no directory" >&2; exit 1; }
}

# upstream_source SRC makes SRC a fresh writable copy of $mod with the
# staging modules required at their published version. The caller marks
# it ready (SRC/.kemudi-ready) once its own edits are made: the copy is
# kept between runs (with -trimpath the build cache does not depend on
# its path, and go.sum's additions are kept).
upstream_source() {
	local src=$1 staging=v0.${version#v1.}
	rm -rf "$src"
	mkdir -p "$src"
	cp -r "$mod/." "$src/"
	chmod -R u+w "$src"
	rm -f "$src/go.work" "$src/go.work.sum"
	# Drop the replace block's ./staging lines; require the published
	# modules at the staging version instead of v0.0.0.
	awk -v v="$staging" '
		/^replace \($/ { inrep = 1; next }
		inrep && /^\)$/ { inrep = 0; next }
		inrep { next }
		/^replace k8s\.io\/.* => \.\/staging\// { next }
		$1 ~ /^k8s\.io\// && $2 == "v0.0.0" { sub(/v0\.0\.0/, v) }
		{ print }
	' "$mod/go.mod" >"$src/go.mod"
}

# upstream_build SRC OUT BIN CMD ARGS... runs `go CMD -o OUT/BIN ARGS...`
# in SRC, niced, writing BIN whole or not at all.
upstream_build() {
	local src=$1 out=$2 bin=$3 cmd=$4
	shift 4
	mkdir -p "$out"
	# -o right after the command: `go build` takes no flag after a package.
	(cd "$src" && nice -n 10 env GOWORK=off GOFLAGS=-mod=mod "$go" "$cmd" -o "$out/$bin.tmp" "$@")
	mv "$out/$bin.tmp" "$out/$bin"
}
