// Package garbagecollector is the garbage collector: it keeps a graph of
// ownerReferences over every served resource that can be listed, watched
// and deleted, and deletes what has lost its owners, as upstream's does.
//
//   - Background deletion: an owner is removed; its dependents are then
//     deleted (each with the propagation its own finalizers ask for).
//   - Foreground deletion: an owner carries the foregroundDeletion
//     finalizer and a deletionTimestamp; its dependents are deleted
//     first, and the finalizer removed once no dependent with
//     blockOwnerDeletion is left.
//   - Orphaning: an owner carries the orphan finalizer; the references to
//     it are removed from its dependents, then the finalizer.
//
// The API server adds those finalizers as a delete's propagationPolicy
// asks (kubectl delete --cascade=background|foreground|orphan).
//
// Objects are watched with metadata-only informers whose caches keep only
// what the graph needs (name, namespace, uid, resourceVersion, owners,
// finalizers, deletionTimestamp): no object is held whole. One goroutine
// owns the graph and applies the watch events in order; workers read it
// to decide what to delete, and write through the API only, with the
// resourceVersion they decided on as a precondition.
package garbagecollector
