package streaming

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"

	"k8s.io/apimachinery/pkg/util/httpstream"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

const portForwardProtocolV1 = "portforward.k8s.io"

// servePortForwardSPDY serves the port-forward protocol: the client opens
// an error stream and a data stream per forwarded connection, with the
// same requestID and port headers; the data stream is connected to the
// port in the sandbox, and a failure is written to the error stream.
func (s *Server) servePortForwardSPDY(w http.ResponseWriter, r *http.Request, req *runtimeapi.PortForwardRequest) {
	if isWebSocket(r) {
		s.servePortForwardWebSocket(w, r, req)
		return
	}
	if _, err := httpstream.Handshake(r, w, []string{portForwardProtocolV1}); err != nil {
		return
	}
	streams := make(chan streamAndReply, 16)
	conn := upgradeSPDY(w, r, func(st httpstream.Stream, replySent <-chan struct{}) error {
		if _, err := strconv.ParseUint(st.Headers().Get("port"), 10, 16); err != nil {
			return fmt.Errorf("stream port %q: %w", st.Headers().Get("port"), err)
		}
		switch st.Headers().Get("streamType") {
		case "error", "data":
		default:
			return fmt.Errorf("unexpected stream type %q", st.Headers().Get("streamType"))
		}
		streams <- streamAndReply{st, replySent}
		return nil
	})
	if conn == nil {
		return
	}
	// On return: the forwards are told to end, the streams reset, then
	// the forwards waited for.
	var wg sync.WaitGroup
	defer wg.Wait()
	defer conn.Close()
	conn.SetIdleTimeout(s.opts.IdleTimeout)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	type pair struct{ data, errs httpstream.Stream }
	pairs := map[string]*pair{}
	for {
		select {
		case <-conn.CloseChan():
			return
		case st := <-streams:
			<-st.replySent
			id := st.Headers().Get("requestID")
			p := pairs[id]
			if p == nil {
				p = &pair{}
				pairs[id] = p
			}
			if st.Headers().Get("streamType") == "data" {
				p.data = st
			} else {
				p.errs = st
			}
			if p.data == nil || p.errs == nil {
				continue
			}
			delete(pairs, id)
			port, _ := strconv.ParseUint(p.data.Headers().Get("port"), 10, 16)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.RemoveStreams(p.data, p.errs)
				err := s.rt.PortForward(ctx, req.PodSandboxId, int32(port), p.data)
				if err != nil {
					s.log.Info("port-forward", "sandbox", req.PodSandboxId, "port", port, "err", err)
					fmt.Fprintf(p.errs, "error forwarding port %d to pod %s: %v", port, req.PodSandboxId, err)
				}
				p.errs.Close()
				p.data.Close()
			}()
		}
	}
}
