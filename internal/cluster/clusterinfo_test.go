package cluster

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/clientcmd"
)

// TestEnsureClusterInfo: cluster-info is kubeadm's kubeconfig of the
// server's URL and CA, rewritten when either changes, with the bootstrap
// signer's keys and anything else left as they are.
func TestEnsureClusterInfo(t *testing.T) {
	const ca = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
	tests := []struct {
		name     string
		existing map[string]string // nil: no ConfigMap yet
		server   string
		wantKeep []string // keys besides kubeconfig that must stay
	}{
		{"created", nil, "https://10.0.0.1:6443", nil},
		{"address changed", map[string]string{"kubeconfig": "old", "jws-kubeconfig-abcdef": "sig", "other": "x"}, "https://10.0.0.2:6443", []string{"jws-kubeconfig-abcdef", "other"}},
		{"no data", map[string]string{}, "https://[fd00::1]:6443", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset()
			ctx := context.Background()
			if tt.existing != nil {
				if _, err := client.CoreV1().ConfigMaps("kube-public").Create(ctx, &corev1.ConfigMap{
					ObjectMeta: metav1.ObjectMeta{Name: "cluster-info", Namespace: "kube-public"}, Data: tt.existing,
				}, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			if err := ensureClusterInfo(ctx, client, tt.server, []byte(ca)); err != nil {
				t.Fatal(err)
			}
			cm, err := client.CoreV1().ConfigMaps("kube-public").Get(ctx, "cluster-info", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := clientcmd.Load([]byte(cm.Data["kubeconfig"]))
			if err != nil {
				t.Fatalf("kubeconfig: %v\n%s", err, cm.Data["kubeconfig"])
			}
			c, ok := cfg.Clusters[""]
			if len(cfg.Clusters) != 1 || !ok || c.Server != tt.server || string(c.CertificateAuthorityData) != ca {
				t.Errorf("clusters %+v, want one named \"\" at %s with the CA", cfg.Clusters, tt.server)
			}
			if len(cfg.AuthInfos) != 0 || len(cfg.Contexts) != 0 {
				t.Errorf("users %v, contexts %v: want none", cfg.AuthInfos, cfg.Contexts)
			}
			for _, k := range tt.wantKeep {
				if cm.Data[k] != tt.existing[k] {
					t.Errorf("%s = %q, want %q kept", k, cm.Data[k], tt.existing[k])
				}
			}
			// Unchanged: no write.
			writes := len(client.Actions())
			if err := ensureClusterInfo(ctx, client, tt.server, []byte(ca)); err != nil {
				t.Fatal(err)
			}
			for _, a := range client.Actions()[writes:] {
				if a.GetVerb() != "get" {
					t.Errorf("%s though nothing changed", a.GetVerb())
				}
			}
		})
	}
}
