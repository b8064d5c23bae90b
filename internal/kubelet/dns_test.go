package kubelet

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestParseResolvConf(t *testing.T) {
	tests := []struct {
		name, file string
		want       resolvConf
		err        bool
	}{
		{"debian", "domain corp.example\nsearch corp.example lab.example.\nnameserver 192.0.2.1\nnameserver 192.0.2.2\noptions edns0 timeout:2\n",
			resolvConf{Servers: []string{"192.0.2.1", "192.0.2.2"}, Searches: []string{"corp.example", "lab.example"}, Options: []string{"edns0", "timeout:2"}}, false},
		{"last search wins, options merge", "search a.example\nsearch b.example .\noptions ndots:2 timeout:1\n# nameserver 10.0.0.1\n; comment\noptions ndots:3\n",
			resolvConf{Searches: []string{"b.example"}, Options: []string{"ndots:3", "timeout:1"}}, false},
		{"empty nameserver", "nameserver\nnameserver 192.0.2.1\n", resolvConf{Servers: []string{"192.0.2.1"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseResolvConf(strings.NewReader(tt.file))
			if (err != nil) != tt.err || fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %v, %v; want %v (error %v)", got, err, tt.want, tt.err)
			}
		})
	}
}

// The pod's resolv.conf for each dnsPolicy, as upstream's kubelet writes it.
func TestPodDNS(t *testing.T) {
	host := resolvConf{Servers: []string{"192.0.2.1"}, Searches: []string{"corp.example", "lab.example"}, Options: []string{"edns0", "timeout:2"}}
	in := dnsInput{Host: host, ClusterDNS: []string{"10.43.0.10"}, ClusterDomain: "cluster.local"}
	pod := func(policy corev1.DNSPolicy, hostNet bool, c *corev1.PodDNSConfig) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "shop"},
			Spec: corev1.PodSpec{DNSPolicy: policy, HostNetwork: hostNet, DNSConfig: c}}
	}
	two := "2"
	many := make([]string, 40)
	for i := range many {
		many[i] = fmt.Sprintf("d%02d.example", i)
	}
	long := make([]string, 12) // 12 × 200 characters: over 2048 on the line
	for i := range long {
		long[i] = fmt.Sprintf("%02d%s.example", i, strings.Repeat("x", 190))
	}
	const clusterSearch = "shop.svc.cluster.local svc.cluster.local cluster.local"
	tests := []struct {
		name     string
		pod      *corev1.Pod
		in       dnsInput
		servers  string
		searches string
		options  string
		warning  string
	}{
		{"ClusterFirst: cluster DNS, cluster then host search, ndots:5", pod("", false, nil), in,
			"10.43.0.10", clusterSearch + " corp.example lab.example", "ndots:5", ""},
		{"ClusterFirst on the host network is Default", pod(corev1.DNSClusterFirst, true, nil), in,
			"192.0.2.1", "corp.example lab.example", "edns0 timeout:2", ""},
		{"ClusterFirstWithHostNet", pod(corev1.DNSClusterFirstWithHostNet, true, nil), in,
			"10.43.0.10", clusterSearch + " corp.example lab.example", "ndots:5", ""},
		{"Default: the host's file", pod(corev1.DNSDefault, false, nil), in,
			"192.0.2.1", "corp.example lab.example", "edns0 timeout:2", ""},
		{"Default with --resolv-conf=\"\": loopback only", pod(corev1.DNSDefault, false, nil), dnsInput{NoHostFile: true, ClusterDNS: in.ClusterDNS},
			"127.0.0.1", ".", "", ""},
		{"None: only the pod's dnsConfig", pod(corev1.DNSNone, false, &corev1.PodDNSConfig{Nameservers: []string{"198.51.100.1"}, Searches: []string{"x.example"},
			Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: &two}, {Name: "rotate"}}}), in,
			"198.51.100.1", "x.example", "ndots:2 rotate", ""},
		{"dnsConfig appended, its options win, duplicates once", pod("", false, &corev1.PodDNSConfig{Nameservers: []string{"10.43.0.10", "198.51.100.1"},
			Searches: []string{"corp.example", "extra.example"}, Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: &two}}}), in,
			"10.43.0.10 198.51.100.1", clusterSearch + " corp.example lab.example extra.example", "ndots:2", ""},
		{"host search domain equal to a cluster one counts once", pod("", false, nil), dnsInput{Host: resolvConf{Searches: []string{"cluster.local", "corp.example"}}, ClusterDNS: in.ClusterDNS, ClusterDomain: "cluster.local"},
			"10.43.0.10", clusterSearch + " corp.example", "ndots:5", ""},
		{"no cluster DNS: Default, with an event", pod("", false, nil), dnsInput{Host: host, ClusterDomain: "cluster.local"},
			"192.0.2.1", "corp.example lab.example", "edns0 timeout:2", "MissingClusterDNS"},
		{"32 search domains at most", pod("", false, nil), dnsInput{Host: resolvConf{Searches: many}, ClusterDNS: in.ClusterDNS, ClusterDomain: "cluster.local"},
			"10.43.0.10", clusterSearch + " " + strings.Join(many[:29], " "), "ndots:5", "Search Line limits were exceeded"},
		{"2048 characters on the search line at most", pod("", false, nil), dnsInput{Host: resolvConf{Searches: long}, ClusterDNS: in.ClusterDNS, ClusterDomain: "cluster.local"},
			"10.43.0.10", clusterSearch + " " + strings.Join(long[:9], " "), "ndots:5", "Search Line limits were exceeded"},
		{"a domain over 253 characters is dropped", pod("", false, nil), dnsInput{Host: resolvConf{Searches: []string{strings.Repeat("y", 254), "ok.example"}}, ClusterDNS: in.ClusterDNS, ClusterDomain: "cluster.local"},
			"10.43.0.10", clusterSearch + " ok.example", "ndots:5", "Search Line limits were exceeded"},
		{"3 nameservers at most", pod(corev1.DNSDefault, false, nil), dnsInput{Host: resolvConf{Servers: []string{"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"}}},
			"192.0.2.1 192.0.2.2 192.0.2.3", "", "", "Nameserver limits were exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, warnings := podDNS(tt.pod, tt.in)
			if got := strings.Join(cfg.Servers, " "); got != tt.servers {
				t.Errorf("nameservers %q, want %q", got, tt.servers)
			}
			if got := strings.Join(cfg.Searches, " "); got != tt.searches {
				t.Errorf("search %q, want %q", got, tt.searches)
			}
			if got := strings.Join(cfg.Options, " "); got != tt.options {
				t.Errorf("options %q, want %q", got, tt.options)
			}
			if n := len(strings.Join(cfg.Searches, " ")); n > maxDNSSearchListChars || len(cfg.Searches) > maxDNSSearchPaths {
				t.Errorf("search line of %d domains, %d characters", len(cfg.Searches), n)
			}
			got := strings.Join(warnings, "\n")
			if (tt.warning == "") != (got == "") || !strings.Contains(got, tt.warning) {
				t.Errorf("warnings %q, want %q", got, tt.warning)
			}
		})
	}
}

// The default file gives way to systemd-resolved's list only when it
// names the stub alone.
func TestHostResolvConfStub(t *testing.T) {
	dir := t.TempDir()
	stub := filepath.Join(dir, "stub")
	if err := os.WriteFile(stub, []byte("nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch corp.example\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	real := filepath.Join(dir, "real")
	if err := os.WriteFile(real, []byte("nameserver 192.0.2.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if !onlyLoopback(stub) || onlyLoopback(real) || onlyLoopback(filepath.Join(dir, "missing")) {
		t.Errorf("onlyLoopback: stub %v, real %v", onlyLoopback(stub), onlyLoopback(real))
	}
	// A path given by the user is used as given.
	if got := hostResolvConf(stub); got != stub {
		t.Errorf("hostResolvConf(%s) = %s", stub, got)
	}
}
