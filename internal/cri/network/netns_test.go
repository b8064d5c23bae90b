package network

import (
	"os"
	"testing"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

func TestCreateNetNS(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	outer := newNetNS(t, dir, "outer")
	var path string
	// Created from a thread inside another namespace, it is still a fresh one.
	err := inNS(t, outer, func() (err error) {
		path, err = CreateNetNS(dir, "fresh")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { RemoveNetNS(path) })

	ids := map[string]uint64{}
	for name, p := range map[string]string{"outer": outer, "fresh": path, "self": "/proc/self/ns/net"} {
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err != nil {
			t.Fatal(err)
		}
		ids[name] = st.Ino
	}
	if ids["fresh"] == ids["outer"] || ids["fresh"] == ids["self"] {
		t.Fatalf("namespace inodes %v: the new one is not fresh", ids)
	}
	h := nlAt(t, path)
	links, err := h.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	if len(links) != 1 || links[0].Attrs().Name != "lo" || links[0].Attrs().Flags&unix.IFF_UP == 0 {
		t.Fatalf("links in the new namespace: %v, want lo up only", links)
	}
	if _, err := CreateNetNS(dir, "fresh"); err == nil {
		t.Fatal("CreateNetNS over an existing one succeeded")
	}
	if _, err := CreateNetNS(dir, "../escape"); err == nil {
		t.Fatal("CreateNetNS with a path as id succeeded")
	}

	for i := range 2 { // idempotent
		if err := RemoveNetNS(path); err != nil {
			t.Fatalf("RemoveNetNS #%d: %v", i, err)
		}
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("%s still exists: %v", path, err)
	}
	if _, err := netns.GetFromPath(path); err == nil {
		t.Fatal("namespace still reachable")
	}
}
