package supervisor

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
)

// errClosed: the connection to the supervisor broke or was closed.
var errClosed = errors.New("connection to the supervisor closed")

// errNotSent: the request never reached the supervisor, so it is safe to
// send it again on a new connection.
var errNotSent = errors.New("request not sent")

// muxConn carries concurrent calls over one connection.
type muxConn struct {
	c net.Conn
	// runtime is what the supervisor answered its ping with: the OCI
	// runtime binary it uses, "" for libcontainer.
	runtime string

	wmu sync.Mutex // serializes writes
	enc *json.Encoder

	mu      sync.Mutex
	nextID  uint64
	pending map[uint64]chan *response
	err     error // set once the reader stops
	done    chan struct{}
}

func dialMux(ctx context.Context, socket string) (*muxConn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return nil, err
	}
	m := &muxConn{c: c, enc: json.NewEncoder(c), pending: map[uint64]chan *response{}, done: make(chan struct{})}
	go m.read()
	return m, nil
}

func (m *muxConn) read() {
	sc := bufio.NewScanner(m.c)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		r := new(response)
		if err := json.Unmarshal(sc.Bytes(), r); err != nil {
			continue
		}
		m.mu.Lock()
		ch := m.pending[r.ID]
		m.mu.Unlock()
		if ch != nil {
			ch <- r
		}
	}
	m.mu.Lock()
	m.err = errClosed
	m.mu.Unlock()
	close(m.done)
}

// open registers a call and sends its request; answers arrive on the
// returned channel (buffered for streams).
func (m *muxConn) open(method string, params any, buf int) (uint64, chan *response, error) {
	raw, err := json.Marshal(params)
	if err != nil {
		return 0, nil, fmt.Errorf("encode %s: %w", method, err)
	}
	ch := make(chan *response, buf)
	m.mu.Lock()
	if m.err != nil {
		m.mu.Unlock()
		return 0, nil, fmt.Errorf("%s: %w", method, errors.Join(errNotSent, m.err))
	}
	m.nextID++
	id := m.nextID
	m.pending[id] = ch
	m.mu.Unlock()
	m.wmu.Lock()
	err = m.enc.Encode(request{ID: id, Method: method, Params: raw})
	m.wmu.Unlock()
	if err != nil {
		m.forget(id)
		return 0, nil, fmt.Errorf("send %s: %w", method, errors.Join(errNotSent, errClosed, err))
	}
	return id, ch, nil
}

func (m *muxConn) forget(id uint64) {
	m.mu.Lock()
	delete(m.pending, id)
	m.mu.Unlock()
}

func (m *muxConn) call(ctx context.Context, method string, params, result any) error {
	id, ch, err := m.open(method, params, 1)
	if err != nil {
		return err
	}
	defer m.forget(id)
	var r *response
	select {
	case r = <-ch:
	case <-m.done:
		// The answer may have come just before the connection closed.
		select {
		case r = <-ch:
		default:
			return fmt.Errorf("%s: %w", method, errClosed)
		}
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", method, ctx.Err())
	}
	if err := decodeError(r); err != nil {
		return err
	}
	if result != nil && len(r.Result) > 0 {
		if err := json.Unmarshal(r.Result, result); err != nil {
			return fmt.Errorf("decode %s answer: %w", method, err)
		}
	}
	return nil
}

func (m *muxConn) broken() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err != nil
}

func (m *muxConn) Close() error { return m.c.Close() }
