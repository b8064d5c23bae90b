package network

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/vishvananda/netlink"
)

// debianCNIBin is where Debian's containernetworking-plugins installs.
const debianCNIBin = "/usr/lib/cni"

func requireCNIPlugins(t *testing.T) {
	t.Helper()
	for _, p := range []string{"bridge", "host-local", "portmap"} {
		if _, err := os.Stat(filepath.Join(debianCNIBin, p)); err != nil {
			t.Skipf("needs Debian's containernetworking-plugins (%v)", err)
		}
	}
}

// writeConflist writes a bridge + host-local + portmap chain whose every
// file lives under the test's directories.
func writeConflist(t *testing.T, confDir, ipamDir string) {
	t.Helper()
	conf := fmt.Sprintf(`{
  "cniVersion": "1.0.0",
  "name": "kemudi-test",
  "plugins": [
    {"type": "bridge", "bridge": "cnitest0", "isGateway": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": %q, "ranges": [[{"subnet": "10.88.0.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}`, ipamDir)
	if err := os.WriteFile(filepath.Join(confDir, "10-test.conflist"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCNI(t *testing.T) {
	requireRoot(t)
	requireCNIPlugins(t)
	confDir, ipamDir := t.TempDir(), t.TempDir()
	n := newTestNode(t, func(o *Options) {
		o.CNIConfDir, o.CNIBinDir, o.PodCIDR = confDir, debianCNIBin, ""
	})
	ctx := context.Background()
	if err := n.mgr.Status(); !errors.Is(err, ErrNotReady) {
		t.Fatalf("Status without a config = %v, want ErrNotReady", err)
	}
	writeConflist(t, confDir, ipamDir)
	if err := n.mgr.Status(); err != nil {
		t.Fatalf("Status = %v", err)
	}

	web, webRes := n.sandbox(t, "web", PortMapping{Protocol: "tcp", ContainerPort: 80, HostPort: 8080})
	other, otherRes := n.sandbox(t, "other")
	for _, r := range []Result{webRes, otherRes} {
		if len(r.IPs) != 1 || !mustCIDR(t, "10.88.0.0/24").Contains(r.IPs[0]) || r.Gateway.String() != "10.88.0.1" || r.Interface != "eth0" {
			t.Fatalf("Result = %+v, want an address of 10.88.0.0/24 on eth0, gateway 10.88.0.1", r)
		}
	}
	if err := ping(t, other.NetNS, webRes.IPs[0].String()); err != nil {
		t.Error(err)
	}
	if err := ping(t, web.NetNS, "10.88.0.1"); err != nil {
		t.Error(err)
	}
	serveTCP(t, web.NetNS, ":80")
	if got, err := whoAmI(t, n.outside, nodeIP+":8080"); err != nil {
		t.Errorf("hostPort through portmap from outside: %v", err)
	} else if got != outsideIP {
		t.Errorf("pod saw %s, want %s", got, outsideIP)
	}
	// CHECK on the sandbox without hostPorts: Debian's portmap 1.1.1 fails
	// CHECK of IPv4-only mappings looking for ip6tables rules
	// (containernetworking/plugins#819).
	if err := n.mgr.Check(ctx, other); err != nil {
		t.Errorf("CHECK: %v", err)
	}

	// Teardown (also once the namespace is gone) releases the address and
	// the bridge port.
	if err := n.mgr.Teardown(ctx, web); err != nil {
		t.Fatal(err)
	}
	if err := RemoveNetNS(other.NetNS); err != nil {
		t.Fatal(err)
	}
	if err := n.mgr.Teardown(ctx, other); err != nil {
		t.Fatalf("Teardown after the namespace is gone: %v", err)
	}
	for _, ip := range []string{webRes.IPs[0].String(), otherRes.IPs[0].String()} {
		if _, err := os.Stat(filepath.Join(ipamDir, "kemudi-test", ip)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("host-local still holds %s (%v)", ip, err)
		}
	}
	node := nlAt(t, n.ns)
	br, err := node.LinkByName("cnitest0")
	if err != nil {
		t.Fatal(err)
	}
	links, err := node.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		if l.Attrs().MasterIndex == br.Attrs().Index {
			t.Errorf("%s still on the bridge after teardown", l.Attrs().Name)
		}
	}

	// After a crash, Reconcile runs DEL for the sandboxes that are gone.
	crashed := SandboxNet{ID: "crashed", NetNS: newNetNS(t, n.dir, "crashed")}
	crashedRes, err := n.mgr.Setup(ctx, crashed)
	if err != nil {
		t.Fatal(err)
	}
	reserved := filepath.Join(ipamDir, "kemudi-test", crashedRes.IPs[0].String())
	if _, err := os.Stat(reserved); err != nil {
		t.Fatalf("host-local has no reservation for the sandbox: %v", err)
	}
	n.mgr.Close()
	n.mgr = n.newManager(t, Options{StateDir: n.state, HostNetNS: n.ns, CNIConfDir: confDir, CNIBinDir: debianCNIBin})
	if err := n.mgr.Reconcile(ctx, nil); err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	if _, err := os.Stat(reserved); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("host-local still holds %s after Reconcile (%v)", crashedRes.IPs[0], err)
	}
	if _, err := os.Stat(n.mgr.records.path("crashed")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("record left after Reconcile (%v)", err)
	}

	if _, err := netlink.LinkByName("cnitest0"); err == nil {
		t.Error("the CNI bridge was made in the test process's own namespace")
	}
}
