package server

import (
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// streamQuery is what /exec and /attach's query asks for: the API server
// passes input, output, error and tty as "1" and the command as repeated
// command parameters (kubectl's own names, stdin=true..., work too).
type streamQuery struct {
	Stdin, Stdout, Stderr, TTY bool
	Command                    []string
}

func flag(q url.Values, names ...string) bool {
	for _, n := range names {
		if v := q.Get(n); v != "" {
			b, err := strconv.ParseBool(v)
			return err == nil && b
		}
	}
	return false
}

func parseStreamQuery(q url.Values) (streamQuery, error) {
	s := streamQuery{
		Stdin:   flag(q, "input", "stdin"),
		Stdout:  flag(q, "output", "stdout"),
		Stderr:  flag(q, "error", "stderr"),
		TTY:     flag(q, "tty"),
		Command: q["command"],
	}
	if !s.Stdin && !s.Stdout && !s.Stderr {
		return s, fmt.Errorf("you must specify at least 1 of stdin, stdout, stderr")
	}
	if s.TTY {
		// A terminal carries stdout and stderr in one stream.
		s.Stderr = false
	}
	return s, nil
}

// serveExec serves /exec/{ns}/{pod}[/{uid}]/{container}: the runtime
// runs the command and serves the stream; the connection is proxied to it.
func (s *Server) serveExec(w http.ResponseWriter, r *http.Request) {
	q, id, ok := s.streamTarget(w, r)
	if !ok {
		return
	}
	if len(q.Command) == 0 {
		http.Error(w, "you must specify a command", http.StatusBadRequest)
		return
	}
	resp, err := s.cfg.Runtime.Exec(r.Context(), &runtimeapi.ExecRequest{
		ContainerId: id, Cmd: q.Command, Tty: q.TTY, Stdin: q.Stdin, Stdout: q.Stdout, Stderr: q.Stderr,
	})
	if err != nil {
		http.Error(w, fmt.Sprintf("exec: %v", err), http.StatusInternalServerError)
		return
	}
	s.proxyStream(w, r, resp.Url)
}

// serveAttach serves /attach/{ns}/{pod}[/{uid}]/{container}.
func (s *Server) serveAttach(w http.ResponseWriter, r *http.Request) {
	q, id, ok := s.streamTarget(w, r)
	if !ok {
		return
	}
	resp, err := s.cfg.Runtime.Attach(r.Context(), &runtimeapi.AttachRequest{
		ContainerId: id, Tty: q.TTY, Stdin: q.Stdin, Stdout: q.Stdout, Stderr: q.Stderr,
	})
	if err != nil {
		http.Error(w, fmt.Sprintf("attach: %v", err), http.StatusInternalServerError)
		return
	}
	s.proxyStream(w, r, resp.Url)
}

// streamTarget reads an exec or attach request: its options and the
// running container it is for.
func (s *Server) streamTarget(w http.ResponseWriter, r *http.Request) (streamQuery, string, bool) {
	q, err := parseStreamQuery(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return q, "", false
	}
	pod, err := s.pod(r.PathValue("ns"), r.PathValue("pod"))
	if err == nil {
		err = checkUID(pod.UID, r.PathValue("uid"))
	}
	if err != nil {
		writeError(w, err)
		return q, "", false
	}
	id, err := s.runningContainer(r.Context(), pod, r.PathValue("container"))
	if err != nil {
		writeError(w, err)
		return q, "", false
	}
	return q, id, true
}

func checkUID[T ~string](have T, want string) error {
	if want != "" && string(have) != want {
		return httpError{http.StatusNotFound, fmt.Sprintf("pod with UID %s not found", want)}
	}
	return nil
}

// servePortForward serves /portForward/{ns}/{pod}[/{uid}].
func (s *Server) servePortForward(w http.ResponseWriter, r *http.Request) {
	pod, err := s.pod(r.PathValue("ns"), r.PathValue("pod"))
	if err == nil {
		err = checkUID(pod.UID, r.PathValue("uid"))
	}
	if err != nil {
		writeError(w, err)
		return
	}
	sb, err := s.sandboxID(r.Context(), pod)
	if err != nil {
		writeError(w, err)
		return
	}
	var ports []int32
	for _, v := range r.URL.Query()["port"] {
		p, err := strconv.ParseUint(v, 10, 16)
		if err != nil || p == 0 {
			http.Error(w, fmt.Sprintf("invalid port %q", v), http.StatusBadRequest)
			return
		}
		ports = append(ports, int32(p))
	}
	resp, err := s.cfg.Runtime.PortForward(r.Context(), &runtimeapi.PortForwardRequest{PodSandboxId: sb, Port: ports})
	if err != nil {
		http.Error(w, fmt.Sprintf("port forward: %v", err), http.StatusInternalServerError)
		return
	}
	s.proxyStream(w, r, resp.Url)
}

// proxyStream hands the client's connection to the runtime's streaming
// server at target: the upgrade (SPDY or WebSocket) is the runtime's to
// answer, and once upgraded bytes are copied both ways until either side
// closes.
func (s *Server) proxyStream(w http.ResponseWriter, r *http.Request, target string) {
	u, err := url.Parse(target)
	if err != nil {
		http.Error(w, fmt.Sprintf("runtime stream URL %q: %v", target, err), http.StatusInternalServerError)
		return
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			out := pr.Out
			out.URL.Scheme, out.URL.Host, out.URL.Path, out.URL.RawPath = u.Scheme, u.Host, u.Path, u.RawPath
			q := pr.In.URL.Query()
			for k, vs := range u.Query() {
				q[k] = vs
			}
			out.URL.RawQuery = q.Encode()
			out.Host = u.Host
			out.Header.Del("Authorization")
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			s.log.Debug("stream proxy", "target", u.Host, "err", err)
			http.Error(w, fmt.Sprintf("error proxying to the container runtime's stream: %v", err), http.StatusBadGateway)
		},
		ErrorLog: nil,
	}
	rp.ServeHTTP(w, r)
}
