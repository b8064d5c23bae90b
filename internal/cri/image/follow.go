package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// A layer is unpacked while it downloads: the unpacker reads the blob's
// ingest file as the download writes it, a follower a little behind the
// writer. The follower sees the end of the blob only once the download
// has verified its digest and size, so an unpacked layer is never made
// of a blob the store would refuse; it does not wait for the blob's
// fsync (a busy disk's, tenths of a second) to finish the layer.

// ingestion is one blob being written into the content store.
type ingestion struct {
	path     string
	mu       sync.Mutex
	more     *sync.Cond
	n        int64 // bytes written to path so far
	verified bool  // all n bytes are the blob, its digest checked
	done     bool
	err      error // why it failed (nil when done: verified and in blobs/)
}

func newIngestion(path string) *ingestion {
	in := &ingestion{path: path}
	in.more = sync.NewCond(&in.mu)
	return in
}

func (in *ingestion) wrote(n int) {
	in.mu.Lock()
	in.n += int64(n)
	in.mu.Unlock()
	in.more.Broadcast()
}

// wake wakes the waiters to look at their context. Taking the lock first
// means a waiter is either before its check of the context or already
// waiting: the broadcast is not lost between the two.
func (in *ingestion) wake() {
	in.mu.Lock()
	in.mu.Unlock() //nolint:staticcheck // an empty critical section, on purpose
	in.more.Broadcast()
}

// verify says the bytes written are the whole blob, digest checked.
func (in *ingestion) verify() {
	in.mu.Lock()
	in.verified = true
	in.mu.Unlock()
	in.more.Broadcast()
}

func (in *ingestion) finish(err error) {
	in.mu.Lock()
	in.done, in.err = true, err
	in.mu.Unlock()
	in.more.Broadcast()
}

// ingestWriter counts what reaches the ingest file for its followers.
type ingestWriter struct {
	f  *os.File
	in *ingestion
}

func (w ingestWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if n > 0 {
		w.in.wrote(n)
	}
	return n, err
}

// startIngestion registers the blob d as being written to path.
func (c *contentStore) startIngestion(d v1.Hash, path string) *ingestion {
	in := newIngestion(path)
	c.mu.Lock()
	if c.ingesting == nil {
		c.ingesting = map[v1.Hash]*ingestion{}
	}
	c.ingesting[d] = in
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
	return in
}

// endIngestion ends d's ingestion: err nil means the blob is in blobs/.
func (c *contentStore) endIngestion(d v1.Hash, in *ingestion, err error) {
	c.mu.Lock()
	if c.ingesting[d] == in {
		delete(c.ingesting, d)
	}
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
	in.finish(err)
}

// openFollow opens blob d for reading: the stored blob, or the download
// writing it now, followed to its verified end. If neither exists yet it
// waits for a download of d to start or end, until fetched is closed (the
// fetch of d ended: then the blob is read if it is stored) or ctx ends.
func (c *contentStore) openFollow(ctx context.Context, d v1.Hash, fetched <-chan struct{}) (io.ReadCloser, error) {
	for {
		if f, err := c.open(d); err == nil {
			return f, nil
		} else if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		c.mu.Lock()
		in, changed := c.ingesting[d], c.changed
		c.mu.Unlock()
		if in != nil {
			f, err := os.Open(in.path)
			if err != nil {
				// Gone: the ingestion ended; its outcome decides.
				if ierr := in.wait(ctx); ierr != nil {
					return nil, ierr
				}
				continue
			}
			return &follower{ctx: ctx, f: f, in: in}, nil
		}
		select {
		case <-changed:
		case <-fetched:
			if f, err := c.open(d); err == nil {
				return f, nil
			}
			return nil, fmt.Errorf("blob %s: %w", d, ErrNotFound)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// wait waits for the ingestion to end and returns its error.
func (in *ingestion) wait(ctx context.Context) error {
	stop := context.AfterFunc(ctx, in.wake)
	defer stop()
	in.mu.Lock()
	defer in.mu.Unlock()
	for !in.done && ctx.Err() == nil {
		in.more.Wait()
	}
	if !in.done {
		return ctx.Err()
	}
	return in.err
}

// follower reads an ingest file up to what has been written, waiting for
// more, and ends with the ingestion: io.EOF once it is verified, its error
// if it failed.
type follower struct {
	ctx context.Context
	f   *os.File
	in  *ingestion
	off int64
}

func (r *follower) Read(p []byte) (int, error) {
	avail, err := r.available()
	if avail == 0 {
		return 0, err
	}
	if int64(len(p)) > avail {
		p = p[:avail]
	}
	n, rerr := r.f.Read(p)
	r.off += int64(n)
	if rerr == io.EOF && n > 0 {
		rerr = nil
	}
	if rerr != nil {
		return n, fmt.Errorf("read blob being downloaded: %w", rerr)
	}
	return n, nil
}

// available waits until the ingestion has bytes past r.off, or is
// verified or has ended: then it is 0 with io.EOF (verified) or the
// ingestion's error.
func (r *follower) available() (int64, error) {
	in := r.in
	in.mu.Lock()
	if in.n <= r.off && !in.done && !in.verified {
		stop := context.AfterFunc(r.ctx, in.wake)
		for in.n <= r.off && !in.done && !in.verified && r.ctx.Err() == nil {
			in.more.Wait()
		}
		stop()
	}
	n, verified, done, ierr := in.n, in.verified, in.done, in.err
	in.mu.Unlock()
	switch {
	case n > r.off:
		return n - r.off, nil
	case verified:
		return 0, io.EOF
	case !done:
		return 0, r.ctx.Err()
	case ierr != nil:
		return 0, ierr
	}
	return 0, io.EOF
}

func (r *follower) Close() error { return r.f.Close() }
