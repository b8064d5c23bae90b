// Package metrics builds cAdvisor's per-container series (the kubelet's
// /metrics/cadvisor) for the CRI's ListMetricDescriptors and
// ListPodSandboxMetrics, from real data: the container's cgroup files (v1
// controllers, v2, or v1 with the v2 tree beside them), /proc of its
// processes, the pod's network counters and the filesystem of its
// writable layer.
//
// Reading and building are apart: read*.go functions turn files into
// figures (table-tested on real cgroup contents in testdata/), and
// Container and Pod turn figures into metrics, with the names, help texts
// and label keys of cAdvisor (as containerd's CRI plugin labels them: pod,
// namespace, container, id (the CRI id), image, plus interface, device,
// failure_type and scope, ...).
//
// The CRI carries whole numbers: seconds are truncated, as containerd
// reports them.
package metrics
