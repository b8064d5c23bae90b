package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/distribution/distribution/v3"
	"github.com/distribution/distribution/v3/registry/auth"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// distribution v3.1.2 stores manifests with a subject but has no
// referrers API (OCI distribution-spec 1.1). So kemudi indexes each
// manifest pushed with a subject under
// referrers/<repo>/<subject alg>/<subject hex>/<alg>-<hex>.json (its
// descriptor), answers the manifest PUT with OCI-Subject, and serves
// GET /v2/<name>/referrers/<digest> from the index, leaving out
// manifests deleted since.

// maxManifestSize is distribution's limit on a manifest body.
const maxManifestSize = 4 << 20

// referrerIndex is the on-disk index of manifests by subject.
type referrerIndex struct {
	dir string
	ns  distribution.Namespace
}

func (x *referrerIndex) subjectDir(repo string, subject digest.Digest) string {
	return filepath.Join(x.dir, filepath.FromSlash(repo), subject.Algorithm().String(), subject.Encoded())
}

func (x *referrerIndex) add(repo string, subject digest.Digest, d v1.Descriptor) error {
	dir := x.subjectDir(repo, subject)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	data, err := json.Marshal(d)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, d.Digest.Algorithm().String()+"-"+d.Digest.Encoded()+".json")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// list returns the referrers of subject in repo whose manifests still
// exist, those of artifactType only when it is not "".
func (x *referrerIndex) list(ctx context.Context, repo string, subject digest.Digest, artifactType string) ([]v1.Descriptor, error) {
	dir := x.subjectDir(repo, subject)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return []v1.Descriptor{}, nil
	}
	if err != nil {
		return nil, err
	}
	named, err := reference.WithName(repo)
	if err != nil {
		return nil, err
	}
	r, err := x.ns.Repository(ctx, named)
	if err != nil {
		return nil, err
	}
	ms, err := r.Manifests(ctx)
	if err != nil {
		return nil, err
	}
	out := []v1.Descriptor{}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		var d v1.Descriptor
		if json.Unmarshal(data, &d) != nil {
			continue
		}
		if ok, err := ms.Exists(ctx, d.Digest); err != nil || !ok {
			if err == nil {
				os.Remove(filepath.Join(dir, e.Name())) // deleted since
			}
			continue
		}
		if artifactType == "" || d.ArtifactType == artifactType {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Digest < out[j].Digest })
	return out, nil
}

// referrersPath matches /v2/<name>/referrers/<digest>.
func referrersPath(p string) (name, dgst string, ok bool) {
	rest, ok := strings.CutPrefix(p, "/v2/")
	if !ok {
		return "", "", false
	}
	i := strings.LastIndex(rest, "/referrers/")
	if i <= 0 {
		return "", "", false
	}
	return rest[:i], rest[i+len("/referrers/"):], true
}

// manifestPutPath matches PUT /v2/<name>/manifests/<reference>.
func manifestPutPath(req *http.Request) (string, bool) {
	if req.Method != http.MethodPut {
		return "", false
	}
	rest, ok := strings.CutPrefix(req.URL.Path, "/v2/")
	if !ok {
		return "", false
	}
	i := strings.LastIndex(rest, "/manifests/")
	if i <= 0 {
		return "", false
	}
	return rest[:i], true
}

func (r *Registry) serveReferrers(w http.ResponseWriter, req *http.Request, name, dgst string) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		registryError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "method not allowed")
		return
	}
	if _, err := r.access.Authorized(req, auth.Access{Resource: auth.Resource{Type: "repository", Name: name}, Action: "pull"}); err != nil {
		var ch auth.Challenge
		if errors.As(err, &ch) {
			ch.SetHeaders(req, w)
			registryError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
			return
		}
		registryError(w, http.StatusUnauthorized, "UNAUTHORIZED", err.Error())
		return
	}
	if _, err := reference.WithName(name); err != nil {
		registryError(w, http.StatusNotFound, "NAME_INVALID", "invalid repository name")
		return
	}
	subject, err := digest.Parse(dgst)
	if err != nil {
		registryError(w, http.StatusBadRequest, "DIGEST_INVALID", "invalid digest: "+err.Error())
		return
	}
	artifactType := req.URL.Query().Get("artifactType")
	list, err := r.referrers.list(req.Context(), name, subject, artifactType)
	if err != nil {
		r.log.Error("registry referrers", "repo", name, "subject", subject, "err", err)
		registryError(w, http.StatusInternalServerError, "UNKNOWN", "referrers index unreadable")
		return
	}
	body, _ := json.Marshal(v1.Index{
		Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: v1.MediaTypeImageIndex, Manifests: list,
	})
	w.Header().Set("Content-Type", v1.MediaTypeImageIndex)
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	if artifactType != "" {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	w.WriteHeader(http.StatusOK)
	if req.Method == http.MethodGet {
		w.Write(body)
	}
}

// manifestFields are what the referrers API reports of a manifest.
type manifestFields struct {
	MediaType    string            `json:"mediaType"`
	ArtifactType string            `json:"artifactType"`
	Config       *v1.Descriptor    `json:"config"`
	Subject      *v1.Descriptor    `json:"subject"`
	Annotations  map[string]string `json:"annotations"`
}

// putManifest passes a manifest PUT to distribution and, when the
// manifest has a subject and was stored, answers with OCI-Subject and
// indexes it.
func (r *Registry) putManifest(w http.ResponseWriter, req *http.Request, name string) {
	body, err := io.ReadAll(io.LimitReader(req.Body, maxManifestSize+1))
	if err != nil {
		registryError(w, http.StatusBadRequest, "MANIFEST_INVALID", "read manifest: "+err.Error())
		return
	}
	req.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), req.Body))
	var m manifestFields
	if len(body) > maxManifestSize || json.Unmarshal(body, &m) != nil || m.Subject == nil || m.Subject.Digest.Validate() != nil {
		r.app.ServeHTTP(w, req)
		return
	}
	sw := &subjectWriter{ResponseWriter: w, subject: m.Subject.Digest}
	r.app.ServeHTTP(sw, req)
	if sw.status != http.StatusCreated {
		return
	}
	stored, err := digest.Parse(sw.Header().Get("Docker-Content-Digest"))
	if err != nil {
		stored = digest.FromBytes(body)
	}
	d := v1.Descriptor{
		MediaType: m.MediaType, Digest: stored, Size: int64(len(body)),
		ArtifactType: m.ArtifactType, Annotations: m.Annotations,
	}
	if d.MediaType == "" {
		d.MediaType = req.Header.Get("Content-Type")
	}
	if d.ArtifactType == "" && m.Config != nil && d.MediaType == v1.MediaTypeImageManifest {
		d.ArtifactType = m.Config.MediaType
	}
	if err := r.referrers.add(name, m.Subject.Digest, d); err != nil {
		r.log.Error("registry referrers: index", "repo", name, "manifest", stored, "err", err)
	}
}

// subjectWriter adds OCI-Subject to a successful manifest PUT's answer
// and remembers its status.
type subjectWriter struct {
	http.ResponseWriter
	subject digest.Digest
	status  int
}

func (s *subjectWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
		if code == http.StatusCreated {
			s.Header().Set("OCI-Subject", s.subject.String())
		}
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *subjectWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.WriteHeader(http.StatusOK)
	}
	return s.ResponseWriter.Write(b)
}

// registryError answers in the distribution API's error format.
func registryError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": code, "message": msg}}})
}
