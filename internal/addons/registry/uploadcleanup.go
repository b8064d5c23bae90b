package registry

import (
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/distribution/reference"
)

// A blob upload that fails in the server (the disk filled) leaves its
// partial data behind until distribution's upload purger comes, days
// later; on a full disk every push after it would fail too. So when a
// PATCH or PUT to an upload fails with a 5xx, the registry removes that
// upload, which frees its data; the client starts again if it retries.

// isUploadWrite matches PATCH and PUT /v2/<name>/blobs/uploads/<uuid>.
func isUploadWrite(req *http.Request) bool {
	if req.Method != http.MethodPatch && req.Method != http.MethodPut {
		return false
	}
	i := strings.LastIndex(req.URL.Path, "/blobs/uploads/")
	return strings.HasPrefix(req.URL.Path, "/v2/") && i > 0 && len(req.URL.Path) > i+len("/blobs/uploads/")
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// serveUploadWrite passes an upload write to distribution and cancels
// the upload when it failed in the server.
func (r *Registry) serveUploadWrite(w http.ResponseWriter, req *http.Request) {
	sw := &statusWriter{ResponseWriter: w}
	r.app.ServeHTTP(sw, req)
	if sw.status < 500 {
		return
	}
	// distribution's own cancel (DELETE) refuses an upload whose data
	// no longer matches its state, as after a short write: remove its
	// directory (distribution's storage layout) directly.
	i := strings.LastIndex(req.URL.Path, "/blobs/uploads/")
	repo, id := strings.TrimPrefix(req.URL.Path[:i], "/v2/"), req.URL.Path[i+len("/blobs/uploads/"):]
	if _, err := reference.WithName(repo); err != nil || id == "" || strings.ContainsAny(id, "/\\") || strings.Contains(id, "..") {
		return
	}
	rel := "/docker/registry/v2/repositories/" + repo + "/_uploads/" + id
	// distribution may still hold the failed writer's file open, which
	// would keep its blocks after the unlink: emptied first, they are
	// freed now.
	filepath.WalkDir(filepath.Join(r.opts.Layout.Storage, filepath.FromSlash(rel)), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			os.Truncate(p, 0)
		}
		return nil
	})
	err := r.driver.Delete(req.Context(), rel)
	r.log.Warn("registry: a blob upload failed in the server; removed it to free its data",
		"repo", repo, "upload", id, "status", sw.status, "err", err)
}
