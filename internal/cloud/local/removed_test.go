package local

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"slices"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func nodeCSR(t *testing.T, cn, user string, created time.Time, conds ...certificatesv1.RequestConditionType) certificatesv1.CertificateSigningRequest {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn, Organization: []string{"system:nodes"}}}, key)
	if err != nil {
		t.Fatal(err)
	}
	c := certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(created)},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			SignerName: certificatesv1.KubeAPIServerClientKubeletSignerName, Username: user,
			Request: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
		},
	}
	for _, typ := range conds {
		c.Status.Conditions = append(c.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{Type: typ, Status: corev1.ConditionTrue})
	}
	return c
}

func TestRejoined(t *testing.T) {
	removed := time.Date(2026, 12, 6, 21, 0, 0, 0, time.UTC)
	before, after := removed.Add(-time.Minute), removed.Add(time.Minute)
	const tokenUser = "system:bootstrap:abcdef"
	approved := certificatesv1.CertificateApproved
	for _, tc := range []struct {
		name string
		csrs []certificatesv1.CertificateSigningRequest
		want bool
	}{
		{"no CSR: still removed", nil, false},
		{"joined with a token after the removal: back", []certificatesv1.CertificateSigningRequest{nodeCSR(t, "system:node:n1", tokenUser, after, approved)}, true},
		{"a join in the second of the removal counts", []certificatesv1.CertificateSigningRequest{nodeCSR(t, "system:node:n1", tokenUser, removed, approved)}, true},
		{"the join before the removal does not count", []certificatesv1.CertificateSigningRequest{nodeCSR(t, "system:node:n1", tokenUser, before, approved)}, false},
		{"not approved yet", []certificatesv1.CertificateSigningRequest{nodeCSR(t, "system:node:n1", tokenUser, after)}, false},
		{"denied", []certificatesv1.CertificateSigningRequest{nodeCSR(t, "system:node:n1", tokenUser, after, approved, certificatesv1.CertificateDenied)}, false},
		{"the kubelet renewing its certificate is not a join", []certificatesv1.CertificateSigningRequest{nodeCSR(t, "system:node:n1", "system:node:n1", after, approved)}, false},
		{"another machine joining", []certificatesv1.CertificateSigningRequest{nodeCSR(t, "system:node:n2", tokenUser, after, approved)}, false},
	} {
		if got := rejoined("n1", removed, tc.csrs); got != tc.want {
			t.Errorf("%s: rejoined = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestRemovedAt(t *testing.T) {
	at := time.Date(2026, 12, 6, 21, 0, 0, 0, time.UTC)
	cm := &corev1.ConfigMap{Data: map[string]string{"n1": at.Format(time.RFC3339), "n2": "by hand"}}
	for _, tc := range []struct {
		name   string
		cm     *corev1.ConfigMap
		node   string
		wantAt time.Time
		wantOK bool
	}{
		{"no record", nil, "n1", time.Time{}, false},
		{"removed", cm, "n1", at, true},
		{"a value edited by hand still removes", cm, "n2", time.Time{}, true},
		{"not in the record", cm, "n3", time.Time{}, false},
	} {
		gotAt, ok := removedAt(tc.cm, tc.node)
		if ok != tc.wantOK || !gotAt.Equal(tc.wantAt) {
			t.Errorf("%s: removedAt = %v, %v; want %v, %v", tc.name, gotAt, ok, tc.wantAt, tc.wantOK)
		}
	}
}

// TestMarkRemovedForgetsJoins: the machine's earlier token joins go with
// its removal, so a join made in the same second as the removal (a quick
// join and remove) is not taken for a join after it; other machines'
// joins and the kubelet's renewals stay.
func TestMarkRemovedForgetsJoins(t *testing.T) {
	removed := time.Date(2026, 12, 6, 21, 0, 0, 0, time.UTC)
	const tokenUser = "system:bootstrap:abcdef"
	approved := certificatesv1.CertificateApproved
	named := func(name string, c certificatesv1.CertificateSigningRequest) *certificatesv1.CertificateSigningRequest {
		c.Name = name
		return &c
	}
	client := fake.NewClientset(
		named("join-n1", nodeCSR(t, "system:node:n1", tokenUser, removed, approved)),
		named("renew-n1", nodeCSR(t, "system:node:n1", "system:node:n1", removed, approved)),
		named("join-n2", nodeCSR(t, "system:node:n2", tokenUser, removed, approved)),
	)
	ctx := context.Background()
	if err := MarkRemoved(ctx, client, "n1", removed.Add(300*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	left, err := client.CertificatesV1().CertificateSigningRequests().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range left.Items {
		names = append(names, c.Name)
	}
	if slices.Sort(names); !slices.Equal(names, []string{"join-n2", "renew-n1"}) {
		t.Errorf("CSRs left %v, want [join-n2 renew-n1]", names)
	}
	if rejoined("n1", removed, left.Items) {
		t.Error("n1 counts as joined again right after its removal")
	}
	cm, err := client.CoreV1().ConfigMaps(RemovedNamespace).Get(ctx, RemovedConfigMap, metav1.GetOptions{})
	if at, ok := removedAt(cm, "n1"); err != nil || !ok || !at.Equal(removed) {
		t.Errorf("record of n1: %v %v (%v)", at, ok, err)
	}
}
