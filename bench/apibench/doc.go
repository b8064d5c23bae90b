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
package apibench
