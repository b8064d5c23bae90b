// Package imagebench measures moving a big image between the runtime's
// image store (internal/cri/image, the code `kemudi runtime` runs for
// PullImage and `kemudi image push`) and kemudi's embedded registry
// (internal/addons/registry: distribution on disk, TLS with a CA of the
// benchmark's trusted through registries.yaml ca_file, Docker's token
// flow with a user's password), both on loopback:
//
//   - push: a KEMUDI_BENCH_IMAGE_MIB image (default 200, in 4 layers of
//     random, incompressible data) from the store to a registry that has
//     none of it: every blob uploaded;
//   - push again: the same image to the same repository (every blob
//     found by a HEAD request, nothing sent);
//   - pull: the image from the registry into an empty store (download,
//     digest verification and unpacking into snapshots).
//
// Throughput is the image's compressed size over the wall time; beside
// it, the CPU time the benchmark process spent (the store's side and the
// registry's: TLS both ways, digests, disk writes), and the size over
// that CPU time, a figure the machine's other load does not change. The
// image is made once per run and seeded into a second registry, from
// which the store pulls it before the push (not timed: the same
// operation as the pull row).
//
// The machine is shared and small (2 cores): figures are noisy, and
// /proc/loadavg is printed beside them. The target (issue 13) is
// ≥ 300 MiB/s each way.
//
// Run (as root: unpacking makes device nodes and overlay snapshots):
// go test -run '^$' -bench . -benchtime 1x -v ./bench/imagebench/
package imagebench
