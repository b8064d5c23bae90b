package testvm

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestModuleClosure(t *testing.T) {
	dir := t.TempDir()
	dep := "kernel/fs/9p/9p.ko: kernel/net/9p/9pnet.ko kernel/fs/netfs/netfs.ko\n" +
		"kernel/net/9p/9pnet.ko:\n" +
		"kernel/fs/netfs/netfs.ko:\n" +
		"kernel/net/9p/9pnet_virtio.ko: kernel/net/9p/9pnet.ko kernel/drivers/virtio/virtio_ring.ko\n" +
		"kernel/drivers/virtio/virtio_ring.ko:\n" +
		"kernel/drivers/net/nf-conntrack.ko.xz:\n"
	if err := os.WriteFile(filepath.Join(dir, "modules.dep"), []byte(dep), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "modules.builtin"), []byte("kernel/fs/overlayfs/overlay.ko\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		names   []string
		want    []string
		wantErr bool
	}{
		{names: []string{"9p"}, want: []string{"kernel/fs/9p/9p.ko", "kernel/fs/netfs/netfs.ko", "kernel/net/9p/9pnet.ko"}},
		// A module two others need is taken once.
		{names: []string{"9p", "9pnet_virtio"}, want: []string{"kernel/drivers/virtio/virtio_ring.ko", "kernel/fs/9p/9p.ko", "kernel/fs/netfs/netfs.ko", "kernel/net/9p/9pnet.ko", "kernel/net/9p/9pnet_virtio.ko"}},
		// Built in: nothing to load.
		{names: []string{"overlay"}, want: nil},
		// Dashes are underscores, compressed files keep their name.
		{names: []string{"nf_conntrack"}, want: []string{"kernel/drivers/net/nf-conntrack.ko.xz"}},
		{names: []string{"nosuch"}, wantErr: true},
	} {
		got, err := moduleClosure(dir, tc.names)
		if (err != nil) != tc.wantErr || !slices.Equal(got, tc.want) {
			t.Errorf("moduleClosure(%v) = %v, %v; want %v (error %v)", tc.names, got, err, tc.want, tc.wantErr)
		}
	}
}
