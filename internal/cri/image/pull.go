package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Pull pulls ref (by tag or digest) for linux/GOARCH, through the
// configured mirrors first, and returns the image. Concurrent pulls of
// one image (with the same credentials) share one download, which stops
// when every caller has given up (ctx). A failed pull leaves nothing
// behind.
func (s *Store) Pull(ctx context.Context, ref string, auth *Auth) (Image, error) {
	r, err := parseReference(ref)
	if err != nil {
		return Image{}, fmt.Errorf("pull: %w", err)
	}
	return s.pulls.doCtx(ctx, r.String()+"\x00"+authKey(auth), func(ctx context.Context) (Image, error) {
		img, err := s.pull(ctx, r, auth)
		if err != nil {
			s.collectAfterFailure()
			return Image{}, fmt.Errorf("pull %s: %w", r, err)
		}
		return img, nil
	})
}

func authKey(a *Auth) string {
	if a == nil {
		return ""
	}
	h := sha256.Sum256([]byte(strings.Join([]string{a.Username, a.Password, a.Auth, a.IdentityToken, a.RegistryToken, a.ServerAddress}, "\x00")))
	return hex.EncodeToString(h[:])
}

func (s *Store) pull(ctx context.Context, r reference, auth *Auth) (Image, error) {
	s.gc.RLock()
	defer s.gc.RUnlock()
	var errs []error
	for _, src := range s.registries.sources(r.registry, r.repo) {
		img, err := s.pullFrom(ctx, r, src, auth)
		if err == nil {
			return img, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
		if src.mirror {
			s.log.Warn("pull from mirror failed", "image", r.String(), "mirror", src.host, "err", err)
		}
	}
	if len(errs) == 1 {
		return Image{}, errs[0]
	}
	return Image{}, errors.Join(errs...)
}

func (s *Store) pullFrom(ctx context.Context, r reference, src source, auth *Auth) (Image, error) {
	var nopts []name.Option
	if src.plainHTTP {
		nopts = append(nopts, name.Insecure)
	}
	repo, err := name.NewRepository(src.host+"/"+src.repo, nopts...)
	if err != nil {
		return Image{}, fmt.Errorf("%w: %v", ErrInvalidReference, err)
	}
	var ref name.Reference = repo.Tag(r.tag)
	if r.digest != "" {
		ref = repo.Digest(r.digest)
	}
	tr := s.transport(src.endpoint)
	defer tr.CloseIdleConnections()
	rt, err := authTransport(ctx, repo, s.authenticator(r, src, auth), tr, remote.Backoff{Duration: 200 * time.Millisecond, Factor: 2, Steps: 3})
	if err != nil {
		return Image{}, s.registryError(src.host, err)
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithTransport(rt), remote.WithPlatform(platform())}
	desc, err := remote.Get(ref, opts...)
	if err != nil {
		return Image{}, s.registryError(src.host, err)
	}
	extra := map[v1.Hash][]byte{}
	var img v1.Image
	switch {
	case desc.MediaType.IsIndex():
		extra[desc.Digest] = desc.Manifest
		idx, err := desc.ImageIndex()
		if err != nil {
			return Image{}, s.registryError(src.host, err)
		}
		img, err = pickPlatform(idx)
		if err != nil {
			return Image{}, s.registryError(src.host, err)
		}
	case desc.MediaType.IsImage():
		if img, err = desc.Image(); err != nil {
			return Image{}, s.registryError(src.host, err)
		}
	default:
		return Image{}, fmt.Errorf("unsupported manifest type %q", desc.MediaType)
	}
	var tags []string
	if t := r.tagged(); t != "" {
		tags = append(tags, t)
	}
	digests := []string{r.name() + "@" + desc.Digest.String()}
	img = &directImage{Image: img, client: &http.Client{Transport: rt}, repo: repo}
	out, err := s.ingest(ctx, img, extra, tags, digests)
	if err != nil {
		return Image{}, s.registryError(src.host, err)
	}
	return out, nil
}

func platform() v1.Platform { return v1.Platform{OS: "linux", Architecture: runtime.GOARCH} }

// pickPlatform chooses the image for linux/GOARCH from an index.
func pickPlatform(idx v1.ImageIndex) (v1.Image, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	want := platform()
	var have []string
	for _, m := range im.Manifests {
		if m.Platform == nil || !m.MediaType.IsImage() {
			continue
		}
		have = append(have, m.Platform.String())
		if m.Platform.OS == want.OS && m.Platform.Architecture == want.Architecture {
			return idx.Image(m.Digest)
		}
	}
	return nil, fmt.Errorf("%w: no image for %s in the index (it has %s)", ErrNotFound, want, strings.Join(have, ", "))
}

// authenticator: the CRI request's credentials for the image's own
// registry (or the host they name), else the configured ones of the host,
// else none. A mirror does not get the registry's credentials.
func (s *Store) authenticator(r reference, src source, a *Auth) authn.Authenticator {
	if a != nil && *a != (Auth{}) && (!src.mirror || hostOf(a.ServerAddress) == src.host) {
		return authn.FromConfig(authn.AuthConfig{
			Username: a.Username, Password: a.Password, Auth: a.Auth,
			IdentityToken: a.IdentityToken, RegistryToken: a.RegistryToken,
		})
	}
	c := s.registries.auth(src.host)
	if c == nil && !src.mirror {
		c = s.registries.auth(r.registry)
	}
	if c != nil {
		return authn.FromConfig(authn.AuthConfig{Username: c.Username, Password: c.Password, Auth: c.Auth, IdentityToken: c.IdentityToken})
	}
	return authn.Anonymous
}

// hostOf takes the host out of "https://host/v1/" or "host".
func hostOf(addr string) string {
	addr = strings.TrimPrefix(strings.TrimPrefix(addr, "https://"), "http://")
	host, _, _ := strings.Cut(addr, "/")
	return host
}
