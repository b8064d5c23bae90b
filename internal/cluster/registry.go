package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"k8s.io/client-go/rest"

	"github.com/kemudi/kemudi/internal/addons/registry"
)

// RegistryOptions configure the OCI registry `kemudi server` runs
// (internal/addons/registry).
type RegistryOptions struct {
	// DataDir is the server's: the registry lives in <data-dir>/registry,
	// its serving certificate in <data-dir>/tls.
	DataDir string
	// BindAddress and Port are where it listens (TLS).
	BindAddress string
	Port        int
	// AdvertiseAddress is the address other nodes reach it at (default:
	// the host's first non-loopback address); SANs are extra names for
	// its certificate.
	AdvertiseAddress string
	SANs             []string
	// GCInterval is how often unreferenced blobs are collected (0: hourly).
	GCInterval time.Duration
}

// DefaultRegistryOptions serve the registry on :5000.
func DefaultRegistryOptions(dataDir string) RegistryOptions {
	return RegistryOptions{DataDir: dataDir, BindAddress: "0.0.0.0", Port: registry.DefaultPort}
}

// ListenAddress is host:port the registry listens on.
func (o RegistryOptions) ListenAddress() string {
	return net.JoinHostPort(o.BindAddress, strconv.Itoa(o.Port))
}

// Hosts are the names and addresses the registry's certificate covers:
// loopback, the advertised address, the host name, the extra SANs.
func (o RegistryOptions) Hosts() []string {
	adv := o.AdvertiseAddress
	if adv == "" {
		adv = hostAddress()
	}
	hosts := []string{"127.0.0.1", "localhost", adv}
	if h, err := os.Hostname(); err == nil {
		hosts = append(hosts, h)
	}
	return append(hosts, o.SANs...)
}

// Layout is where the registry keeps its files (its CA, certificate,
// users and the admin password).
func (o RegistryOptions) Layout() registry.Layout { return registry.NewLayout(o.DataDir) }

// NewRegistry builds the registry with a serving certificate from the
// cluster CA in <data-dir>/tls (created if missing), for Hosts, renewed
// while it runs.
func NewRegistry(ctx context.Context, o RegistryOptions, log *slog.Logger) (*registry.Registry, error) {
	pki, err := LoadOrCreatePKI(filepath.Join(o.DataDir, "tls"))
	if err != nil {
		return nil, err
	}
	cert, err := pki.NewRotatingServingCert(registry.ServingCertName, o.Hosts(), false)
	if err != nil {
		return nil, fmt.Errorf("registry certificate: %w", err)
	}
	return registry.New(ctx, registry.Options{
		Layout: o.Layout(), Addr: o.ListenAddress(),
		GetCertificate: cert.GetCertificate, ClientCAs: pki.CAPool,
		GCInterval: o.GCInterval, Log: log,
	})
}

// RegistryComponent runs the registry beside the control plane, under
// the server's supervisor. It is no API client: the config it is given
// (with an identity of no rights) goes unused.
func RegistryComponent(o RegistryOptions) Component {
	return Component{
		Name: "registry", User: "system:kemudi-registry",
		Run: func(ctx context.Context, _ *rest.Config, log *slog.Logger) error {
			reg, err := NewRegistry(ctx, o, log)
			if err != nil {
				return err
			}
			return reg.Run(ctx)
		},
	}
}
