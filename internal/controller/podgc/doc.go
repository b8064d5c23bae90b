// Package podgc is upstream's pod garbage collector ("podgc" in
// --controllers). Every 20 s it looks at all pods and nodes and
// force-deletes (grace period 0):
//
//   - the oldest terminated pods (Succeeded, Failed) beyond
//     --terminated-pod-gc-threshold, evicted ones first;
//   - terminating pods on a node that is not Ready and has the
//     node.kubernetes.io/out-of-service taint;
//   - orphans: pods bound to a node that has been missing for 40 s and
//     that a live GET confirms is gone (the informer may lag);
//   - terminating pods that were never scheduled.
//
// A pod not yet terminal is first marked Failed (orphans also get the
// DisruptionTarget condition, reason DeletionByPodGC), because no kubelet
// will ever report its end. The decisions are pure functions of the pods,
// the nodes and the nodes known gone (decide.go); the controller lists,
// checks nodes and acts.
package podgc
