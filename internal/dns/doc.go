// Package dns is kemudi's cluster DNS: it serves the records of
// Kubernetes' DNS specification (kubernetes/dns docs/specification.md,
// schema 1.1.0) for Services and EndpointSlices, and forwards every other
// name to the node's upstream resolvers through a bounded cache.
//
// The shape follows STYLE.md: informers feed an immutable Snapshot
// (BuildSnapshot), Snapshot.Answer is a pure function from a question to
// an answer, and the handler and the UDP/TCP loops around it only parse,
// pack and move bytes.
package dns
