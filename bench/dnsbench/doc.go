// Package dnsbench measures cluster DNS under Debian's dnsperf: a real
// `kemudi apiserver` process holding 10,000 ClusterIP Services
// (KEMUDI_BENCH_DNS_SERVICES), a `kemudi dns` process on 127.0.0.1, and
// dnsperf asking it for random service names (A records).
//
// Definitions:
//   - QPS per core: queries answered during the throughput run divided by
//     the CPU seconds the dns process used in it (dnsperf shares the two
//     cores, so wall-clock QPS understates the server).
//   - p99: from a second run at a fixed rate (KEMUDI_BENCH_DNS_RATE,
//     20,000/s) with dnsperf -v, the 99th percentile of per-query latency.
//   - RSS: the dns process's resident set after both runs, split into
//     anonymous memory (Go heap, stacks) and file pages (the executable),
//     and its PSS beside it (PSS divides pages other processes map too).
//     A kemudi built by make runs `kemudi dns` as the kemudi-dns it
//     embeds (internal/dns/dnsexe), whose pages only it maps; a kemudi
//     built without it serves from its own process, which maps the same
//     executable as the API server. The binary's page cache is written
//     back first, as an installed binary's is.
//   - At rest: the same, KEMUDI_BENCH_DNS_SETTLE seconds (15) after the
//     load, once the server has given back what the load made it grow
//     by.
//
// Targets (issue 11): ≥ 40,000 QPS per core, p99 ≤ 2 ms, ≤ 30 MiB.
// Needs dnsperf (apt-get install dnsperf); skipped without it.
package dnsbench
