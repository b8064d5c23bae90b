// Package apibench is the API server benchmark: many small pods created
// by concurrent client-go clients, each on its own connection, while a
// separate watch checks that every ADDED event arrives. It measures
// throughput, create latency, watch delivery latency and the server
// process's memory, and prints them beside the targets and upstream's
// figures.
//
// Definitions:
//   - creates/s: pods created / (first request start .. last response).
//   - create latency: request start to response, per create, in the
//     client.
//   - watch delivery: the create response arriving at its client to the
//     pod's ADDED event arriving at the watcher, clamped at 0 (the event
//     may come first); "request start to event" is also reported.
//   - RSS idle: VmRSS of the whole `kemudi server` process (embedded etcd
//     included) after start and a settle period; RSS after: VmRSS once
//     every event arrived; peak: VmHWM then.
//
// The custom resource run (RunCustomResources, `apibench -crd`) installs
// 100 CRDs at once (time until all are Established, seen through a
// watch; RSS and Go heap growth once settled), then creates pods and as
// many custom objects of a 20-field, 2-CEL-rule schema with the same
// clients. Beside rates and latencies it reports, per phase, the
// server's CPU time and Go allocations (from /proc and its /metrics):
// figures that the machine's other load barely changes, to judge a
// change by on a shared machine. The creates wait until the server's
// background work after the CRDs (its OpenAPI build) is done.
package apibench
