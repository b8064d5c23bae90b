package image

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Login checks credentials against a registry host ("127.0.0.1:5000") as
// `docker login` does: it asks the registry's /v2/ what authentication it
// wants, gets a token from the realm it names with the credentials
// (Docker's token flow) or sends them as Basic auth, and asks /v2/ again
// with them. Refused credentials are ErrUnauthorized. The registries
// config's TLS settings for the host apply, so the registry's CA is the
// one the node trusts for pulls.
func (s *Store) Login(ctx context.Context, host string, auth *Auth) error {
	if err := s.login(ctx, host, auth); err != nil {
		return fmt.Errorf("login %s: %w", host, err)
	}
	return nil
}

func (s *Store) login(ctx context.Context, host string, auth *Auth) error {
	if auth == nil || (auth.Username == "" && auth.Auth == "" && auth.IdentityToken == "" && auth.RegistryToken == "") {
		return fmt.Errorf("%w: no credentials", ErrUnauthorized)
	}
	ep := s.registries.pushEndpoint(host)
	var nopts []name.Option
	if ep.plainHTTP {
		nopts = append(nopts, name.Insecure)
	}
	reg, err := name.NewRegistry(host, nopts...)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidReference, err)
	}
	tr := s.transport(ep)
	defer tr.CloseIdleConnections()
	a := authn.FromConfig(authn.AuthConfig{
		Username: auth.Username, Password: auth.Password, Auth: auth.Auth,
		IdentityToken: auth.IdentityToken, RegistryToken: auth.RegistryToken,
	})
	// With a Bearer challenge, this already gets a token with the
	// credentials: wrong ones fail here.
	rt, err := transport.NewWithContext(ctx, reg, a, tr, nil)
	if err != nil {
		return s.registryError(host, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s://%s/v2/", reg.Scheme(), reg.RegistryStr()), nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		return s.registryError(host, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		return s.registryError(host, err)
	}
	return nil
}
