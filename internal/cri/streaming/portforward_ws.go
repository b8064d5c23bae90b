package streaming

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"

	"k8s.io/apimachinery/pkg/util/httpstream/wsstream"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// servePortForwardWebSocket serves port-forward over WebSocket
// (v4.channel.k8s.io, or the unversioned protocol): the ports are the
// request's (or the URL's "port" parameters); each has a data channel
// (2n) and an error channel (2n+1), each of which begins with the port
// number (two bytes, little-endian), and carries one connection.
func (s *Server) servePortForwardWebSocket(w http.ResponseWriter, r *http.Request, req *runtimeapi.PortForwardRequest) {
	ports := req.Port
	if len(ports) == 0 {
		for _, v := range r.URL.Query()["port"] {
			p, err := strconv.ParseUint(v, 10, 16)
			if err != nil || p == 0 {
				http.Error(w, fmt.Sprintf("invalid port %q", v), http.StatusBadRequest)
				return
			}
			ports = append(ports, int32(p))
		}
	}
	if len(ports) == 0 {
		http.Error(w, "port-forward over WebSocket needs at least one port", http.StatusBadRequest)
		return
	}
	channels := make([]wsstream.ChannelType, 0, 2*len(ports))
	for range ports {
		channels = append(channels, wsstream.ReadWriteChannel, wsstream.WriteChannel)
	}
	protocols := map[string]wsstream.ChannelProtocolConfig{
		"":                                      {Binary: true, Channels: channels},
		"v4.channel.k8s.io":                     {Binary: true, Channels: channels},
		wsstream.ChannelWebSocketProtocol:       {Binary: true, Channels: channels},
		"v4.base64.channel.k8s.io":              {Binary: false, Channels: channels},
		wsstream.Base64ChannelWebSocketProtocol: {Binary: false, Channels: channels},
	}
	conn := wsstream.NewConn(protocols)
	conn.SetIdleTimeout(s.opts.IdleTimeout)
	_, rwc, err := conn.Open(w, r)
	if err != nil {
		s.log.Warn("port-forward: open websocket", "err", err)
		return
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for i, port := range ports {
		data, errs := rwc[2*i], rwc[2*i+1]
		prefix := binary.LittleEndian.AppendUint16(nil, uint16(port))
		if _, err := data.Write(prefix); err != nil {
			return
		}
		if _, err := errs.Write(prefix); err != nil {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.rt.PortForward(ctx, req.PodSandboxId, port, data); err != nil {
				io.WriteString(errs, fmt.Sprintf("error forwarding port %d to pod %s: %v", port, req.PodSandboxId, err))
			}
		}()
	}
	wg.Wait()
}
