package manager

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kemudi/kemudi/internal/controller"
)

// serveMetrics serves /metrics on addr until stop is called and returns
// the work queue metrics the controllers count in; with no address
// nothing is served or counted (nil). stop closes the listener before it
// returns, so that a restarted manager can listen on addr again.
func serveMetrics(addr string, log *slog.Logger) (metrics *controller.Metrics, stop func(), err error) {
	if addr == "" {
		return nil, func() {}, nil
	}
	reg := prometheus.NewRegistry()
	metrics, err = controller.NewMetrics(reg)
	if err != nil {
		return nil, nil, err
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("metrics address: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan struct{})
	go func() {
		defer close(served)
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server", "err", err)
		}
	}()
	log.Info("serving metrics", "address", "http://"+l.Addr().String()+"/metrics")
	return metrics, func() {
		_ = srv.Close()
		<-served
	}, nil
}
