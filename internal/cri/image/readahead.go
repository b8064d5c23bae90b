package image

import (
	"io"
	"sync"
)

// readAhead reads r in a goroutine of its own, a few chunks ahead of its
// reader. Unpacking a layer is two halves of about equal cost, inflating
// (and digesting) the stream and writing its files; with readAhead they
// run on two cores at once instead of taking turns on one.
type readAhead struct {
	full chan []byte // chunks read, in order; closed after the last (err is set then)
	free chan []byte // chunks the reader is done with
	stop chan struct{}
	done chan struct{}
	once sync.Once
	err  error // why the stream ended (io.EOF at its end); read after full is closed

	cur, last []byte
}

const (
	readAheadChunks = 4
	readAheadSize   = 512 << 10
)

func newReadAhead(r io.Reader) *readAhead {
	a := &readAhead{
		full: make(chan []byte, readAheadChunks),
		free: make(chan []byte, readAheadChunks),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	for range readAheadChunks {
		a.free <- make([]byte, readAheadSize)
	}
	go a.fill(r)
	return a
}

func (a *readAhead) fill(r io.Reader) {
	defer close(a.done)
	defer close(a.full)
	for {
		var buf []byte
		select {
		case buf = <-a.free:
		case <-a.stop:
			return
		}
		// Not io.ReadFull: it would turn an early end of r into
		// io.ErrUnexpectedEOF where r's own error must show.
		n, err := 0, error(nil)
		for n < len(buf) && err == nil {
			var m int
			m, err = r.Read(buf[n:])
			n += m
		}
		if n > 0 {
			select {
			case a.full <- buf[:n]:
			case <-a.stop:
				return
			}
		}
		if err != nil {
			a.err = err
			return
		}
	}
}

func (a *readAhead) Read(p []byte) (int, error) {
	for len(a.cur) == 0 {
		if a.last != nil {
			a.free <- a.last // never blocks: free holds every chunk at most once
			a.last = nil
		}
		b, ok := <-a.full
		if !ok {
			return 0, a.err
		}
		a.cur, a.last = b, b[:cap(b)]
	}
	n := copy(p, a.cur)
	a.cur = a.cur[n:]
	return n, nil
}

// Close stops the goroutine and waits for it: after Close, nothing reads
// the underlying reader any more, so it may be closed.
func (a *readAhead) Close() {
	a.once.Do(func() { close(a.stop) })
	<-a.done
}
