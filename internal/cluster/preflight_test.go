package cluster

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestServerListeners(t *testing.T) {
	agent := func(edit func(*AgentOptions)) *AgentOptions {
		o := DefaultAgentOptions("/data")
		edit(&o)
		return &o
	}
	api := Listener{"API server", "tcp", "0.0.0.0:6443"}
	kubelet := Listener{"kubelet", "tcp", ":10250"}
	proxy := Listener{"proxy health", "tcp", "0.0.0.0:10256"}
	cri := Listener{"container runtime (CRI)", "unix", "/run/kemudi/cri.sock"}
	tests := []struct {
		name  string
		port  int
		agent *AgentOptions
		want  []Listener
	}{
		{name: "defaults", port: 6443, agent: agent(func(*AgentOptions) {}), want: []Listener{api, kubelet, proxy, cri}},
		{name: "no agent", port: 6443, want: []Listener{api}},
		{name: "port 0 picks a free one", agent: agent(func(*AgentOptions) {}), want: []Listener{kubelet, proxy, cri}},
		{name: "no kubelet API, no proxy", port: 6443, agent: agent(func(o *AgentOptions) {
			o.Kubelet.Port = 0
			o.Services.DisableProxy = true
		}), want: []Listener{api, cri}},
		{name: "external runtime", port: 6443, agent: agent(func(o *AgentOptions) { o.ExternalRuntime = true }), want: []Listener{api, kubelet, proxy}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := DefaultServerOptions()
			o.Port = tt.port
			if got := ServerListeners(o, tt.agent); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCheckListeners(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	takenPort := taken.Addr().(*net.TCPAddr).Port
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	freeAddr := free.Addr().String()
	free.Close()

	dir := t.TempDir()
	served := filepath.Join(dir, "served.sock")
	sl, err := net.Listen("unix", served)
	if err != nil {
		t.Fatal(err)
	}
	defer sl.Close()
	stale := filepath.Join(dir, "stale.sock")
	if err := os.WriteFile(stale, nil, 0o600); err != nil {
		t.Fatal(err)
	}

	me := fmt.Sprintf("by cluster.test (pid %d)", os.Getpid())
	tests := []struct {
		name string
		ls   []Listener
		want []string // in the error, in order; none: no error
	}{
		{name: "free", ls: []Listener{{"API server", "tcp", freeAddr}, {"container runtime (CRI)", "unix", stale}}},
		{name: "taken on loopback, wanted on every address", ls: []Listener{{"API server", "tcp", fmt.Sprintf(":%d", takenPort)}},
			want: []string{fmt.Sprintf("nothing started: port %d (API server) is in use %s:", takenPort, me), "address already in use"}},
		{name: "every conflict named", ls: []Listener{
			{"kubelet", "tcp", fmt.Sprintf("127.0.0.1:%d", takenPort)},
			{"proxy health", "tcp", freeAddr},
			{"container runtime (CRI)", "unix", served},
		}, want: []string{fmt.Sprintf("port %d (kubelet) is in use", takenPort), "; container runtime (CRI) socket " + served + " is served by another process"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckListeners(tt.ls)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("CheckListeners: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			for _, w := range tt.want {
				i := strings.Index(msg, w)
				if i < 0 {
					t.Fatalf("error %q does not say %q", err, w)
				}
				msg = msg[i+len(w):]
			}
		})
	}
}

func TestCheckNodePrivileges(t *testing.T) {
	if err := CheckNodePrivileges(0); err != nil {
		t.Errorf("root: %v", err)
	}
	err := CheckNodePrivileges(1000)
	if !errors.Is(err, ErrNodeNeedsRoot) || !strings.Contains(err.Error(), "uid 1000") {
		t.Errorf("uid 1000: %v, want ErrNodeNeedsRoot naming the uid", err)
	}
}
