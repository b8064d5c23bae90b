// Package proxybench measures kemudi's proxy at scale, beside upstream's
// kube-proxy in nftables mode: N services with E endpoints each, written
// as EndpointSlices to an in-process API server, programmed by each proxy
// in turn (a child process, so its CPU and memory are its own) into a
// network namespace the benchmark creates for it. For each it reports the
// full sync (its own figure, and from its start to all services in the
// kernel), the API-write-to-kernel latency of single endpoint changes
// (p50, p99, max; the same watch for both: the service's chain's DNAT map
// read back until it leads to the new endpoint) with the part after the
// API's answer and the proxy's own figures (its metrics), and its CPU
// time (with the children it ran: kube-proxy's nft) and RSS. One table
// shows both.
//
// Root is needed (network namespaces). The full size of the issue:
//
//	KEMUDI_BENCH_PROXY_SERVICES=10000 go test ./bench/proxybench -run x -bench . -benchtime 1x -v -timeout 60m
//
// kube-proxy is $KUBE_PROXY_BIN, else the binary
// `test/upstream/build-binary.sh kube-proxy` prints: its cached build of
// upstream's cmd/kube-proxy (v1.37.2, from the Go module cache), or one it
// makes first (minutes, before anything is measured). If neither gives
// one, its column is empty and the reason printed under the table.
//
// kube-proxy runs wholly inside its namespace (nsenter --net=...): it
// reaches the API server through a relay the benchmark listens with on
// the namespace's loopback, at the API server's own address; its node
// address is on the namespace's loopback; its conntrack flags are 0, so it
// leaves the host's conntrack table size, hash size and timeouts alone
// (its nftables mode writes no other sysctl); its servers listen on the
// namespace's loopback. Its minimum sync period is 0, as kemudi syncs each
// change at once (upstream's default of 1 s would hold each change of the
// sequence up to a second). The benchmark compares the host's `nft list
// ruleset` and those conntrack and forwarding settings before and after
// its run, prints the result, and fails if they differ.
//
// Upstream's full sync takes minutes at thousands of services: its wait
// is bounded by KEMUDI_BENCH_PROXY_PEER_WAIT seconds (default 600), and
// so is its change loop; past it the column shows what was measured and a
// note says what did not finish. KEMUDI_BENCH_ONLY=kemudi or kube-proxy
// runs one; KEMUDI_BENCH_PROXY_CHANGES sets the number of changes (500).
// The second proxy starts from the services as the first's changes left
// them (500 of them with one endpoint more).
package proxybench
