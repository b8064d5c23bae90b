// Package supervisorbench measures the node's container supervisor
// (internal/cri/supervisor) alone, through its client, with real
// containers (busybox-static rootfs, as root):
//
//   - create+start: the time of Create plus Start of one container
//     (`sleep`), to the client's answer that it runs; one at a time.
//   - RSS: the resident memory of the keeper and the supervisor, idle (no
//     container) and with KEMUDI_BENCH_CONTAINERS (default 20) containers
//     running, per container the difference divided by the count. PSS is
//     reported beside it (the keeper and the supervisor share their
//     binary's pages).
//
// Run: go test -run '^$' -bench . -benchtime 20x -v ./bench/supervisorbench/
package supervisorbench
