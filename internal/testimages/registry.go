package testimages

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Registry is an in-memory OCI registry served over plain HTTP on
// 127.0.0.1.
type Registry struct {
	// Host is "127.0.0.1:<port>", the registry part of its references.
	Host  string
	inner http.Handler
	srv   *httptest.Server
}

// Middleware wraps the registry's handler (authentication, faults).
type Middleware func(http.Handler) http.Handler

// NewRegistry starts a registry on 127.0.0.1:0. Requests from outside
// pass through wrap (first = outermost); Push does not. Close stops it.
func NewRegistry(wrap ...Middleware) (*Registry, error) {
	inner := registry.New(registry.Logger(discardLogger()))
	var h http.Handler = inner
	for i := len(wrap) - 1; i >= 0; i-- {
		h = wrap[i](h)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("test registry: %w", err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = l
	srv.Start()
	return &Registry{Host: l.Addr().String(), inner: inner, srv: srv}, nil
}

// Close stops the registry.
func (r *Registry) Close() { r.srv.Close() }

// Ref is the full reference of repoTag ("app:1") in this registry.
func (r *Registry) Ref(repoTag string) string { return r.Host + "/" + repoTag }

// Push stores img as repoTag ("app:1") and returns its digest reference
// ("127.0.0.1:port/app@sha256:...").
func (r *Registry) Push(repoTag string, img v1.Image) (string, error) {
	ref, err := name.NewTag(r.Ref(repoTag))
	if err != nil {
		return "", err
	}
	if err := remote.Write(ref, img, remote.WithTransport(handlerTransport{r.inner})); err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	return ref.Context().Digest(d.String()).String(), nil
}

// PushIndex stores a multi-arch index as repoTag and returns its digest
// reference.
func (r *Registry) PushIndex(repoTag string, idx v1.ImageIndex) (string, error) {
	ref, err := name.NewTag(r.Ref(repoTag))
	if err != nil {
		return "", err
	}
	if err := remote.WriteIndex(ref, idx, remote.WithTransport(handlerTransport{r.inner})); err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	d, err := idx.Digest()
	if err != nil {
		return "", err
	}
	return ref.Context().Digest(d.String()).String(), nil
}

// handlerTransport serves requests with a handler in process, so pushes
// skip the middleware and the network.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	req = req.Clone(context.WithoutCancel(req.Context()))
	if req.Body == nil {
		req.Body = http.NoBody
	}
	t.h.ServeHTTP(rec, req)
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

// BasicAuth refuses requests without these credentials, with a 401 and a
// Basic challenge as registries do.
func BasicAuth(user, password string) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			u, p, ok := req.BasicAuth()
			if !ok || u != user || p != password {
				w.Header().Set("WWW-Authenticate", `Basic realm="testimages"`)
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, req)
		})
	}
}
