package apiserver

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// localUserKey carries the identity of a local listener's connections.
type localUserKey struct{}

// ServeLocal answers on l, a unix socket only one component can open (it
// lives in the data directory, which only root reads), as user: HTTP/1.1
// or HTTP/2 without TLS, authenticated by the socket itself. Components
// running in the server's own process use it so that their requests skip
// the TLS and certificate work of the network listener; they still talk
// to the API and nothing else, exactly as they would from another machine.
func (s *Server) ServeLocal(ctx context.Context, l net.Listener, user *User) error {
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{
		Handler:           s,
		Protocols:         protocols,
		ReadHeaderTimeout: 30 * time.Second,
		ConnContext: func(c context.Context, _ net.Conn) context.Context {
			return context.WithValue(context.WithValue(c, localUserKey{}, user), listenerKey{}, ctx)
		},
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	return serveUntil(ctx, srv, "serve local API", func() error { return srv.Serve(l) })
}

// localUser is the identity of a request that came in on a local socket.
func localUser(r *http.Request) (*User, bool) {
	u, ok := r.Context().Value(localUserKey{}).(*User)
	return u, ok && u != nil
}
