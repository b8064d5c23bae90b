package image

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestOpenFollow: a reader of a blob being written gets its bytes as they
// come and its end only once the blob is verified; a blob that fails
// verification fails its reader too; a blob already stored is read as is.
func TestOpenFollow(t *testing.T) {
	data := make([]byte, 3<<20)
	rand.Read(data)
	sum := sha256.Sum256(data)
	good := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
	tests := []struct {
		name    string
		digest  v1.Hash
		wantErr bool
	}{
		{"verified", good, false},
		{"digest mismatch", v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(make([]byte, 32))}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := newContentStore(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			pr, pw := io.Pipe()
			fetched := make(chan struct{})
			writeErr := make(chan error, 1)
			go func() {
				defer close(fetched)
				writeErr <- c.write(tt.digest, int64(len(data)), pr)
			}()
			// The first MiB goes in; the reader must see it before the rest
			// is even sent.
			if _, err := pw.Write(data[:1<<20]); err != nil {
				t.Fatal(err)
			}
			r, err := c.openFollow(ctx, tt.digest, fetched)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			first := make([]byte, 1<<20)
			if _, err := io.ReadFull(r, first); err != nil || !bytes.Equal(first, data[:1<<20]) {
				t.Fatalf("first MiB while the download goes on: %v", err)
			}
			go func() {
				pw.Write(data[1<<20:])
				pw.Close()
			}()
			rest, err := io.ReadAll(r)
			werr := <-writeErr
			if tt.wantErr {
				if err == nil || werr == nil {
					t.Fatalf("read err %v, write err %v: want both to fail", err, werr)
				}
				if c.has(tt.digest) {
					t.Fatal("a blob that failed verification is in the store")
				}
				return
			}
			if err != nil || werr != nil {
				t.Fatalf("read err %v, write err %v", err, werr)
			}
			if !bytes.Equal(append(first, rest...), data) {
				t.Fatal("the follower read other bytes than were written")
			}
			// Stored now: opened directly.
			again, err := c.openFollow(ctx, tt.digest, fetched)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(again)
			again.Close()
			if !bytes.Equal(b, data) {
				t.Fatal("stored blob differs")
			}
		})
	}
}

// TestOpenFollowWaits: a reader that comes before the download starts
// waits for it; one whose fetch ends without the blob gets ErrNotFound;
// one whose context ends stops waiting.
func TestOpenFollowWaits(t *testing.T) {
	c, err := newContentStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("a layer")
	sum := sha256.Sum256(data)
	d := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	fetched := make(chan struct{})
	got := make(chan []byte, 1)
	go func() {
		r, err := c.openFollow(ctx, d, fetched)
		if err != nil {
			got <- nil
			return
		}
		defer r.Close()
		b, _ := io.ReadAll(r)
		got <- b
	}()
	if err := c.writeBytes(d, data); err != nil {
		t.Fatal(err)
	}
	close(fetched)
	if b := <-got; !bytes.Equal(b, data) {
		t.Fatalf("waiting reader read %q, want %q", b, data)
	}

	missing := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(make([]byte, 32))}
	ended := make(chan struct{})
	close(ended)
	if _, err := c.openFollow(ctx, missing, ended); !errors.Is(err, ErrNotFound) {
		t.Fatalf("fetch ended without the blob: %v, want ErrNotFound", err)
	}
	cctx, ccancel := context.WithCancel(ctx)
	ccancel()
	if _, err := c.openFollow(cctx, missing, make(chan struct{})); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v, want context.Canceled", err)
	}
}
