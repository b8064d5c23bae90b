package server

import (
	"fmt"
	"net/http"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// serveRun serves /run/{ns}/{pod}[/{uid}]/{container}: the command of the
// cmd parameter, split on spaces as upstream, runs to its end in the
// container through the runtime's ExecSync, and the answer is its output
// (stdout then stderr).
func (s *Server) serveRun(w http.ResponseWriter, r *http.Request) {
	pod, err := s.pod(r.PathValue("ns"), r.PathValue("pod"))
	if err != nil {
		http.Error(w, "pod does not exist", http.StatusNotFound)
		return
	}
	name := r.PathValue("container")
	id := ""
	if err := checkUID(pod.UID, r.PathValue("uid")); err == nil {
		id, err = s.runningContainer(r.Context(), pod, name)
		if err != nil && !isNotFound(err) {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	if id == "" {
		// Upstream finds no container in a pod of another UID either.
		http.Error(w, fmt.Sprintf("container not found (%q)", name), http.StatusInternalServerError)
		return
	}
	cmd := strings.Split(r.FormValue("cmd"), " ")
	resp, err := s.cfg.Runtime.ExecSync(r.Context(), &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: cmd})
	if err == nil && resp.ExitCode != 0 {
		err = fmt.Errorf("command '%s' exited with %d: %s", strings.Join(cmd, " "), resp.ExitCode, resp.Stderr)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	out := append(resp.Stdout, resp.Stderr...)
	if len(out) == 0 {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

func isNotFound(err error) bool {
	he, ok := err.(httpError)
	return ok && he.code == http.StatusNotFound
}
