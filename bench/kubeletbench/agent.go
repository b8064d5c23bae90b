package kubeletbench

import (
	"net/url"
	"testing"
	"time"

	"github.com/kemudi/kemudi/bench/harness"
	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/kubelet/kubelettest"
)

// agentNodeName is the node of `kemudi agent`: another name than the
// other peers', so that one run can measure them all.
const agentNodeName = "bench-node-agent"

// agentProc is the name rssByName gives `kemudi agent`, which holds the
// kubelet and the runtime in one process.
const agentProc = "kemudi agent"

// nodeIdentityInNetns is node name's identity for a kubelet in the
// network namespace netns, which dials the API server's own address on
// the namespace's loopback, relayed to this process's until b ends.
func nodeIdentityInNetns(b *testing.B, s *clustertest.Server, netns, name string) *clustertest.Identity {
	b.Helper()
	u, err := url.Parse(s.URL)
	if err != nil {
		b.Fatal(err)
	}
	harness.RelayFromNetns(b, netns, u.Host)
	return s.NodeIdentity(name)
}

// startAgent runs `kemudi agent` (kubelet and runtime in one process, its
// supervisor beside it) inside n's network namespace as node
// agentNodeName of s, with the node's identity, its proxy, DNS,
// local-path provisioner and load-balancer announcer off: the issue's
// agent is the kubelet and the runtime. It returns when the process was
// started; its runtime answers the CRI by then.
func startAgent(b *testing.B, s *clustertest.Server, n *kubelettest.Runtime) time.Time {
	b.Helper()
	id := nodeIdentityInNetns(b, s, n.NetNS, agentNodeName)
	args := append([]string{"--kubeconfig", id.Kubeconfig, "--node-name", agentNodeName,
		"--disable-proxy", "--disable-dns", "--disable-local-path", "--disable-lb-announce",
		"--log-level", "warn"}, harness.NodeDiskFlags()...)
	started := time.Now()
	n.StartAgent(b, clustertest.Binary(b), args...)
	return started
}
