package streambench

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"time"

	"github.com/kemudi/kemudi/bench/harness"
)

// kubectlLogsCeiling times `kubectl logs` against a server that answers
// from memory (the pod, discovery, and logMiB of the talker's 101-byte
// lines, in 256 KiB writes over HTTP/2 on loopback): kubectl's own
// ceiling for that log on this machine, which no cluster can pass. It
// returns the median MiB/s.
func kubectlLogsCeiling(ctx context.Context, bin string, runs int) (float64, error) {
	line := strings.Repeat("x", 100) + "\n"
	body := bytes.Repeat([]byte(line), (logMiB<<20)/len(line)+1)
	answers := map[string]string{
		"/api":                                   `{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"127.0.0.1"}]}`,
		"/apis":                                  `{"kind":"APIGroupList","apiVersion":"v1","groups":[]}`,
		"/api/v1":                                `{"kind":"APIResourceList","groupVersion":"v1","resources":[{"name":"pods","singularName":"pod","namespaced":true,"kind":"Pod","verbs":["get"]},{"name":"pods/log","singularName":"","namespaced":true,"kind":"Pod","verbs":["get"]}]}`,
		"/api/v1/namespaces/default/pods/talker": `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"talker","namespace":"default"},"spec":{"containers":[{"name":"talker","image":"x"}]}}`,
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/namespaces/default/pods/talker/log" {
			w.Header().Set("Content-Type", "text/plain")
			for b := body; len(b) > 0; {
				n := min(len(b), 256<<10)
				if _, err := w.Write(b[:n]); err != nil {
					return
				}
				b = b[n:]
			}
			return
		}
		a, ok := answers[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(a))
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	var rates []float64
	for range runs {
		var w countWriter
		var stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, bin, "kubectl", "--server", srv.URL, "--insecure-skip-tls-verify", "--token", "x", "logs", "talker")
		cmd.Stdout, cmd.Stderr = &w, &stderr
		start := time.Now()
		if err := cmd.Run(); err != nil {
			return 0, fmt.Errorf("kubectl logs from memory: %v: %s", err, stderr.String())
		}
		if w.n < logMiB<<20 {
			return 0, fmt.Errorf("kubectl logs from memory: %d bytes, want at least %d", w.n, logMiB<<20)
		}
		rates = append(rates, harness.MiB(uint64(w.n))/time.Since(start).Seconds())
	}
	return median(rates), nil
}
