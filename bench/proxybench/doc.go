// Package proxybench measures kemudi's proxy at scale: N services with E
// endpoints each, written as EndpointSlices to an in-process API server,
// programmed by `kemudi proxy` (a child process, so its CPU and memory are
// its own) into a network namespace the benchmark creates. It reports the
// full sync's wall and CPU time, the API-write-to-kernel latency of single
// endpoint changes (p50, p99, max) with the part after the API's answer
// and the proxy's own part (its metrics), and the proxy's CPU time and
// RSS.
//
// Root is needed (a network namespace). The full size of the issue:
//
//	KEMUDI_BENCH_PROXY_SERVICES=10000 go test ./bench/proxybench -run x -bench . -benchtime 1x -v -timeout 30m
package proxybench
