package apiserver

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	gwebsocket "github.com/gorilla/websocket"
)

// recordingConn counts the writes that reach the connection.
type recordingConn struct {
	net.Conn
	mu     sync.Mutex
	writes []int
}

func (c *recordingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes = append(c.writes, len(p))
	c.mu.Unlock()
	return c.Conn.Write(p)
}

// recordingHijacker puts a recordingConn under the messageHijacker.
type recordingHijacker struct {
	http.ResponseWriter
	conn chan *recordingConn
}

func (h recordingHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	rc := &recordingConn{Conn: c}
	h.conn <- rc
	return rc, rw, nil
}

// TestWSMessageConn: a WebSocket server writing messages as the
// port-forward tunnel does (each a Write and a Close) through the
// messageHijacker: the client reads every message whole and in order,
// a large one included, and each message reached the connection in one
// write.
func TestWSMessageConn(t *testing.T) {
	messages := [][]byte{
		[]byte("a"),
		bytes.Repeat([]byte("b"), 16<<10), // a TLS record's worth, written apart from its header by the library
		bytes.Repeat([]byte("c"), 300),
		bytes.Repeat([]byte("d"), 70<<10), // a 64-bit length
	}
	conns := make(chan *recordingConn, 1)
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		up := gwebsocket.Upgrader{}
		c, err := up.Upgrade(messageHijacker{recordingHijacker{w, conns}}, r, nil)
		if err != nil {
			t.Errorf("upgrade: %v", err)
			return
		}
		for _, m := range messages {
			mw, err := c.NextWriter(gwebsocket.BinaryMessage)
			if err == nil {
				_, err = mw.Write(m)
			}
			if err == nil {
				err = mw.Close()
			}
			if err != nil {
				t.Errorf("write: %v", err)
				return
			}
		}
		_ = c.WriteControl(gwebsocket.CloseMessage, gwebsocket.FormatCloseMessage(gwebsocket.CloseNormalClosure, ""), time.Now().Add(5*time.Second))
	}))
	defer srv.Close()
	c, _, err := gwebsocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i, want := range messages {
		_, r, err := c.NextReader()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("message %d: %d bytes (%v), want %d", i, len(got), err, len(want))
		}
	}
	if _, _, err := c.NextReader(); !gwebsocket.IsCloseError(err, gwebsocket.CloseNormalClosure) {
		t.Errorf("after the messages: %v, want a normal close", err)
	}
	<-done
	rc := <-conns
	rc.mu.Lock()
	defer rc.mu.Unlock()
	// The response, one write a message, the close frame.
	if want := 1 + len(messages) + 1; len(rc.writes) != want {
		t.Errorf("%d writes reached the connection (%v), want %d", len(rc.writes), rc.writes, want)
	}
}

// TestWSMessageConnHeaderSplit: past the bytes it holds, a frame header
// that comes in two writes still ends its message: the small final
// message after it goes out at once, not held behind a misread length.
func TestWSMessageConnHeaderSplit(t *testing.T) {
	big := make([]byte, maxHeldMessage+1) // a non-final frame's payload, with a 64-bit length
	first := append([]byte{0x02, 127, 0, 0, 0, 0, 0, 0, 0, 0}, big...)
	binary.BigEndian.PutUint64(first[2:10], uint64(len(big)))
	last := []byte{0x80, 5, 'x', 'x', 'x', 'x', 'x'} // continuation, FIN, 5 bytes
	writes := [][]byte{append(first, last[0]), last[1:]}

	server, client := net.Pipe()
	defer client.Close()
	c := &wsMessageConn{Conn: server, upgraded: true}
	want := append(append([]byte{}, first...), last...)
	got := make(chan []byte, 1)
	go func() {
		b := make([]byte, len(want))
		n, _ := io.ReadFull(client, b)
		got <- b[:n]
	}()
	go func() {
		for _, w := range writes {
			if _, err := c.Write(w); err != nil {
				t.Errorf("write: %v", err)
				return
			}
		}
	}()
	select {
	case b := <-got:
		if !bytes.Equal(b, want) {
			t.Fatalf("the peer read %d bytes, not the %d written", len(b), len(want))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the final message was held: the peer did not get every byte within 10s")
	}
	server.Close()
}
