package cluster

import (
	"context"
	"log/slog"
	"slices"
	"testing"

	"k8s.io/client-go/rest"
)

// TestNodeServiceTasks: each --disable-* flag of the agent leaves out its
// service, and only that one.
func TestNodeServiceTasks(t *testing.T) {
	node := func(context.Context, *rest.Config, AgentOptions) error { return nil }
	all := []string{"node", "proxy", "dns", "routes", "lb-announce", "local-path"}
	for _, tc := range []struct {
		name string
		set  func(*NodeServices)
		want []string
	}{
		{"defaults", func(*NodeServices) {}, all},
		{"--disable-proxy", func(s *NodeServices) { s.DisableProxy = true }, []string{"node", "dns", "routes", "lb-announce", "local-path"}},
		{"--disable-dns", func(s *NodeServices) { s.DisableDNS = true }, []string{"node", "proxy", "routes", "lb-announce", "local-path"}},
		{"--disable-local-path", func(s *NodeServices) { s.DisableLocalPath = true }, []string{"node", "proxy", "dns", "routes", "lb-announce"}},
		{"--disable-lb-announce", func(s *NodeServices) { s.DisableLBAnnounce = true }, []string{"node", "proxy", "dns", "routes", "local-path"}},
		{"no storage directory", func(s *NodeServices) { s.LocalPathDir = "" }, []string{"node", "proxy", "dns", "routes", "lb-announce"}},
		{"all disabled", func(s *NodeServices) {
			s.DisableProxy, s.DisableDNS, s.DisableLocalPath, s.DisableLBAnnounce = true, true, true, true
		}, []string{"node", "routes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := AgentOptions{Services: DefaultNodeServices()}
			o.Kubelet.NodeName = "node-1"
			o.Services.LocalPathDir = t.TempDir()
			tc.set(&o.Services)
			var got []string
			for _, task := range nodeServiceTasks(&rest.Config{}, o, slog.New(slog.DiscardHandler), node) {
				got = append(got, task.Name)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("tasks %v, want %v", got, tc.want)
			}
		})
	}
}
