package image

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// TestReadAhead: the reader sees exactly the stream, and the stream's own
// error (not a substitute) where it ends early.
func TestReadAhead(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), (3*readAheadSize+12345)/16)
	broken := errors.New("connection reset")
	tests := []struct {
		name    string
		r       io.Reader
		want    []byte
		wantErr error
	}{
		{"empty", bytes.NewReader(nil), nil, nil},
		{"several chunks", bytes.NewReader(data), data, nil},
		{"one byte reads", iotest.OneByteReader(bytes.NewReader(data[:5000])), data[:5000], nil},
		{"early end", io.MultiReader(bytes.NewReader(data[:700000]), iotest.ErrReader(io.ErrUnexpectedEOF)), data[:700000], io.ErrUnexpectedEOF},
		{"error", io.MultiReader(bytes.NewReader(data[:100]), iotest.ErrReader(broken)), data[:100], broken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := sha256.New()
			a := newReadAhead(tt.r, h)
			defer a.Close()
			got, err := io.ReadAll(a)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("read %d bytes, want %d (or different content)", len(got), len(tt.want))
			}
			// Every byte read was digested before the reader saw the end.
			if want := sha256.Sum256(tt.want); !bytes.Equal(h.Sum(nil), want[:]) {
				t.Fatalf("digest %x, want %x", h.Sum(nil), want)
			}
		})
	}
}

// TestReadAheadCloseEarly: Close returns while the reader has not read
// everything, and the goroutine no longer reads the stream after it.
func TestReadAheadCloseEarly(t *testing.T) {
	r := &countingReader{r: bytes.NewReader(make([]byte, 64*readAheadSize))}
	a := newReadAhead(r, nil)
	if _, err := a.Read(make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	a.Close()
	n := r.n
	if n >= 64*readAheadSize {
		t.Fatalf("read the whole stream (%d bytes) though the reader stopped early", n)
	}
	a.Close() // twice is fine
	if r.n != n {
		t.Fatalf("the stream was read after Close (%d bytes, then %d)", n, r.n)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
