// Package replicaset is the ReplicaSet controller and, on the same code,
// the ReplicationController controller (the seed's replication
// controller), as upstream shares it: for every set it keeps the number
// of pods its spec asks for, creating them from its template and deleting
// the least valuable first, adopts the orphan pods its selector matches
// and releases the pods it no longer matches, and reports status
// (replicas, fullyLabeledReplicas, readyReplicas, availableReplicas,
// terminatingReplicas, observedGeneration, the ReplicaFailure condition).
//
// Expectations keep a burst of events from making it act twice on a
// stale cache: after asking for N creations it acts again only when it
// has seen N pods appear (or the creations failed).
package replicaset
