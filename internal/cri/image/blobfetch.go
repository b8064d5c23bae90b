package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// A pull downloads its layers with requests of its own rather than
// through go-containerregistry's layers, which hash every blob as they
// read it: the content store hashes it too as it writes it, and the
// second SHA-256 was a sixth of a pull's CPU time (imagebench). The
// manifest and the config still come through go-containerregistry, over
// the same authenticated transport (one token for both).

// pullRetryCodes are the answers worth asking again for, as
// go-containerregistry's defaults.
var pullRetryCodes = []int{
	http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
	http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout,
}

// authTransport is tr with go-containerregistry's retries, logged in to
// repo's registry for pulls (the registry pinged, a token fetched). It is
// a transport.Wrapper: go-containerregistry uses it as it is.
func authTransport(ctx context.Context, repo name.Repository, auth authn.Authenticator, tr http.RoundTripper, backoff remote.Backoff) (http.RoundTripper, error) {
	rt := transport.NewRetry(tr, transport.WithRetryBackoff(backoff), transport.WithRetryPredicate(retryable),
		transport.WithRetryStatusCodes(pullRetryCodes...))
	return transport.NewWithContext(ctx, repo.Registry, auth, rt, []string{repo.Scope(transport.PullScope)})
}

// retryable: network failures that another attempt may not meet.
func retryable(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed)
}

// directImage is a remote image whose layers download through
// directLayer.
type directImage struct {
	v1.Image
	client *http.Client
	repo   name.Repository
}

func (i *directImage) Layers() ([]v1.Layer, error) {
	ls, err := i.Image.Layers()
	if err != nil {
		return nil, err
	}
	m, err := i.Image.Manifest()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for j, l := range ls {
		out[j] = l
		// Layers that live elsewhere (foreign URLs) keep go-containerregistry's
		// fallbacks.
		if j < len(m.Layers) && len(m.Layers[j].URLs) == 0 {
			out[j] = &directLayer{Layer: l, img: i, desc: m.Layers[j]}
		}
	}
	return out, nil
}

// directLayer is a layer whose blob is read unverified: only for the
// content store, which verifies what it writes.
type directLayer struct {
	v1.Layer
	img  *directImage
	desc v1.Descriptor
}

// open GETs the blob from the registry (following its redirects).
func (l *directLayer) open(ctx context.Context) (io.ReadCloser, error) {
	u := fmt.Sprintf("%s://%s/v2/%s/blobs/%s", l.img.repo.Scheme(), l.img.repo.RegistryStr(), l.img.repo.RepositoryStr(), l.desc.Digest)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := l.img.client.Do(req)
	if err != nil {
		return nil, err
	}
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		resp.Body.Close()
		return nil, err
	}
	if resp.ContentLength >= 0 && resp.ContentLength != l.desc.Size {
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: Content-Length %d, the manifest says %d", u, resp.ContentLength, l.desc.Size)
	}
	return resp.Body, nil
}

// openCompressed opens a layer's blob as stored in the registry.
func openCompressed(ctx context.Context, l v1.Layer) (io.ReadCloser, error) {
	if dl, ok := l.(*directLayer); ok {
		return dl.open(ctx)
	}
	return l.Compressed()
}
