package cluster_test

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kemudi/kemudi/internal/cluster"
	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// TestClusterInfoAtStart: the server publishes kube-public/cluster-info
// (its URL and CA, kubeadm's format) and puts it right again at the next
// start when it no longer says so, leaving the signer's keys alone.
func TestClusterInfoAtStart(t *testing.T) {
	s := clustertest.Start(t, func(o *cluster.ServerOptions) { o.AdvertiseAddress = "127.0.0.1" })
	ctx := context.Background()
	clusterInfo := func(when string) *corev1.ConfigMap {
		t.Helper()
		cm, err := s.Client.CoreV1().ConfigMaps("kube-public").Get(ctx, "cluster-info", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		kc, err := clientcmd.Load([]byte(cm.Data["kubeconfig"]))
		if err != nil {
			t.Fatalf("%s: cluster-info's kubeconfig: %v", when, err)
		}
		c := kc.Clusters[""]
		if len(kc.Clusters) != 1 || c == nil || c.Server != s.URL || string(c.CertificateAuthorityData) != string(s.PKI.CAPEM()) {
			t.Fatalf("%s: cluster-info names %+v, want one cluster at %s with the cluster CA", when, kc.Clusters, s.URL)
		}
		return cm
	}
	cm := clusterInfo("first start")

	cm.Data["kubeconfig"] = "apiVersion: v1\nkind: Config\nclusters:\n- name: \"\"\n  cluster:\n    server: https://192.0.2.1:6443\n"
	cm.Data["jws-kubeconfig-abcdef"] = "signature"
	if _, err := s.Client.CoreV1().ConfigMaps("kube-public").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Restart()
	if got := clusterInfo("after a restart").Data["jws-kubeconfig-abcdef"]; got != "signature" {
		t.Errorf("the signer's key became %q; it is the signer's to change", got)
	}
}
