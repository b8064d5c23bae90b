package certificatesigningrequest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/auth"
	. "github.com/kemudi/kemudi/internal/registry/apps/workload/workloadtest"
)

func request(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "system:node:n1", Organization: []string{"system:nodes"}}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func certificate(t *testing.T) []byte {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "x"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func newCSR(t *testing.T) *certificatesv1.CertificateSigningRequest {
	return &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "node-csr-abc"},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:    request(t),
			SignerName: certificatesv1.KubeAPIServerClientKubeletSignerName,
			Usages:     []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth},
		},
	}
}

func cond(t certificatesv1.RequestConditionType, s corev1.ConditionStatus) certificatesv1.CertificateSigningRequestCondition {
	return certificatesv1.CertificateSigningRequestCondition{Type: t, Status: s, Reason: "R"}
}

func TestValidate(t *testing.T) {
	type C = certificatesv1.CertificateSigningRequest
	tests := []struct {
		name   string
		mutate func(c *C)
		want   []Err
	}{
		{"valid", func(c *C) {}, nil},
		{"custom signer", func(c *C) { c.Spec.SignerName = "example.com/my-signer" }, nil},
		{"not PEM", func(c *C) { c.Spec.Request = []byte("hello") }, []Err{Invalid("spec.request")}},
		{"certificate not request", func(c *C) { c.Spec.Request = certificate(t) }, []Err{Invalid("spec.request")}},
		{"no usages", func(c *C) { c.Spec.Usages = nil }, []Err{Required("spec.usages")}},
		{"unknown usage", func(c *C) { c.Spec.Usages = append(c.Spec.Usages, "flying") }, []Err{NotSupported("spec.usages[2]")}},
		{"duplicate usage", func(c *C) { c.Spec.Usages = append(c.Spec.Usages, certificatesv1.UsageClientAuth) }, []Err{Duplicate("spec.usages[2]")}},
		{"no signer", func(c *C) { c.Spec.SignerName = "" }, []Err{Required("spec.signerName")}},
		{"legacy signer", func(c *C) { c.Spec.SignerName = "kubernetes.io/legacy-unknown" }, []Err{Invalid("spec.signerName")}},
		{"signer without path", func(c *C) { c.Spec.SignerName = "example.com" }, []Err{Invalid("spec.signerName")}},
		{"signer with a one-label domain", func(c *C) { c.Spec.SignerName = "example/x" }, []Err{Invalid("spec.signerName")}},
		{"short duration", func(c *C) { c.Spec.ExpirationSeconds = new(int32(599)) }, []Err{Invalid("spec.expirationSeconds")}},
		{"ten minutes", func(c *C) { c.Spec.ExpirationSeconds = new(int32(600)) }, nil},
		{"approved false", func(c *C) {
			c.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{cond(certificatesv1.CertificateApproved, corev1.ConditionFalse)}
		}, []Err{NotSupported("status.conditions[0].status")}},
		{"approved and denied", func(c *C) {
			c.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{cond(certificatesv1.CertificateApproved, corev1.ConditionTrue), cond(certificatesv1.CertificateDenied, corev1.ConditionTrue)}
		}, []Err{Invalid("status.conditions[1].type")}},
		{"bad certificate", func(c *C) { c.Status.Certificate = []byte("x") }, []Err{Invalid("status.certificate")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCSR(t)
			tt.mutate(c)
			Expect(t, Validate(c, createOptions), tt.want...)
		})
	}
}

func TestUpdates(t *testing.T) {
	approved := newCSR(t)
	approved.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{cond(certificatesv1.CertificateApproved, corev1.ConditionTrue)}
	issued := approved.DeepCopy()
	issued.Status.Certificate = certificate(t)
	type C = certificatesv1.CertificateSigningRequest
	tests := []struct {
		name   string
		old    *C
		mutate func(c *C)
		o      options
		want   []Err
	}{
		{"approve through approval", newCSR(t), func(c *C) { c.Status.Conditions = approved.Status.Conditions }, approvalOptions, nil},
		{"approve through status", newCSR(t), func(c *C) { c.Status.Conditions = approved.Status.Conditions }, statusOptions, []Err{Forbidden("status.conditions")}},
		{"unapprove", approved, func(c *C) { c.Status.Conditions = nil }, approvalOptions, []Err{Forbidden("status.conditions")}},
		{"issue through status", approved, func(c *C) { c.Status.Certificate = issued.Status.Certificate }, statusOptions, nil},
		{"issue through approval", approved, func(c *C) { c.Status.Certificate = issued.Status.Certificate }, approvalOptions, []Err{Forbidden("status.certificate")}},
		{"reissue", issued, func(c *C) { c.Status.Certificate = certificate(t) }, statusOptions, []Err{Forbidden("status.certificate")}},
		{"fail", approved, func(c *C) {
			c.Status.Conditions = append(c.Status.Conditions, cond(certificatesv1.CertificateFailed, corev1.ConditionTrue))
		}, statusOptions, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.old.DeepCopy()
			tt.mutate(c)
			Expect(t, ValidateUpdate(c, tt.old, tt.o), tt.want...)
		})
	}
}

func TestCreateRecordsRequester(t *testing.T) {
	c := newCSR(t)
	c.Spec.Username = "system:admin" // claimed: replaced
	c.Status.Certificate = []byte("x")
	u := &auth.User{Name: "system:bootstrap:abcdef", Groups: []string{"system:bootstrappers", "system:authenticated"}, Extra: map[string][]string{"k": {"v"}}}
	Resource().Hooks.PrepareForCreate(auth.WithUser(context.Background(), u), c)
	if c.Spec.Username != u.Name || len(c.Spec.Groups) != 2 || c.Spec.Extra["k"][0] != "v" || c.Status.Certificate != nil {
		t.Errorf("spec %+v status %+v", c.Spec, c.Status)
	}
}

func TestApprovalKeepsCertificateAndStatusKeepsApproval(t *testing.T) {
	old := newCSR(t)
	old.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{cond(certificatesv1.CertificateApproved, corev1.ConditionTrue)}
	old.Status.Conditions[0].Reason = "AutoApproved"
	upd := old.DeepCopy()
	upd.Status.Conditions[0].Reason = "Changed"
	upd.Status.Certificate = []byte("sneaked in")
	Resource().StatusLike["approval"].PrepareForUpdate(context.Background(), upd, old)
	if upd.Status.Certificate != nil {
		t.Error("approval set the certificate")
	}
	if upd.Status.Conditions[0].LastUpdateTime.IsZero() || upd.Status.Conditions[0].LastTransitionTime.IsZero() {
		t.Error("condition times not set")
	}
	st := old.DeepCopy()
	st.Status.Conditions[0].Reason = "Changed"
	Resource().StatusHooks.PrepareForUpdate(context.Background(), st, old)
	if st.Status.Conditions[0].Reason != "AutoApproved" {
		t.Errorf("status update changed the approval: %+v", st.Status.Conditions[0])
	}
}

func TestCondition(t *testing.T) {
	c := newCSR(t)
	if got := Condition(c); got != "Pending" {
		t.Errorf("%q", got)
	}
	c.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{cond(certificatesv1.CertificateApproved, corev1.ConditionTrue)}
	c.Status.Certificate = []byte("x")
	if got := Condition(c); got != "Approved,Issued" {
		t.Errorf("%q", got)
	}
	c.Status.Conditions = append(c.Status.Conditions, cond(certificatesv1.CertificateFailed, corev1.ConditionTrue))
	if got := Condition(c); got != "Approved,Failed,Issued" {
		t.Errorf("%q", got)
	}
}
