package manager

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestMetricsServedAgainAfterRestart: a controller manager that failed
// and is restarted by its supervisor serves /metrics on the same address
// again (the first run's listener is closed when it returns).
func TestMetricsServedAgainAfterRestart(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	log := slog.New(slog.DiscardHandler)
	for run := 1; run <= 2; run++ {
		metrics, stop, err := serveMetrics(addr, log)
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		metrics.NewAddsMetric("deployment").Inc()
		body := get(t, "http://"+addr+"/metrics")
		if !strings.Contains(body, `workqueue_adds_total{name="deployment"} 1`) {
			t.Errorf("run %d: /metrics has no workqueue_adds_total for deployment:\n%s", run, body)
		}
		stop()
		if _, err := http.Get("http://" + addr + "/metrics"); err == nil {
			t.Errorf("run %d: /metrics still served after stop", run)
		}
	}
}

func TestMetricsOff(t *testing.T) {
	metrics, stop, err := serveMetrics("", slog.New(slog.DiscardHandler))
	if err != nil || metrics != nil {
		t.Fatalf("no address: got %v, %v; want nothing served", metrics, err)
	}
	stop()
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
