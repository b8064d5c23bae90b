package cluster

// The node's kube-dns slice, for the integration tests in cluster_test
// (which a real API server needs; clustertest imports this package).
var (
	EnsureDNSSlice = ensureDNSSlice
	DNSSlice       = dnsSlice
)
