package cluster_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"os"
	"path/filepath"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kemudi/kemudi/internal/cluster"
	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/controller/certificates"
	"github.com/kemudi/kemudi/internal/controller/manager"
)

// TestNodeClientCertRenewal: a joined node whose certificates live 20 s
// (the signer's --cluster-signing-duration) renews its client certificate
// with itself before each expires, and keeps working past several
// lifetimes: its API requests succeed, an informer it started keeps
// following, and its kubeconfig and registry credentials on disk hold
// the current certificate.
func TestNodeClientCertRenewal(t *testing.T) {
	const life = 20 * time.Second
	s := clustertest.Start(t)
	s.RunControllerManager(func(o *manager.Options) {
		o.LeaderElect = false
		o.Controllers = []string{certificates.ApprovingName, certificates.SigningName}
		o.Controller.ClusterSigningCertFile = filepath.Join(s.PKI.Dir, "ca.crt")
		o.Controller.ClusterSigningKeyFile = filepath.Join(s.PKI.Dir, "ca.key")
		o.Controller.ClusterSigningDuration = life
	})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	dataDir := t.TempDir()
	cfg, err := cluster.Join(ctx, cluster.JoinOptions{
		Server: s.Config.Host, TokenFile: filepath.Join(s.DataDir, cluster.NodeTokenFile),
		NodeName: "node-a", DataDir: dataDir, Timeout: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	ao := cluster.AgentOptions{}
	if err := cluster.JoinedNodeRegistries(&ao, dataDir, s.Config.Host, cfg); err != nil {
		t.Fatal(err)
	}
	cert, err := cluster.JoinedNodeClientCert(cfg, dataDir, "node-a", nil)
	if err != nil {
		t.Fatal(err)
	}
	first := cert.Current().Leaf
	if left := time.Until(first.NotAfter); left > life {
		t.Fatalf("the joined certificate has %s left; the signer was told %s", left, life)
	}
	go cert.Run(ctx)

	node := kubernetes.NewForConfigOrDie(cert.Config())
	leases := node.CoordinationV1().Leases("kube-node-lease")
	holder := "node-a"
	lease, err := leases.Create(ctx, &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: "node-a"},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("the node creates its lease: %v", err)
	}
	// The node's informer, started with the first certificate, must
	// still follow nodes after the renewals (its watch is cut with the
	// old connections and resumes).
	if _, err := node.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-a"}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("the node registers: %v", err)
	}
	informers := informers.NewSharedInformerFactory(node, 0)
	nodes := informers.Core().V1().Nodes().Lister()
	informers.Start(ctx.Done())
	informers.WaitForCacheSync(ctx.Done())

	// Renew the lease each second until two renewals have happened and
	// the first certificate is well past its end.
	serials := map[string]bool{first.SerialNumber.String(): true}
	deadline := time.Now().Add(3*life + 30*time.Second)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	failures := 0
	for len(serials) < 3 || time.Now().Before(first.NotAfter.Add(5*time.Second)) {
		if time.Now().After(deadline) {
			t.Fatalf("by %s: %d certificates seen, want 3; %d failed lease renewals", deadline.Format(time.TimeOnly), len(serials), failures)
		}
		<-tick.C
		serials[cert.Current().Leaf.SerialNumber.String()] = true
		now := metav1.NewMicroTime(time.Now())
		lease.Spec.RenewTime = &now
		got, err := leases.Update(ctx, lease, metav1.UpdateOptions{})
		if err != nil {
			// A request cut by the swap of connections fails once; the
			// next goes through. An expired certificate fails for good.
			failures++
			t.Logf("lease renewal: %v", err)
			if failures > 5 {
				t.Fatalf("%d failed lease renewals", failures)
			}
			if lease, err = leases.Get(ctx, "node-a", metav1.GetOptions{}); err != nil {
				continue
			}
			continue
		}
		lease = got
	}
	if _, err := leases.Get(ctx, "node-a", metav1.GetOptions{}); err != nil {
		t.Fatalf("a request %s after the first certificate expired: %v", time.Since(first.NotAfter).Round(time.Second), err)
	}

	admin := kubernetes.NewForConfigOrDie(s.Config)
	if _, err := admin.CoreV1().Nodes().Patch(ctx, "node-a", types.MergePatchType, []byte(`{"metadata":{"labels":{"renewed":"yes"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	seen := time.Now().Add(30 * time.Second)
	for {
		if n, err := nodes.Get("node-a"); err == nil && n.Labels["renewed"] == "yes" {
			break
		}
		if time.Now().After(seen) {
			t.Fatal("the node's informer did not see a label set after the renewals within 30 s")
		}
		<-tick.C
	}

	// On disk: the kubeconfig and the registry credentials hold the
	// current pair, and the kubeconfig works.
	cur := cert.Current()
	kc := cluster.KubeletKubeconfig(dataDir)
	fileCfg, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(certDER(t, fileCfg.CertData, fileCfg.KeyData), cur.Certificate[0]) {
		t.Error("the kubeconfig does not hold the current certificate")
	}
	if _, err := kubernetes.NewForConfigOrDie(fileCfg).CoordinationV1().Leases("kube-node-lease").Get(ctx, "node-a", metav1.GetOptions{}); err != nil {
		t.Errorf("with the kubeconfig on disk: %v", err)
	}
	crt, _ := os.ReadFile(filepath.Join(dataDir, "agent", "registry-client.crt"))
	key, _ := os.ReadFile(filepath.Join(dataDir, "agent", "registry-client.key"))
	if !bytes.Equal(certDER(t, crt, key), cur.Certificate[0]) {
		t.Error("the registry credentials do not hold the current certificate")
	}
}

func certDER(t *testing.T, certPEM, keyPEM []byte) []byte {
	t.Helper()
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatalf("pair on disk: %v", err)
	}
	return pair.Certificate[0]
}
