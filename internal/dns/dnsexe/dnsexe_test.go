package dnsexe_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/bench/harness"
	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	kdns "github.com/kemudi/kemudi/internal/dns"
	"github.com/kemudi/kemudi/internal/dns/dnsexe"
)

// Args gives a flag set of the same flags what was set, lists included.
func TestArgs(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"nothing set", nil},
		{"lists item by item", []string{"--listen=127.0.0.1:53,127.0.0.2:53", "--upstream", "10.0.0.1:53"}},
		{"emptied list", []string{"--upstream="}},
		{"scalars", []string{"--ttl=7s", "--pods=disabled", "--cache-size=9", "--kubeconfig=/k", "--log-level=debug"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parse := func(args []string) (kdns.StandaloneOptions, *pflag.FlagSet) {
				o := kdns.DefaultStandaloneOptions()
				f := pflag.NewFlagSet("dns", pflag.ContinueOnError)
				o.AddFlags(f)
				f.String("log-level", "info", "")
				if err := f.Parse(args); err != nil {
					t.Fatalf("parse %q: %v", args, err)
				}
				return o, f
			}
			want, f := parse(tc.args)
			got, g := parse(dnsexe.Args(f))
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("through Args %q:\n got %+v\nwant %+v", dnsexe.Args(f), got, want)
			}
			if a, b := f.Lookup("log-level").Value.String(), g.Lookup("log-level").Value.String(); a != b {
				t.Errorf("log-level %q, want %q", b, a)
			}
		})
	}
}

// `kemudi dns`, built as make builds it, runs as kemudi-dns: the
// process's executable is the kemudi-dns written under the cache
// directory, it answers cluster names, and SIGTERM ends it cleanly.
func TestKemudiDNSRunsEmbedded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds kemudi")
	}
	bin := clustertest.Binary(t)
	s := clustertest.Start(t)
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	dnsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	p, err := harness.StartProcess("dns", bin, "serving cluster DNS", nil, "--log-level", "debug", "dns", "--kubeconfig", s.Kubeconfig,
		"--listen", dnsAddr, "--http-address", fmt.Sprintf("127.0.0.1:%d", freePort(t)), "--upstream", "127.0.0.1:9")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	if err := p.WaitReady(time.Minute); err != nil {
		t.Fatal(err)
	}

	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", p.PID))
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(exe) != filepath.Join(cache, "kemudi", "bin") || !strings.HasPrefix(filepath.Base(exe), "kemudi-dns-") {
		t.Errorf("kemudi dns runs %s, want kemudi-dns-* under %s", exe, filepath.Join(cache, "kemudi", "bin"))
	}

	svc, err := s.Client.CoreV1().Services("default").Get(context.Background(), "kubernetes", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Asked again, in other letters, the answer comes from the answer
	// cache through the reader's buffer: the same address, the question
	// as asked.
	for _, name := range []string{"kubernetes.default.svc.cluster.local.", "KUBERNETES.Default.svc.cluster.local."} {
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeA)
		in, err := dns.Exchange(m, dnsAddr)
		if err != nil {
			t.Fatalf("ask kemudi dns %s: %v", name, err)
		}
		if in.Id != m.Id || in.Question[0].Name != name || len(in.Answer) != 1 || in.Answer[0].(*dns.A).A.String() != svc.Spec.ClusterIP {
			t.Errorf("%s A: %v, want %s", name, in, svc.Spec.ClusterIP)
		}
	}

	// The signal reached the server itself, which stops cleanly.
	if err := p.Stop(30 * time.Second); err != nil {
		t.Errorf("kemudi dns after SIGTERM: %v\n%s", err, p.Tail())
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
