// Package cri is kemudi's container runtime: the part of containerd, runc
// and the CNI bridge plugin that Kubernetes needs, served as the CRI v1
// RuntimeService and ImageService (k8s.io/cri-api) on a unix socket, and
// callable in process through the same Go value.
//
// The runtime knows nothing of the kubelet, of API objects or of the API
// server: it speaks CRI only. It is assembled from four parts, each a
// package that knows nothing of the CRI either:
//
//   - image: the content store (blobs by digest), pulls from OCI and Docker
//     v2 registries, imports of image tarballs, and the overlayfs snapshots
//     a container's root filesystem is made of.
//   - network: the pod network: the kemudi0 bridge with the node's pod
//     CIDR, a veth and an address per sandbox, masquerade and hostPorts in
//     kemudi's own nftables table, or any CNI plugin chain instead.
//   - supervisor: the node's one long-lived supervisor process (the small
//     kemudi-supervisor binary, embedded in kemudi), which creates
//     containers with libcontainer from OCI runtime specs, is their parent,
//     holds their stdio, writes their CRI logs and records their exits, so
//     that containers outlive a restart or crash of the runtime; and the
//     client the runtime talks to it with.
//   - this package: CRI semantics. Sandbox and container metadata stores
//     (on disk, found again on restart), the translation of CRI configs
//     into OCI runtime specs, one file per CRI verb (sandbox_run.go,
//     container_create.go, ...), and the gRPC server.
//   - metrics: cAdvisor's per-container series (ListMetricDescriptors,
//     ListPodSandboxMetrics: what the kubelet's /metrics/cadvisor serves),
//     read from each container's cgroup (v1, v2 or hybrid), /proc of its
//     processes, its pod's network namespace and its writable layer's
//     filesystem.
//   - streaming: the streaming server (remotecommand and port-forward over
//     SPDY and WebSocket) whose one-time URLs Exec, Attach and PortForward
//     answer with (stream.go: the streams run through the supervisor's
//     Exec and Attach, and port-forwards dial inside the sandbox's network
//     namespace). It listens on Options.StreamAddress (loopback by default).
//
// A verb validates its request, then acts, then records, and undoes what it
// did when a later step fails.
package cri
