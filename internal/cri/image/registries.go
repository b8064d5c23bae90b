package image

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"

	"sigs.k8s.io/yaml"
)

// RegistriesConfig is a registries.yaml in k3s's format:
//
//	mirrors:
//	  docker.io:
//	    endpoint: ["http://127.0.0.1:5000", "https://mirror.example"]
//	    rewrite: {"^library/(.*)": "mirrored/$1"}
//	configs:
//	  mirror.example:
//	    auth: {username: u, password: p}
//	    tls: {ca_file: /etc/ca.pem, cert_file: c.pem, key_file: k.pem, insecure_skip_verify: false}
//
// A mirror's endpoints are tried in order, then the registry itself. "*"
// mirrors every registry that has no entry of its own. An http:// endpoint
// is spoken to in plain HTTP.
type RegistriesConfig struct {
	Mirrors map[string]Mirror         `json:"mirrors,omitempty"`
	Configs map[string]RegistryConfig `json:"configs,omitempty"`
}

// Mirror lists the endpoints that serve a registry's images.
type Mirror struct {
	Endpoints []string          `json:"endpoint,omitempty"`
	Rewrites  map[string]string `json:"rewrite,omitempty"`
}

// RegistryConfig is how to talk to one registry host.
type RegistryConfig struct {
	Auth *RegistryAuth `json:"auth,omitempty"`
	TLS  *RegistryTLS  `json:"tls,omitempty"`
}

// RegistryAuth are credentials for a registry host.
type RegistryAuth struct {
	Username      string `json:"username,omitempty"`
	Password      string `json:"password,omitempty"`
	Auth          string `json:"auth,omitempty"`
	IdentityToken string `json:"identity_token,omitempty"`
}

// RegistryTLS configures TLS to a registry host.
type RegistryTLS struct {
	CAFile             string `json:"ca_file,omitempty"`
	CertFile           string `json:"cert_file,omitempty"`
	KeyFile            string `json:"key_file,omitempty"`
	InsecureSkipVerify bool   `json:"insecure_skip_verify,omitempty"`
}

// ParseRegistriesConfig parses and validates a registries.yaml. Unknown
// fields are errors, so that a misspelt key does not silently do nothing.
func ParseRegistriesConfig(data []byte) (*RegistriesConfig, error) {
	var c RegistriesConfig
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return nil, fmt.Errorf("registries config: %w", err)
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("registries config: %w", err)
	}
	return &c, nil
}

func (c *RegistriesConfig) validate() error {
	var errs []error
	for _, host := range sortedKeys(c.Mirrors) {
		m := c.Mirrors[host]
		if host == "" {
			errs = append(errs, errors.New("mirrors: empty registry name"))
		}
		for _, e := range m.Endpoints {
			if _, err := parseEndpoint(e); err != nil {
				errs = append(errs, fmt.Errorf("mirrors.%s: %w", host, err))
			}
		}
		for _, re := range sortedKeys(m.Rewrites) {
			if _, err := regexp.Compile(re); err != nil {
				errs = append(errs, fmt.Errorf("mirrors.%s.rewrite: %w", host, err))
			}
		}
	}
	for _, host := range sortedKeys(c.Configs) {
		rc := c.Configs[host]
		if host == "" {
			errs = append(errs, errors.New("configs: empty registry name"))
		}
		if t := rc.TLS; t != nil && (t.CertFile == "") != (t.KeyFile == "") {
			errs = append(errs, fmt.Errorf("configs.%s.tls: cert_file and key_file go together", host))
		}
	}
	return errors.Join(errs...)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// endpoint is one place to pull a registry's images from.
type endpoint struct {
	host      string // host[:port]
	plainHTTP bool
}

// parseEndpoint takes "https://host[:port]", "http://host[:port]" or a
// bare "host[:port]" (https). A path other than /v2 is not supported.
func parseEndpoint(s string) (endpoint, error) {
	raw := s
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return endpoint{}, fmt.Errorf("endpoint %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return endpoint{}, fmt.Errorf("endpoint %q: scheme must be http or https", raw)
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return endpoint{}, fmt.Errorf("endpoint %q: want scheme://host[:port]", raw)
	}
	if p := strings.TrimSuffix(u.Path, "/"); p != "" && p != "/v2" {
		return endpoint{}, fmt.Errorf("endpoint %q: paths are not supported", raw)
	}
	return endpoint{host: u.Host, plainHTTP: u.Scheme == "http"}, nil
}

// registries is a loaded RegistriesConfig: files read, TLS configs built.
type registries struct {
	cfg RegistriesConfig
	tls map[string]*tls.Config // by host
}

func loadRegistries(file string) (*registries, error) {
	r := &registries{tls: map[string]*tls.Config{}}
	if file == "" {
		return r, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("registries config: %w", err)
	}
	cfg, err := ParseRegistriesConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	r.cfg = *cfg
	for host, rc := range cfg.Configs {
		if rc.TLS == nil {
			continue
		}
		tc, err := tlsConfig(rc.TLS)
		if err != nil {
			return nil, fmt.Errorf("%s: configs.%s.tls: %w", file, host, err)
		}
		r.tls[host] = tc
	}
	return r, nil
}

func tlsConfig(t *RegistryTLS) (*tls.Config, error) {
	tc := &tls.Config{InsecureSkipVerify: t.InsecureSkipVerify, MinVersion: tls.VersionTLS12}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, err
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s: no certificate", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, err
		}
		tc.GetClientCertificate = (&clientCertFiles{cert: t.CertFile, key: t.KeyFile, last: &cert}).get
	}
	return tc, nil
}

// clientCertFiles presents the pair in its files as they are at each
// handshake: a node's client certificate is renewed while it runs
// (cluster.NodeClientCert rewrites them). A pair that does not load (one
// file rewritten, not yet the other) gives the last good one.
type clientCertFiles struct {
	cert, key string
	mu        sync.Mutex
	last      *tls.Certificate
}

func (f *clientCertFiles) get(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if cert, err := tls.LoadX509KeyPair(f.cert, f.key); err == nil {
		f.last = &cert
	}
	return f.last, nil
}

// source is where to try a pull, in order: a mirror endpoint with the
// repository it has the image under, or the registry itself.
type source struct {
	endpoint
	repo   string
	mirror bool
}

// sources are the places to pull registry/repo from.
func (r *registries) sources(registry, repo string) []source {
	m, ok := r.cfg.Mirrors[registry]
	if !ok {
		m = r.cfg.Mirrors["*"]
	}
	var out []source
	for _, e := range m.Endpoints {
		ep, err := parseEndpoint(e)
		if err != nil {
			continue // validated at load
		}
		out = append(out, source{endpoint: ep, repo: rewrite(repo, m.Rewrites), mirror: true})
	}
	self := endpoint{host: registry}
	if registry == "docker.io" {
		self.host = "registry-1.docker.io"
	}
	for _, s := range out {
		if s.host == self.host && s.repo == repo {
			return out // the registry is one of its own mirrors
		}
	}
	return append(out, source{endpoint: self, repo: repo})
}

func rewrite(repo string, rules map[string]string) string {
	for _, re := range sortedKeys(rules) {
		rx, err := regexp.Compile(re)
		if err == nil && rx.MatchString(repo) {
			return rx.ReplaceAllString(repo, rules[re])
		}
	}
	return repo
}

// auth is the configured auth for a host, nil if none.
func (r *registries) auth(host string) *RegistryAuth {
	if c, ok := r.cfg.Configs[host]; ok {
		return c.Auth
	}
	return nil
}
