// Package buildbench measures `kemudi image build` as a user runs it:
// the kemudi binary's CLI against a `kemudi runtime` started in a network
// namespace of its own (internal/kubelet/kubelettest), building the seed's
// tutorial folder (test/e2e/testdata/tutorial/alifah-Flask: FROM the
// Python base made from Debian's packages, COPY, WORKDIR, RUN pip install,
// EXPOSE, CMD):
//
//   - uncached: `kemudi image build --no-cache` (every step runs: the
//     COPY, the pip container, the layer commits), KEMUDI_BENCH_BUILDS
//     times (default 5), median and max;
//   - cached: the same build again without --no-cache (every step
//     CACHED), median and max; the target is under a second.
//
// Each figure is the CLI's whole wall time (process start, context sent,
// build, reply). The load average is printed beside the figures: on a
// shared machine they are noisy.
//
//	go test ./bench/buildbench -bench . -benchtime 1x
package buildbench
