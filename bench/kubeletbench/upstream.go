package kubeletbench

import (
	"testing"
	"time"

	"github.com/kemudi/kemudi/bench/harness"
	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/kubelet/kubelettest"
)

// upstreamNodeName is the node of upstream's kubelet: another name than
// kemudi's, in the same cluster.
const upstreamNodeName = "bench-node-upstream"

// startUpstreamKubelet runs upstream's kubelet bin inside rt's network
// namespace as node upstreamNodeName of s, reaching s through a relay
// with a node identity of s's. It returns when the process was started.
func startUpstreamKubelet(b *testing.B, s *clustertest.Server, rt *kubelettest.Runtime, bin string) time.Time {
	b.Helper()
	id := nodeIdentityInNetns(b, s, rt.NetNS, upstreamNodeName)
	_, started := harness.StartUpstreamKubelet(b, bin, rt, harness.UpstreamKubelet{NodeName: upstreamNodeName, Kubeconfig: id.Kubeconfig})
	return started
}
