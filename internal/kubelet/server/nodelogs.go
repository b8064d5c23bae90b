package server

import (
	"errors"
	"io/fs"
	"net/http"
	"os"
)

// DefaultNodeLogDir is the directory /logs/ serves, as upstream.
const DefaultNodeLogDir = "/var/log"

// serveNodeLogs serves /logs/: the node's log directory, files as they
// are and directories as an HTML listing (upstream's file server). The
// node log query (?query=, feature NodeLogQuery) is off as upstream's
// default: its parameters are ignored. Nothing outside the directory is
// served, through ../ or through a symlink that leads out of it.
func (s *Server) serveNodeLogs(w http.ResponseWriter, r *http.Request) {
	root, err := os.OpenRoot(s.cfg.NodeLogDir)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer root.Close()
	http.StripPrefix("/logs/", http.FileServer(http.FS(confined{root.FS()}))).ServeHTTP(w, r)
}

// confined answers an escape out of the root (a symlink leading out) as
// forbidden rather than as a server error.
type confined struct{ fs.FS }

func (c confined) Open(name string) (fs.File, error) {
	f, err := c.FS.Open(name)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
	}
	return f, err
}
