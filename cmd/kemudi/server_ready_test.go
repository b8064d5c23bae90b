package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReadySummary(t *testing.T) {
	withPassword := t.TempDir()
	if err := os.WriteFile(filepath.Join(withPassword, "registry-password"), []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	noPassword := t.TempDir()
	tests := []struct {
		name    string
		s       readySummary
		want    []string // lines (trimmed) that must be there, in order
		notWant []string
	}{
		{
			name: "make run: default data dir, node, registry",
			s: readySummary{DataDir: "/var/lib/kemudi", Kubeconfig: "/var/lib/kemudi/admin.kubeconfig", Node: "box",
				APIURL: "https://10.0.0.5:6443", Registry: "127.0.0.1:5000", Took: 7340 * time.Millisecond},
			want: []string{
				"kemudi is ready: node box is Ready (7.3s after start).",
				"admin kubeconfig  /var/lib/kemudi/admin.kubeconfig",
				"kemudi kubectl get nodes",
				"node token        /var/lib/kemudi/node-token",
				"another machine joins with: kemudi agent --server https://10.0.0.5:6443 --token-file node-token (a copy of it)",
				"registry          127.0.0.1:5000 (TLS with the cluster CA), image names 127.0.0.1:5000/NAME:TAG",
				"more users: kemudi registry user add NAME --password-stdin",
			},
		},
		{
			name: "own data dir, password written",
			s: readySummary{DataDir: withPassword, Kubeconfig: filepath.Join(withPassword, "admin.kubeconfig"), Node: "box",
				APIURL: "https://10.0.0.5:6443", Registry: "127.0.0.1:5000"},
			want: []string{
				"kemudi kubectl --kubeconfig " + filepath.Join(withPassword, "admin.kubeconfig") + " get nodes",
				"user admin, password in " + filepath.Join(withPassword, "registry-password") + ":",
				"kemudi image login 127.0.0.1:5000 -u admin --password-stdin < " + filepath.Join(withPassword, "registry-password"),
				"more users: kemudi registry user add NAME --password-stdin --data-dir " + withPassword,
			},
		},
		{
			name: "no node, no registry",
			s:    readySummary{DataDir: noPassword, Kubeconfig: filepath.Join(noPassword, "admin.kubeconfig"), APIURL: "https://127.0.0.1:6443"},
			want: []string{
				"kemudi is ready: the control plane answers (0s after start); no node runs here (--disable-agent).",
				"node token        " + filepath.Join(noPassword, "node-token"),
			},
			notWant: []string{"registry", "password"},
		},
		{
			name:    "registry, its password file removed",
			s:       readySummary{DataDir: noPassword, Kubeconfig: filepath.Join(noPassword, "admin.kubeconfig"), Node: "box", Registry: "127.0.0.1:5000"},
			want:    []string{"registry          127.0.0.1:5000"},
			notWant: []string{"password in", "image login"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			tt.s.write(&b)
			out := b.String()
			rest := out
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("summary lacks %q (in this order):\n%s", w, out)
				}
				rest = rest[i+len(w):]
			}
			for _, nw := range tt.notWant {
				if strings.Contains(out, nw) {
					t.Errorf("summary says %q:\n%s", nw, out)
				}
			}
			if strings.Contains(out, "level=") || strings.Contains(out, "{\"") {
				t.Errorf("not plain lines:\n%s", out)
			}
		})
	}
}
