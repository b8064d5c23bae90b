package streaming

import (
	"bytes"
	"net"
	"net/http"
	"testing"

	"github.com/moby/spdystream/spdy"
)

// writesConn records each write that reaches the connection.
type writesConn struct {
	net.Conn
	writes [][]byte
}

func (c *writesConn) Write(p []byte) (int, error) {
	c.writes = append(c.writes, bytes.Clone(p))
	return len(p), nil
}

// TestFrameConnWholeFrames: what spdystream's framer writes reaches the
// connection unchanged, as the frame's header and the rest of it (one
// writev on a socket; this connection records the vector's parts), never
// in the framer's 4-byte pieces.
func TestFrameConnWholeFrames(t *testing.T) {
	frames := []struct {
		name  string
		frame spdy.Frame
	}{
		{"data", &spdy.DataFrame{StreamId: 1, Data: bytes.Repeat([]byte("x"), 40<<10)}},
		{"empty data with FIN", &spdy.DataFrame{StreamId: 3, Flags: spdy.DataFlagFin}},
		{"syn reply", &spdy.SynReplyFrame{StreamId: 5, Headers: http.Header{"Port": {"80"}}}},
		{"ping", &spdy.PingFrame{Id: 7}},
		{"reset", &spdy.RstStreamFrame{StreamId: 9, Status: spdy.Cancel}},
	}
	var want bytes.Buffer
	plain, err := spdy.NewFramer(&want, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := &writesConn{}
	framer, err := spdy.NewFramer(&frameConn{Conn: rec}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range frames {
		if err := plain.WriteFrame(f.frame); err != nil {
			t.Fatal(err)
		}
		if err := framer.WriteFrame(f.frame); err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
	}
	if len(rec.writes) > 2*len(frames) {
		t.Errorf("%d writes reached the connection for %d frames, want at most two a frame", len(rec.writes), len(frames))
	}
	for i, w := range rec.writes {
		if len(w) < spdyFrameHeader {
			t.Errorf("write %d is %d bytes, less than a frame header", i, len(w))
		}
	}
	if got := bytes.Join(rec.writes, nil); !bytes.Equal(got, want.Bytes()) {
		t.Errorf("the connection got %d bytes that differ from the framer's %d", len(got), want.Len())
	}
}
