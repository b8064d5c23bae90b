package apiserver

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"net"
	"net/http"
)

// The WebSocket library under the port-forward tunnel writes each chunk
// from the kubelet as a message of two frames, the data and an empty
// final one, and a large frame's header apart from its payload: three
// TLS records (and system calls) a chunk, two of them a few bytes, each
// also decrypted by the client. messageHijacker gathers a message's
// bytes and writes them with one call.

// messageHijacker hijacks to a wsMessageConn.
type messageHijacker struct{ http.ResponseWriter }

func (h messageHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	return &wsMessageConn{Conn: c}, rw, nil
}

func (h messageHijacker) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// maxHeldMessage bounds what wsMessageConn holds of a message whose
// final frame has not come: beyond it the bytes go out as they are.
const maxHeldMessage = 1 << 20

// wsMessageConn passes the upgrade's HTTP response through, then holds
// the frames written until one ends a message (its FIN bit; control
// frames always have it) and writes them together. The library writes
// a frame under its write lock and a message's frames without waiting
// on the peer, so nothing is held longer than the writes of one message.
type wsMessageConn struct {
	net.Conn
	upgraded bool   // the HTTP response has been written
	tail     []byte // the response's last bytes so far, to find its end
	pending  []byte // frames written, not yet sent
	parsed   int    // bytes of pending that are whole frames
	final    bool   // the last whole frame in pending ends a message
	through  int    // bytes of a frame partly sent that go out unheld
}

func (c *wsMessageConn) Write(p []byte) (int, error) {
	if !c.upgraded {
		return c.writeResponse(p)
	}
	n := len(p)
	if c.through > 0 {
		k := min(c.through, len(p))
		if _, err := c.Conn.Write(p[:k]); err != nil {
			return 0, err
		}
		c.through, p = c.through-k, p[k:]
	}
	c.pending = append(c.pending, p...)
	c.scan()
	switch {
	case c.final:
		if err := c.send(c.parsed); err != nil {
			return 0, err
		}
	case len(c.pending) > maxHeldMessage:
		// A message too long to hold goes out as it comes; the rest
		// of the frame it is in then passes through. A header not
		// yet whole stays, to be read with the bytes that complete it.
		frame, _, ok := wsFrameLen(c.pending[c.parsed:], true)
		upTo := c.parsed
		if ok {
			c.through = max(0, c.parsed+frame-len(c.pending))
			upTo = len(c.pending)
		}
		if err := c.send(upTo); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// send writes pending's first n bytes, whole frames up to a partial one.
func (c *wsMessageConn) send(n int) error {
	_, err := c.Conn.Write(c.pending[:n])
	c.pending = append(c.pending[:0], c.pending[n:]...)
	c.parsed, c.final = 0, false
	c.scan()
	return err
}

// writeResponse writes the upgrade's response as it comes, and notes its
// end (an empty line); any bytes after it are frames.
func (c *wsMessageConn) writeResponse(p []byte) (int, error) {
	seen := append(c.tail, p...)
	end := bytes.Index(seen, []byte("\r\n\r\n"))
	if end < 0 {
		c.tail = append(c.tail[:0], seen[max(0, len(seen)-3):]...)
		return c.Conn.Write(p)
	}
	cut := end + 4 - len(c.tail) // where the response ends in p
	c.upgraded, c.tail = true, nil
	if _, err := c.Conn.Write(p[:cut]); err != nil {
		return 0, err
	}
	if _, err := c.Write(p[cut:]); err != nil {
		return cut, err
	}
	return len(p), nil
}

// scan advances parsed over the whole frames in pending, noting whether
// the last ends a message.
func (c *wsMessageConn) scan() {
	for {
		n, fin, ok := wsFrameLen(c.pending[c.parsed:], false)
		if !ok {
			return
		}
		c.parsed += n
		c.final = fin
	}
}

// wsFrameLen is the length of the frame at the start of b and its FIN
// bit (RFC 6455 section 5.2); ok if b holds the whole frame, or with
// headerOnly its header.
func wsFrameLen(b []byte, headerOnly bool) (n int, fin, ok bool) {
	if len(b) < 2 {
		return 0, false, false
	}
	fin = b[0]&0x80 != 0
	head, size := 2, uint64(b[1]&0x7f)
	switch size {
	case 126:
		head += 2
		if len(b) < head {
			return 0, false, false
		}
		size = uint64(binary.BigEndian.Uint16(b[2:4]))
	case 127:
		head += 8
		if len(b) < head {
			return 0, false, false
		}
		size = binary.BigEndian.Uint64(b[2:10])
	}
	if b[1]&0x80 != 0 {
		head += 4 // the masking key
	}
	if len(b) < head || size > 1<<62 {
		return 0, false, false
	}
	if !headerOnly && size > uint64(len(b)-head) {
		return 0, false, false
	}
	return head + int(size), fin, true
}
