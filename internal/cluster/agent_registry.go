package cluster

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/kemudi/kemudi/internal/addons/registry"
	"github.com/kemudi/kemudi/internal/cri/image"
)

// NodeRegistry is how a node's runtime reaches the cluster's registry:
// over TLS trusting the cluster CA, presenting the node's client
// certificate, with which the registry's token endpoint grants pulls
// without a password.
type NodeRegistry struct {
	// Hosts are the registry's host:port names the node dials directly.
	Hosts []string
	// Mirrored are names that are the registry on the server's machine
	// (127.0.0.1:5000) but not on this one: pulls by them go to Hosts[0].
	Mirrored []string
	// CAFile, CertFile and KeyFile: the cluster CA, the node's client
	// certificate and key.
	CAFile, CertFile, KeyFile string
}

// WriteNodeRegistries writes a registries.yaml (k3s's format) to path:
// the user's (userFile, "" for none) with the cluster registry added.
// What the user configured for a host is kept as it is.
func WriteNodeRegistries(path, userFile string, nr NodeRegistry) error {
	cfg := &image.RegistriesConfig{}
	if userFile != "" {
		data, err := os.ReadFile(userFile)
		if err != nil {
			return fmt.Errorf("registries config: %w", err)
		}
		if cfg, err = image.ParseRegistriesConfig(data); err != nil {
			return fmt.Errorf("%s: %w", userFile, err)
		}
	}
	if cfg.Configs == nil {
		cfg.Configs = map[string]image.RegistryConfig{}
	}
	if cfg.Mirrors == nil {
		cfg.Mirrors = map[string]image.Mirror{}
	}
	for _, h := range nr.Hosts {
		if _, ok := cfg.Configs[h]; !ok {
			cfg.Configs[h] = image.RegistryConfig{TLS: &image.RegistryTLS{CAFile: nr.CAFile, CertFile: nr.CertFile, KeyFile: nr.KeyFile}}
		}
	}
	for _, m := range nr.Mirrored {
		if _, ok := cfg.Mirrors[m]; !ok && len(nr.Hosts) > 0 {
			cfg.Mirrors[m] = image.Mirror{Endpoints: []string{"https://" + nr.Hosts[0]}}
		}
	}
	data, err := yaml.Marshal(cfg)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("registries config: %w", err)
	}
	return nil
}

// nodeRegistriesPath is the registries.yaml kemudi writes for a node.
func nodeRegistriesPath(dataDir string) string {
	return filepath.Join(dataDir, "agent", "registries.yaml")
}

// ServerNodeRegistries points the runtime of the node `kemudi server`
// runs at the registry it serves, by every name of this machine, with
// the agent component's client certificate (<data-dir>/tls/agent.crt,
// system:node:<name> in system:nodes). The user's --registry-config is
// merged in.
func ServerNodeRegistries(ao *AgentOptions, ro RegistryOptions) error {
	tlsDir := filepath.Join(ro.DataDir, "tls")
	port := strconv.Itoa(ro.Port)
	nr := NodeRegistry{
		CAFile:   filepath.Join(tlsDir, "ca.crt"),
		CertFile: filepath.Join(tlsDir, "agent.crt"),
		KeyFile:  filepath.Join(tlsDir, "agent.key"),
	}
	for _, h := range ro.Hosts() {
		nr.Hosts = append(nr.Hosts, net.JoinHostPort(h, port))
	}
	path := nodeRegistriesPath(ro.DataDir)
	if err := WriteNodeRegistries(path, ao.Runtime.RegistryConfig, nr); err != nil {
		return err
	}
	ao.Runtime.RegistryConfig = path
	return nil
}

// The node's client certificate as the registries config wants it: files
// under <data-dir>/agent, kept current by NodeClientCert.
const (
	registryClientCert = "registry-client.crt"
	registryClientKey  = "registry-client.key"
)

// JoinedNodeRegistries points a joined node's runtime at the registry of
// the server it joined (the server's host, port 5000), with the node's
// client certificate from the join, and mirrors 127.0.0.1:5000 and
// localhost:5000 there: an image named for the server's loopback
// registry pulls on every node. The user's --registry-config is merged
// in.
func JoinedNodeRegistries(ao *AgentOptions, dataDir, server string, cfg *rest.Config) error {
	u, err := url.Parse(server)
	if err != nil || u.Hostname() == "" {
		return fmt.Errorf("registry of server %q: not a URL", server)
	}
	dir := filepath.Join(dataDir, "agent")
	nr := NodeRegistry{
		CAFile: cfg.CAFile, CertFile: cfg.CertFile, KeyFile: cfg.KeyFile,
		Hosts: []string{net.JoinHostPort(u.Hostname(), strconv.Itoa(registry.DefaultPort))},
	}
	for _, h := range []string{"127.0.0.1", "localhost"} {
		if h != u.Hostname() {
			nr.Mirrored = append(nr.Mirrored, net.JoinHostPort(h, strconv.Itoa(registry.DefaultPort)))
		}
	}
	// The credentials are in the kubeconfig; the registries config wants
	// files.
	files := []struct {
		path *string
		name string
		data []byte
		mode os.FileMode
	}{
		{&nr.CAFile, "registry-ca.crt", cfg.CAData, 0o644},
		{&nr.CertFile, registryClientCert, cfg.CertData, 0o644},
		{&nr.KeyFile, registryClientKey, cfg.KeyData, 0o600},
	}
	for _, f := range files {
		if *f.path != "" || len(f.data) == 0 {
			continue
		}
		*f.path = filepath.Join(dir, f.name)
		if err := os.WriteFile(*f.path, f.data, f.mode); err != nil {
			return fmt.Errorf("node registry credentials: %w", err)
		}
	}
	path := nodeRegistriesPath(dataDir)
	if err := WriteNodeRegistries(path, ao.Runtime.RegistryConfig, nr); err != nil {
		return err
	}
	ao.Runtime.RegistryConfig = path
	return nil
}
