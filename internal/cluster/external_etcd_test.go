package cluster_test

import (
	"context"
	"net"
	"net/url"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/cluster"
	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// startEtcd runs a real etcd member serving clients on a loopback port,
// standing in for an external etcd cluster.
func startEtcd(t *testing.T) string {
	t.Helper()
	ports := freePorts(t, 2)
	cfg := embed.NewConfig()
	cfg.Dir = t.TempDir()
	client := url.URL{Scheme: "http", Host: ports[0]}
	peer := url.URL{Scheme: "http", Host: ports[1]}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(60 * time.Second):
		t.Fatal("etcd not ready")
	}
	return client.String()
}

func freePorts(t *testing.T, n int) []string {
	var out []string
	var ls []net.Listener
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().String())
	}
	for _, l := range ls {
		l.Close()
	}
	return out
}

// With --etcd-servers the server keeps its objects in that etcd, and a
// second server on the same etcd sees them.
func TestExternalEtcd(t *testing.T) {
	endpoint := startEtcd(t)
	external := func(o *cluster.ServerOptions) { o.EtcdServers = []string{endpoint} }
	a := clustertest.Start(t, external)
	ctx := context.Background()
	if _, err := a.Client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "shared"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	b := clustertest.Start(t, external)
	if _, err := b.Client.CoreV1().ConfigMaps("default").Get(ctx, "shared", metav1.GetOptions{}); err != nil {
		t.Fatalf("second server on the same etcd: %v", err)
	}
	// And the second server's watch sees the first one's writes.
	w, err := b.Client.CoreV1().ConfigMaps("default").Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=later"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if _, err := a.Client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "later"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-w.ResultChan():
		if ev.Object.(*corev1.ConfigMap).Name != "later" {
			t.Fatalf("got %v", ev.Object)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("second server's watch missed the first server's write")
	}
}
