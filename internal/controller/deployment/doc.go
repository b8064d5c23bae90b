// Package deployment is the Deployment controller: it rolls a
// Deployment's pod template out through ReplicaSets, as upstream does.
//
// Each distinct template gets a ReplicaSet named <deployment>-<hash>, the
// hash (pod-template-hash, also a label and selector term of the set and
// its pods) computed from the template as upstream computes it. A
// RollingUpdate scales the new set up and the old ones down within
// maxSurge and maxUnavailable; Recreate scales the old sets to zero, waits
// for their pods to go, then scales the new one up. Revisions are
// recorded in annotations (deployment.kubernetes.io/revision on the sets
// and the Deployment, revision-history when an old template comes back,
// desired-replicas and max-replicas for proportional scaling during a
// rollout), old sets beyond revisionHistoryLimit are deleted, a paused
// Deployment is only scaled, and progress is reported in the Progressing
// condition against progressDeadlineSeconds and in the Available
// condition. Status is what `kubectl rollout status` reads.
//
// The arithmetic (how many to surge, how many old pods may go, how to
// share a scaling among sets, what the status is) lives in pure functions
// in rollout.go, revision.go and status.go; the rest reads the informers'
// caches and writes through the API.
package deployment
