package image

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// PushProgress is how far a push is: bytes of blobs done (sent, found in
// the registry already, or mounted from another repository) of the bytes
// known so far to need pushing.
type PushProgress struct{ Complete, Total int64 }

// pushJobs is how many blobs of one image upload at once.
const pushJobs = 4

// Push sends the image ref names in the store (a tag, or name@digest) to
// that reference in its registry, with auth (else the registries
// config's credentials for the host), over the registries config's TLS
// settings for the host. Blobs the registry has are not sent again; blobs
// the image is known to have in another repository of the same registry
// are mounted from there. It returns the manifest digest and records
// name@digest among the image's RepoDigests. progress, if not nil, is
// called from one goroutine as the push goes.
func (s *Store) Push(ctx context.Context, ref string, auth *Auth, progress func(PushProgress)) (string, error) {
	r, err := parseReference(ref)
	if err != nil {
		return "", fmt.Errorf("push: %w", err)
	}
	digest, err := s.push(ctx, r, auth, progress)
	if err != nil {
		return "", fmt.Errorf("push %s: %w", r, err)
	}
	return digest, nil
}

func (s *Store) push(ctx context.Context, r reference, auth *Auth, progress func(PushProgress)) (string, error) {
	// Keep garbage collection from removing blobs being sent.
	s.gc.RLock()
	defer s.gc.RUnlock()
	s.mu.Lock()
	rec, err := s.lookupReferenceLocked(r)
	if err != nil {
		s.mu.Unlock()
		return "", err
	}
	repoDigests := slices.Clone(rec.RepoDigests)
	rec = rec.snapshot()
	s.mu.Unlock()
	img, _, err := s.storedImage(rec)
	if err != nil {
		return "", err
	}
	mdigest, err := img.Digest()
	if err != nil {
		return "", err
	}
	if r.digest != "" && r.digest != mdigest.String() {
		return "", fmt.Errorf("the image's manifest is %s: %w", mdigest, ErrNotFound)
	}
	ep := s.registries.pushEndpoint(r.registry)
	var nopts []name.Option
	if ep.plainHTTP {
		nopts = append(nopts, name.Insecure)
	}
	repo, err := name.NewRepository(r.registry+"/"+r.repo, nopts...)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidReference, err)
	}
	var dst name.Reference = repo.Tag(r.tag)
	if r.digest != "" {
		dst = repo.Digest(r.digest)
	}
	if from := mountSource(repo, repoDigests, nopts); from != nil {
		img = &mountingImage{Image: img, from: from}
	}
	tr := s.transport(ep)
	defer tr.CloseIdleConnections()
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithTransport(tr),
		remote.WithAuth(s.authenticator(r, source{endpoint: ep, repo: r.repo}, auth)),
		remote.WithJobs(pushJobs),
		remote.WithRetryBackoff(remote.Backoff{Duration: 200 * time.Millisecond, Factor: 2, Steps: 3}),
	}
	var done chan struct{}
	if progress != nil {
		updates := make(chan v1.Update, 16)
		done = make(chan struct{})
		go func() {
			defer close(done)
			for u := range updates {
				if u.Error == nil {
					progress(PushProgress{Complete: u.Complete, Total: u.Total})
				}
			}
		}()
		opts = append(opts, remote.WithProgress(updates))
	}
	err = remote.Write(dst, img, opts...)
	if done != nil {
		<-done // remote.Write closed the channel
	}
	if err != nil {
		return "", s.registryError(ep.host, err)
	}
	s.recordDigest(rec.ID, r.name()+"@"+mdigest.String())
	s.log.Info("image pushed", "ref", r.String(), "digest", mdigest)
	return mdigest.String(), nil
}

// lookupReferenceLocked finds the image a reference names by tag or by
// digest, and nothing else (an ID prefix names no registry to push to).
func (s *Store) lookupReferenceLocked(r reference) (*imageRecord, error) {
	for _, rec := range s.meta.Images {
		if r.digest != "" && slices.Contains(rec.RepoDigests, r.name()+"@"+r.digest) {
			return rec, nil
		}
		if t := r.tagged(); t != "" && slices.Contains(rec.RepoTags, t) {
			return rec, nil
		}
	}
	if r.digest != "" {
		// An image pushed or pulled under another name is pushed by its
		// manifest digest too.
		for _, rec := range s.meta.Images {
			for _, d := range rec.RepoDigests {
				if _, dg, ok := cutDigest(d); ok && dg == r.digest {
					return rec, nil
				}
			}
		}
	}
	return nil, fmt.Errorf("image %q: %w (tag it first: kemudi image tag SRC %s)", r.String(), ErrNotFound, r.String())
}

func cutDigest(ref string) (string, string, bool) {
	for i := len(ref) - 1; i >= 0; i-- {
		if ref[i] == '@' {
			return ref[:i], ref[i+1:], true
		}
	}
	return "", "", false
}

// recordDigest adds name@digest to an image's RepoDigests, as a pull of it
// would have.
func (s *Store) recordDigest(id, nameDigest string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.meta.Images[id]
	if !ok || slices.Contains(rec.RepoDigests, nameDigest) {
		return
	}
	rec.RepoDigests = append(rec.RepoDigests, nameDigest)
	if err := s.saveLocked(); err != nil {
		s.log.Warn("recording a pushed digest", "image", id, "err", err)
	}
}

// pushEndpoint is how to reach a registry to push to it: plain HTTP if the
// registries config lists the registry as an http:// endpoint of its own
// (mirrors only serve pulls), else HTTPS (and plain HTTP for loopback).
func (r *registries) pushEndpoint(registry string) endpoint {
	if m, ok := r.cfg.Mirrors[registry]; ok {
		for _, e := range m.Endpoints {
			if ep, err := parseEndpoint(e); err == nil && ep.host == registry {
				return ep
			}
		}
	}
	return endpoint{host: registry}
}

// mountSource is another repository of repo's registry that has the image
// (it was pulled from or pushed to it), so that the registry can mount its
// blobs instead of receiving them again; nil if none.
func mountSource(repo name.Repository, repoDigests []string, nopts []name.Option) name.Reference {
	for _, rd := range repoDigests {
		ref, err := name.NewDigest(rd, nopts...)
		if err != nil {
			continue
		}
		if ref.Context().RegistryStr() == repo.RegistryStr() && ref.Context().RepositoryStr() != repo.RepositoryStr() {
			return ref
		}
	}
	return nil
}

// mountingImage offers its layers for mounting from another repository.
type mountingImage struct {
	v1.Image
	from name.Reference
}

func (i *mountingImage) Layers() ([]v1.Layer, error) {
	ls, err := i.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for j, l := range ls {
		out[j] = &remote.MountableLayer{Layer: l, Reference: i.from}
	}
	return out, nil
}

// ConfigLayer offers the config blob for mounting too.
func (i *mountingImage) ConfigLayer() (v1.Layer, error) {
	cl, err := partial.ConfigLayer(i.Image)
	if err != nil {
		return nil, err
	}
	return &remote.MountableLayer{Layer: cl, Reference: i.from}, nil
}
