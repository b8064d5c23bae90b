package volumeattachment

import "testing"

const (
	driver   = "disk.csi.fake"
	nodeName = "node-1"
)

func TestNames(t *testing.T) {
	// Upstream's CSI attacher's name for handle "vol-1" of driver on node-1:
	// sha256("vol-1disk.csi.fakenode-1").
	if got, want := Name("vol-1", driver, nodeName), "csi-7414834f7cb20ec52a7ac27580534fa881396d69bbeb65eca34748e3d39f1b55"; got != want {
		t.Errorf("attachment name %q, want %q", got, want)
	}
	if Name("vol-1", driver, nodeName) == Name("vol-1", driver, "node-2") {
		t.Error("same attachment name on two nodes")
	}
	n := UniqueVolumeName(driver, "vol-1")
	if n != "kubernetes.io/csi/disk.csi.fake^vol-1" {
		t.Errorf("unique name %q", n)
	}
	if d, h, ok := SplitUniqueName(n); !ok || d != driver || h != "vol-1" {
		t.Errorf("split %q: %q %q %v", n, d, h, ok)
	}
	if _, _, ok := SplitUniqueName("kubernetes.io/host-path/x"); ok {
		t.Error("a host path volume split as CSI")
	}
}
