package streaming

import (
	"bufio"
	"net"
	"net/http"

	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/apimachinery/pkg/util/httpstream/spdy"
)

// spdyFrameHeader is the size of every SPDY/3.1 frame's common header;
// its last three bytes are the length of what follows.
const spdyFrameHeader = 8

// upgradeSPDY upgrades the request to SPDY as the library's upgrader
// does, with the connection's writes gathered a frame at a time (see
// frameConn).
func upgradeSPDY(w http.ResponseWriter, r *http.Request, h httpstream.NewStreamHandler) httpstream.Connection {
	return spdy.NewResponseUpgrader().UpgradeResponse(frameHijacker{w}, r, h)
}

// frameHijacker hands the upgrader a frameConn in place of the
// connection it hijacks; reads still go through the server's buffered
// reader, which may hold the client's first frames.
type frameHijacker struct{ http.ResponseWriter }

func (h frameHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	return &frameConn{Conn: c}, rw, nil
}

func (h frameHijacker) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// frameConn writes each SPDY frame with one system call. spdystream's
// framer writes a data frame as three writes (stream ID, flags and
// length, data) straight to the connection, and a control frame as
// many small ones: with TCP_NODELAY each became a packet of its own,
// and every hop after (the kubelet's and API server's copies, each a
// TLS record a read) paid for the small pieces. spdystream serializes
// its frame writes under one lock, so Write is never called
// concurrently and the bytes are whole frames in order.
type frameConn struct {
	net.Conn
	pending []byte // the current frame's bytes not yet written
	rest    int    // bytes of the current frame still to come once its header is complete
}

func (c *frameConn) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if len(c.pending) < spdyFrameHeader {
			k := min(spdyFrameHeader-len(c.pending), len(p))
			c.pending, p = append(c.pending, p[:k]...), p[k:]
			if len(c.pending) < spdyFrameHeader {
				break
			}
			c.rest = int(c.pending[5])<<16 | int(c.pending[6])<<8 | int(c.pending[7])
		}
		k := min(c.rest, len(p))
		body := p[:k]
		p, c.rest = p[k:], c.rest-k
		if c.rest > 0 {
			c.pending = append(c.pending, body...)
			continue
		}
		if err := c.flush(body); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// flush writes the pending bytes and body, the end of a frame, with one
// write: a small body is copied behind the header, a large one goes with
// it in a writev.
func (c *frameConn) flush(body []byte) error {
	var err error
	if len(body) <= smallFrameBody {
		c.pending = append(c.pending, body...)
		_, err = c.Conn.Write(c.pending)
	} else {
		bufs := net.Buffers{c.pending, body}
		_, err = bufs.WriteTo(c.Conn)
	}
	c.pending = c.pending[:0]
	return err
}

// smallFrameBody: a body up to this size is cheaper copied than sent in a
// vector of its own.
const smallFrameBody = 4 << 10
