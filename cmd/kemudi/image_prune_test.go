package main

import (
	"bytes"
	"testing"

	"github.com/kemudi/kemudi/internal/cri"
)

func TestPrintPruneResult(t *testing.T) {
	for _, tc := range []struct {
		name string
		res  cri.PruneResult
		want string
	}{
		{"nothing", cri.PruneResult{}, "0 images, 0 build cache entries, 0 layers and 0 blobs removed; reclaimed 0 B\n"},
		{"build cache", cri.PruneResult{
			Images:       []string{"sha256:5835a69b8ee22daaeb8148c5e89e66b6dcb9bdd040fd863be916bc74b292ae4a"},
			CacheEntries: 4, Snapshots: 3, Blobs: 11, Bytes: 640533,
		}, "deleted 5835a69b8ee22\n1 images, 4 build cache entries, 3 layers and 11 blobs removed; reclaimed 641 kB\n"},
		{"gigabytes", cri.PruneResult{Bytes: 2_500_000_000}, "0 images, 0 build cache entries, 0 layers and 0 blobs removed; reclaimed 2.5 GB\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			printPruneResult(&b, tc.res)
			if b.String() != tc.want {
				t.Errorf("got\n%q\nwant\n%q", b.String(), tc.want)
			}
		})
	}
}
