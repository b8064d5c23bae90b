#!/bin/sh
# fetch-kernel.sh [DIR] puts Debian's current kernel (the package
# linux-image-amd64 depends on) in DIR/<package version>, with its modules'
# index made, and points DIR/current at it; it prints that directory.
# internal/testvm boots it under QEMU for the tests that need a host this
# machine is not (cgroup v2 alone). Nothing is installed: the package is
# downloaded with apt-get and unpacked. DIR defaults to the tests' cache,
# $XDG_CACHE_HOME/kemudi-test/kernel, else /var/cache/kemudi-test/kernel.
set -eu

dir=${1:-}
if [ -z "$dir" ]; then
	cache=${XDG_CACHE_HOME:+$XDG_CACHE_HOME/kemudi-test}
	dir=${cache:-/var/cache/kemudi-test}/kernel
fi
# resolve sets pkg (the kernel package linux-image-amd64 names), version
# and out.
resolve() {
	pkg=$(apt-cache depends linux-image-amd64 | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -n1)
	[ -n "$pkg" ] || { echo "fetch-kernel.sh: apt-cache knows no linux-image-amd64 (apt-get update?)" >&2; exit 1; }
	version=$(apt-cache policy "$pkg" | sed -n 's/^ *Candidate: //p')
	out=$dir/$pkg-$version
}
resolve
if [ ! -e "$out/.ready" ]; then
	mkdir -p "$dir"
	tmp=$(mktemp -d "$dir/.fetch-XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	# apt-get download writes to the working directory, as _apt where it can.
	chmod 0755 "$tmp"
	# Stale package lists name a version the mirror no longer has: update
	# them once and ask again.
	if ! (cd "$tmp" && apt-get download -q "$pkg=$version" >/dev/null 2>&1); then
		apt-get update -qq
		resolve
		(cd "$tmp" && apt-get download -q "$pkg=$version")
	fi
	mkdir "$tmp/root"
	dpkg-deb -x "$tmp"/*.deb "$tmp/root"
	release=$(ls "$tmp/root/lib/modules")
	# The modules' dependency index, which the package leaves to its
	# postinst: busybox's depmod makes the modules.dep modprobe reads.
	busybox depmod -b "$tmp/root" "$release"
	rm -rf "$out"
	mkdir -p "$out"
	mv "$tmp/root/boot" "$tmp/root/lib" "$out/"
	echo "$release" >"$out/release"
	touch "$out/.ready"
fi
ln -sfn "$(basename "$out")" "$dir/current.tmp"
mv -T "$dir/current.tmp" "$dir/current"
echo "$dir/current"
