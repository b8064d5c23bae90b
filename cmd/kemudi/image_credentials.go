package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/types"
	"github.com/google/go-containerregistry/pkg/name"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Registry credentials live in Docker's config.json
// ($DOCKER_CONFIG/config.json, default ~/.docker/config.json, mode 0600,
// auths.HOST.auth = base64 user:password, or the credential helper it
// names), read and written with Docker's own package, so that docker,
// podman, skopeo, crane and go-containerregistry's DefaultKeychain share
// one login.

// dockerConfigDir is where config.json is.
func dockerConfigDir() (string, error) {
	if d := os.Getenv(config.EnvOverrideConfigDir); d != "" {
		return d, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("registry credentials: no home directory and no $DOCKER_CONFIG: %w", err)
	}
	return filepath.Join(home, ".docker"), nil
}

func loadDockerConfig() (*configfile.ConfigFile, error) {
	dir, err := dockerConfigDir()
	if err != nil {
		return nil, err
	}
	cf, err := config.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("registry credentials: %w", err)
	}
	return cf, nil
}

// registryHost is the host part of what `login HOST` takes: "host:port",
// "https://host:port/", or docker.io and its aliases (all "docker.io").
func registryHost(s string) (string, error) {
	h := strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://")
	h, _, _ = strings.Cut(h, "/")
	if h == "" {
		return "", fmt.Errorf("registry %q: no host", s)
	}
	reg, err := name.NewRegistry(h)
	if err != nil {
		return "", fmt.Errorf("registry %q: %w", s, err)
	}
	if reg.RegistryStr() == name.DefaultRegistry || h == "registry-1.docker.io" {
		return "docker.io", nil
	}
	return reg.RegistryStr(), nil
}

// refHost is the registry host of an image reference.
func refHost(ref string) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("image %q: %w", ref, err)
	}
	return registryHost(r.Context().RegistryStr())
}

// storeCredentials records a login for host.
func storeCredentials(host, user, password string) error {
	cf, err := loadDockerConfig()
	if err != nil {
		return err
	}
	ac := types.AuthConfig{Username: user, Password: password, ServerAddress: credentialsKey(host)}
	if err := cf.GetCredentialsStore(ac.ServerAddress).Store(ac); err != nil {
		return fmt.Errorf("store credentials for %s: %w", host, err)
	}
	return nil
}

// eraseCredentials removes host's login; false if there was none.
func eraseCredentials(host string) (bool, error) {
	cf, err := loadDockerConfig()
	if err != nil {
		return false, err
	}
	key := credentialsKey(host)
	if _, ok := cf.AuthConfigs[key]; !ok && cf.CredentialsStore == "" && cf.CredentialHelpers[key] == "" {
		return false, nil
	}
	if err := cf.GetCredentialsStore(key).Erase(key); err != nil {
		return false, fmt.Errorf("remove credentials for %s: %w", host, err)
	}
	return true, nil
}

// credentialsFor are the stored credentials for ref's registry as the CRI
// takes them, nil if there are none.
func credentialsFor(ref string) (*runtimeapi.AuthConfig, error) {
	host, err := refHost(ref)
	if err != nil {
		return nil, err
	}
	cf, err := loadDockerConfig()
	if err != nil {
		return nil, err
	}
	ac, err := cf.GetAuthConfig(credentialsKey(host))
	if err != nil {
		return nil, fmt.Errorf("credentials for %s: %w", host, err)
	}
	if ac.Username == "" && ac.Password == "" && ac.Auth == "" && ac.IdentityToken == "" && ac.RegistryToken == "" {
		return nil, nil
	}
	return &runtimeapi.AuthConfig{
		Username: ac.Username, Password: ac.Password, Auth: ac.Auth,
		IdentityToken: ac.IdentityToken, RegistryToken: ac.RegistryToken, ServerAddress: host,
	}, nil
}

// credentialsKey is docker's key for a host in auths.
func credentialsKey(host string) string {
	if host == "docker.io" {
		return "https://index.docker.io/v1/"
	}
	return host
}

var errNoPassword = errors.New("no password: give --password-stdin (or -p), or run in a terminal")
