// Package storage keeps API objects in etcd, the cluster's consistent
// key-value store, and serves lists and watches from an in-memory cache.
//
// Objects are stored as Kubernetes protobuf under keys of the form
// /registry/<resource>/<namespace>/<name>. An object's resourceVersion is
// the etcd revision that last modified it, and every write is a
// compare-and-swap on that revision, so concurrent writers never lose each
// other's changes.
//
// One etcd watch on the whole /registry/ prefix feeds the cache, whatever
// the number of clients: lists are answered from memory once the cache has
// caught up with etcd's current revision, and watches resume from any
// revision the cache still remembers (410 Gone beyond that).
package storage
