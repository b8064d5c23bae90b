// Package namespace is the namespace controller: a namespace being
// deleted (deletionTimestamp set, the "kubernetes" finalizer in its
// spec) is emptied of every namespaced resource the API serves, found
// through discovery (pods first, then the rest, each by deletecollection
// or list and delete), its conditions report what remains
// (NamespaceDeletionDiscoveryFailure, NamespaceDeletionGroupVersionParsingFailure,
// NamespaceDeletionContentFailure, NamespaceContentRemaining,
// NamespaceFinalizersRemaining, with upstream's reasons and messages),
// and once it is empty its finalizer is removed through
// namespaces/<name>/finalize; the API server then removes it.
package namespace
