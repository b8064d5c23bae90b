package server

import (
	"bufio"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// logQuery is what /containerLogs's query asks for.
type logQuery struct {
	LogOptions
	Previous bool
}

// parseLogQuery reads pods/log's options as the API server passes them
// on: follow, previous, timestamps, sinceSeconds or sinceTime, tailLines,
// limitBytes. now is the time sinceSeconds counts back from.
func parseLogQuery(q url.Values, now time.Time) (logQuery, error) {
	out := logQuery{LogOptions: LogOptions{Tail: -1}}
	var err error
	bools := []struct {
		name string
		dst  *bool
	}{{"follow", &out.Follow}, {"previous", &out.Previous}, {"timestamps", &out.Timestamps}}
	for _, b := range bools {
		if v := q.Get(b.name); v != "" {
			if *b.dst, err = strconv.ParseBool(v); err != nil {
				return out, fmt.Errorf("%s: invalid value %q: must be true or false", b.name, v)
			}
		}
	}
	ints := []struct {
		name string
		min  int64
		set  func(int64)
	}{
		{"tailLines", 0, func(v int64) { out.Tail = v }},
		{"limitBytes", 1, func(v int64) { out.LimitBytes = v }},
		{"sinceSeconds", 1, func(v int64) { out.Since = now.Add(-time.Duration(v) * time.Second) }},
	}
	for _, i := range ints {
		v := q.Get(i.name)
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return out, fmt.Errorf("%s: invalid value %q: must be an integer", i.name, v)
		}
		if n < i.min {
			return out, fmt.Errorf("%s: invalid value %d: must be greater than or equal to %d", i.name, n, i.min)
		}
		i.set(n)
	}
	if v := q.Get("sinceTime"); v != "" {
		if q.Get("sinceSeconds") != "" {
			return out, fmt.Errorf("at most one of sinceTime or sinceSeconds may be specified")
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return out, fmt.Errorf("sinceTime: invalid value %q: %v", v, err)
		}
		out.Since = t
	}
	return out, nil
}

// serveContainerLogs serves /containerLogs/{ns}/{pod}/{container}: the
// container's CRI log, read and followed as the query asks.
func (s *Server) serveContainerLogs(w http.ResponseWriter, r *http.Request) {
	ns, name, container := r.PathValue("ns"), r.PathValue("pod"), r.PathValue("container")
	o, err := parseLogQuery(r.URL.Query(), time.Now())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	pod, err := s.pod(ns, name)
	if err != nil {
		writeError(w, err)
		return
	}
	if !hasContainer(pod, container) {
		http.Error(w, fmt.Sprintf("container %s is not found in pod %s", container, name), http.StatusNotFound)
		return
	}
	id, err := logContainerID(pod, container, o.Previous)
	if err != nil {
		writeError(w, err)
		return
	}
	ctx := r.Context()
	st, err := s.cfg.Runtime.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id})
	if err != nil {
		http.Error(w, fmt.Sprintf("container %q in pod %q: %v", container, name, err), http.StatusBadRequest)
		return
	}
	path := st.GetStatus().GetLogPath()
	if path == "" {
		http.Error(w, fmt.Sprintf("container %q in pod %q has no log", container, name), http.StatusBadRequest)
		return
	}
	running := func() bool {
		st, err := s.cfg.Runtime.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id})
		return err == nil && st.GetStatus().GetState() == runtimeapi.ContainerState_CONTAINER_RUNNING
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	// Lines are short: gathered into large writes, not a TLS record and a
	// write(2) every few kilobytes (streambench's kubectl logs figure);
	// sent out whenever the reader caught up with the file.
	bw := bufio.NewWriterSize(w, 256<<10)
	flush := func() {
		_ = bw.Flush()
		_ = rc.Flush()
	}
	if err := ReadLogs(ctx, path, o.LogOptions, bw, flush, running); err != nil {
		s.log.Debug("container logs", "pod", ns+"/"+name, "container", container, "err", err)
	}
	_ = bw.Flush()
}
