package registry

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"

	"github.com/distribution/distribution/v3"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Content addressed by sha512 digests (OCI 1.1 allows them). distribution
// keeps every blob under its sha256 digest and links other digests of a
// repository's blobs to it; it answers with the sha256 digest, cannot
// mount a blob named by its sha512 digest, and refuses a manifest PUT by
// sha512 digest. So, around it:
//   - answers about content named by a sha512 digest carry that digest
//     (Docker-Content-Digest, Location);
//   - a mount by sha512 digest mounts the blob's sha256 digest and links
//     the sha512 one in the target repository, as an upload by it would;
//   - a manifest PUT by sha512 digest is checked against that digest,
//     stored by its sha256 digest, and the sha512 digest linked to it;
//   - garbage collection counts a manifest's sha512 references as
//     references to the blobs they link to (see gcNamespace).

// sha512Request recognizes a request naming content by a sha512 digest
// and prepares it: the writer to answer through, the request to serve
// and a func to run once it is served. ok false: not such a request.
func (r *Registry) sha512Request(w http.ResponseWriter, req *http.Request) (http.ResponseWriter, *http.Request, func(), bool) {
	rest, found := strings.CutPrefix(req.URL.Path, "/v2/")
	if !found {
		return w, req, nil, false
	}
	q := req.URL.Query()
	if i := strings.LastIndex(rest, "/manifests/sha512:"); i > 0 && req.Method == http.MethodPut {
		return r.sha512ManifestPut(w, req, rest[:i], digest.Digest(rest[i+len("/manifests/"):]))
	}
	if i := strings.LastIndex(rest, "/blobs/sha512:"); i > 0 {
		return &digestWriter{ResponseWriter: w, want: digest.Digest(rest[i+len("/blobs/"):])}, req, nil, true
	}
	if !strings.Contains(rest, "/blobs/uploads/") {
		return w, req, nil, false
	}
	// (digest.Digest's Algorithm panics on a string without a colon.)
	if m := q.Get("mount"); req.Method == http.MethodPost && strings.HasPrefix(m, "sha512:") {
		return r.sha512Mount(w, req, strings.Split(rest, "/blobs/uploads/")[0], digest.Digest(m), q.Get("from"))
	}
	if d := q.Get("digest"); strings.HasPrefix(d, "sha512:") {
		return &digestWriter{ResponseWriter: w, want: digest.Digest(d)}, req, nil, true
	}
	return w, req, nil, false
}

// sha512Mount mounts the sha256 digest of the blob d of repository from
// (if from has it) and links d in name.
func (r *Registry) sha512Mount(w http.ResponseWriter, req *http.Request, name string, d digest.Digest, from string) (http.ResponseWriter, *http.Request, func(), bool) {
	canonical, err := r.canonicalBlob(req.Context(), from, d)
	if err != nil || d.Validate() != nil {
		return w, req, nil, false // distribution starts an upload instead, as the spec says
	}
	req = req.Clone(req.Context())
	q := req.URL.Query()
	q.Set("mount", canonical.String())
	req.URL.RawQuery = q.Encode()
	dw := &digestWriter{ResponseWriter: w, want: d}
	return dw, req, func() {
		if dw.status == http.StatusCreated {
			r.link(req.Context(), name, "_layers", d, canonical)
		}
	}, true
}

// canonicalBlob is the digest distribution stores repository repo's blob
// d under.
func (r *Registry) canonicalBlob(ctx context.Context, repo string, d digest.Digest) (digest.Digest, error) {
	named, err := reference.WithName(repo)
	if err != nil {
		return "", err
	}
	rp, err := r.ns.Repository(ctx, named)
	if err != nil {
		return "", err
	}
	desc, err := rp.Blobs(ctx).Stat(ctx, d)
	if err != nil {
		return "", err
	}
	return desc.Digest, nil
}

// sha512ManifestPut stores a manifest PUT by sha512 digest d under its
// sha256 digest and links d to it.
func (r *Registry) sha512ManifestPut(w http.ResponseWriter, req *http.Request, name string, d digest.Digest) (http.ResponseWriter, *http.Request, func(), bool) {
	if d.Validate() != nil {
		return w, req, nil, false // distribution refuses it
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, maxManifestSize+1))
	if err != nil || len(body) > maxManifestSize {
		registryError(w, http.StatusBadRequest, "MANIFEST_INVALID", "manifest unreadable or too big")
		return w, nil, nil, true
	}
	if digest.SHA512.FromBytes(body) != d {
		registryError(w, http.StatusBadRequest, "DIGEST_INVALID", "provided digest did not match uploaded content")
		return w, nil, nil, true
	}
	canonical := digest.FromBytes(body)
	req = req.Clone(req.Context())
	req.URL.Path = strings.TrimSuffix(req.URL.Path, d.String()) + canonical.String()
	req.URL.RawPath = ""
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	dw := &digestWriter{ResponseWriter: w, want: d}
	return dw, req, func() {
		if dw.status == http.StatusCreated {
			r.link(req.Context(), name, "_manifests/revisions", d, canonical)
		}
	}, true
}

// link makes d, in repository name's kind of links (_layers or
// _manifests/revisions), name the content stored as canonical: the link
// file distribution reads (its storage layout).
func (r *Registry) link(ctx context.Context, name, kind string, d, canonical digest.Digest) {
	if _, err := reference.WithName(name); err != nil {
		return
	}
	r.gcLock.RLock() // a collection must not run between the content and its link
	defer r.gcLock.RUnlock()
	p := "/docker/registry/v2/repositories/" + name + "/" + kind + "/" + d.Algorithm().String() + "/" + d.Encoded() + "/link"
	if err := r.driver.PutContent(ctx, p, []byte(canonical.String())); err != nil {
		r.log.Error("registry: link a sha512 digest", "repo", name, "digest", d, "err", err)
	}
}

// digestWriter answers a successful request with the digest the client
// named the content by instead of distribution's sha256 one.
type digestWriter struct {
	http.ResponseWriter
	want   digest.Digest
	status int
}

func (w *digestWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
		h := w.Header()
		if got := h.Get("Docker-Content-Digest"); code/100 == 2 && got != "" && got != w.want.String() {
			h.Set("Docker-Content-Digest", w.want.String())
			if loc := h.Get("Location"); loc != "" {
				h.Set("Location", strings.Replace(loc, got, w.want.String(), 1))
			}
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *digestWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// gcNamespace is the registry as distribution's garbage collector sees
// it, except that a manifest's references by a digest other than sha256
// also count for the sha256 digest their blob is stored under: else the
// collector, which sweeps blobs by their stored digest, would remove the
// blobs of a manifest that names them by sha512 digests.
type gcNamespace struct {
	distribution.Namespace
	distribution.RepositoryEnumerator
}

func newGCNamespace(ns distribution.Namespace) (gcNamespace, bool) {
	e, ok := ns.(distribution.RepositoryEnumerator)
	return gcNamespace{Namespace: ns, RepositoryEnumerator: e}, ok
}

func (n gcNamespace) Repository(ctx context.Context, name reference.Named) (distribution.Repository, error) {
	rp, err := n.Namespace.Repository(ctx, name)
	if err != nil {
		return nil, err
	}
	return gcRepository{rp}, nil
}

type gcRepository struct{ distribution.Repository }

func (r gcRepository) Manifests(ctx context.Context, opts ...distribution.ManifestServiceOption) (distribution.ManifestService, error) {
	ms, err := r.Repository.Manifests(ctx, opts...)
	if err != nil {
		return nil, err
	}
	e, ok := ms.(distribution.ManifestEnumerator)
	if !ok {
		return ms, nil
	}
	return gcManifests{ManifestService: ms, enum: e, blobs: r.Repository.Blobs(ctx)}, nil
}

type gcManifests struct {
	distribution.ManifestService
	enum  distribution.ManifestEnumerator
	blobs distribution.BlobStatter
}

func (m gcManifests) Enumerate(ctx context.Context, fn func(digest.Digest) error) error {
	return m.enum.Enumerate(ctx, fn)
}

func (m gcManifests) Get(ctx context.Context, d digest.Digest, opts ...distribution.ManifestServiceOption) (distribution.Manifest, error) {
	man, err := m.ManifestService.Get(ctx, d, opts...)
	if err != nil {
		return nil, err
	}
	return canonicalRefs{Manifest: man, ctx: ctx, blobs: m.blobs}, nil
}

// canonicalRefs adds, for each reference by a non-sha256 digest, the
// digest its blob is stored under.
type canonicalRefs struct {
	distribution.Manifest
	ctx   context.Context
	blobs distribution.BlobStatter
}

func (c canonicalRefs) References() []v1.Descriptor {
	refs := c.Manifest.References()
	out := refs
	for _, ref := range refs {
		if ref.Digest.Validate() != nil || ref.Digest.Algorithm() == digest.Canonical {
			continue
		}
		if desc, err := c.blobs.Stat(c.ctx, ref.Digest); err == nil && desc.Digest != ref.Digest {
			out = append(out, v1.Descriptor{MediaType: ref.MediaType, Digest: desc.Digest, Size: desc.Size})
		}
	}
	return out
}
