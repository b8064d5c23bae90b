// Package deploybench measures Deployments end to end: a real `kemudi
// server` process (API server, etcd, scheduler, controller manager),
// simulated nodes (internal/simnode, in the benchmark process) acting as
// kubelets, and 500 Deployments of 20 replicas (10,000 pods;
// KEMUDI_BENCH_DEPLOYMENTS, KEMUDI_BENCH_REPLICAS), default rolling
// update (maxSurge 25%, maxUnavailable 25%: 5 and 5 of 20):
//
//   - create: every Deployment created (16 clients), timed from the first
//     create to every Deployment reporting all its replicas updated and
//     available (status.updatedReplicas = availableReplicas = replicas,
//     observedGeneration current), which `kubectl rollout status` reads;
//   - rolling update: every Deployment's image changed, to the same end;
//   - delete: every Deployment deleted (background cascade: the garbage
//     collector removes their ReplicaSets and pods), to no pod left.
//
// A watch on the pods follows every Deployment throughout: the pods
// created (each phase must create exactly the pods it needs: 10,000 on
// create, 10,000 on update), and at every event the pods that exist
// (not being deleted, not finished) and those available, per Deployment.
// No Deployment may exceed replicas+maxSurge pods, nor (during the
// update) fall below replicas-maxUnavailable available.
//
// The target: at least 500 pods/s from Deployment creation to
// pods available. (Endpoints following readiness, the other
// target here, is measured by bench/endpointsbench.)
package deploybench
