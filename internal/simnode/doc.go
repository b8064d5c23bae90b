// Package simnode simulates nodes: it registers Node objects, keeps
// their Leases and Ready conditions fresh, and acts as the kubelet for
// the pods bound to them, without running any container (upstream's
// counterpart is kwok). The scheduler and the controllers are tested and
// measured on it before a real kubelet exists, and `kemudi sim-nodes`
// runs it against any API server.
//
// It is an API client like any other component: it talks to the API
// server only, through one client. Nodes are cheap: one shared pod
// informer (pods with spec.nodeName set) feeds one work queue, lease
// renewals are spread over the renewal interval, so 5,000 nodes cost a
// few goroutines and a few kilobytes each.
//
// What a simulated kubelet does with a pod bound to one of its live
// nodes:
//   - a pending pod becomes Running at once, with PodReadyToStartContainers,
//     Initialized, ContainersReady, Ready and PodScheduled true (Ready
//     waits for the pod's readiness gates, as upstream), a pod IP from
//     the node's spec.podCIDRs (a fake per-node range until the node has
//     one; the node's IP for host-network pods), every container running
//     and ready, and init containers terminated with reason Completed;
//   - a pod that does not fit the node (requests beyond allocatable
//     counting the pods already admitted, or more pods than the node's
//     pod capacity) fails with reason OutOfcpu, OutOfmemory, OutOfpods...
//     as upstream's kubelet admission does;
//   - a running pod whose containers are meant to finish does so: by
//     default, the annotation simnode.kemudi.io/complete-after: "2s"
//     makes a pod with restartPolicy Never or OnFailure Succeeded 2s
//     after it started, and simnode.kemudi.io/fail-after makes a Never
//     pod Failed (exit code 1, or simnode.kemudi.io/exit-code's);
//     Options.Finish replaces that rule;
//   - simnode.kemudi.io/not-ready: "true" keeps a running pod's
//     containers unready (a failing readiness probe) until it is removed;
//   - a pod being deleted (deletionTimestamp set) is removed with grace
//     period 0 once its containers "stopped" (after Options.DeleteDelay),
//     as the kubelet does.
//
// A killed node (Kill) stops renewing its lease, reporting its status and
// acting on its pods, like a node whose kubelet died: the node lifecycle
// controller marks it unreachable. Revive brings it back. SetReady
// reports Ready=False (or True again) while the lease keeps renewing.
// Delete removes the Node.
//
// In a test, with clustertest:
//
//	s := clustertest.Start(t)
//	nodes := simnodetest.Start(t, s.Config, simnode.Options{Count: 3})
//	// nodes.Names() are registered and Ready; bind pods to them.
//	nodes.Kill(nodes.Names()[0])
//
// In a benchmark that runs the server as a process (bench/harness):
//
//	nodes, err := simnode.NewForConfig(srv.Config, simnode.Options{Count: 5000})
//	if err := nodes.Start(ctx); err != nil { ... } // registered
//	defer nodes.Wait()                              // after cancelling ctx
//
// or run `kemudi sim-nodes --count 5000 --kubeconfig FILE` as a process
// of its own, as bench/simnodebench does to measure it.
package simnode
