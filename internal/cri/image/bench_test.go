package image

import (
	"context"
	"fmt"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// BenchmarkPrepareRootfs: the image-side cost of creating a container.
func BenchmarkPrepareRootfs(b *testing.B) {
	requireRoot(b)
	reg := newRegistry(b)
	mustPush(b, reg, "app:1", mustImage(b, v1.Config{}, mustLayer(b, F{Path: "f", Content: "f"})))
	s := newStore(b, Options{})
	img, err := s.Pull(context.Background(), reg.Ref("app:1"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		key := fmt.Sprint("c", i)
		if _, err := s.PrepareRootfs(context.Background(), key, img.ID); err != nil {
			b.Fatal(err)
		}
		if err := s.RemoveRootfs(key); err != nil {
			b.Fatal(err)
		}
	}
}
