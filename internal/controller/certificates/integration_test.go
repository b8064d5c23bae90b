package certificates_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/keyutil"

	"github.com/kemudi/kemudi/internal/cluster"
	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/controller/certificates"
	"github.com/kemudi/kemudi/internal/controller/controllertest"
	"github.com/kemudi/kemudi/internal/controller/manager"
)

func newRequest(t *testing.T, subject pkix.Name) ([]byte, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: subject}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), key
}

func csr(name, signer string, request []byte, usages ...certificatesv1.KeyUsage) *certificatesv1.CertificateSigningRequest {
	return &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       certificatesv1.CertificateSigningRequestSpec{Request: request, SignerName: signer, Usages: usages},
	}
}

// TestTLSBootstrap: a bootstrap token asks for a node client certificate,
// the approver approves it, the signer issues it for the time asked, and
// the certificate authenticates as the node. People approve and deny the
// other signers' requests with kubectl; what a requester may not do is
// refused with upstream's messages.
func TestTLSBootstrap(t *testing.T) {
	s := clustertest.Start(t)
	s.RunControllerManager(func(o *manager.Options) {
		o.LeaderElect = false
		o.Controllers = []string{certificates.ApprovingName, certificates.SigningName}
		o.Controller.ClusterSigningCertFile = filepath.Join(s.PKI.Dir, "ca.crt")
		o.Controller.ClusterSigningKeyFile = filepath.Join(s.PKI.Dir, "ca.key")
	})
	data, err := os.ReadFile(filepath.Join(s.DataDir, cluster.NodeTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	jt, err := cluster.ParseJoinToken(string(data))
	if err != nil {
		t.Fatal(err)
	}
	cfg := rest.AnonymousClientConfig(s.Config)
	cfg.BearerToken = jt.Token.String()
	boot := kubernetes.NewForConfigOrDie(cfg)
	ctx := context.Background()

	// A node client certificate: approved and issued for one hour.
	req, key := newRequest(t, pkix.Name{CommonName: "system:node:n1", Organization: []string{"system:nodes"}})
	c := csr("node-csr-n1", certificatesv1.KubeAPIServerClientKubeletSignerName, req, certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth)
	c.Spec.ExpirationSeconds = new(int32(3600))
	c.Spec.Username = "system:admin" // what a requester claims is replaced by who it is
	created, err := boot.CertificatesV1().CertificateSigningRequests().Create(ctx, c, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create node csr as a bootstrap token: %v", err)
	}
	if created.Spec.Username != "system:bootstrap:"+jt.Token.ID || !slices.Contains(created.Spec.Groups, "system:bootstrappers") {
		t.Errorf("requester recorded as %q %v", created.Spec.Username, created.Spec.Groups)
	}
	var issued *certificatesv1.CertificateSigningRequest
	controllertest.WaitFor(t, "the node csr issued", 20*time.Second, func(ctx context.Context) (bool, error) {
		issued, err = boot.CertificatesV1().CertificateSigningRequests().Get(ctx, c.Name, metav1.GetOptions{})
		return err == nil && len(issued.Status.Certificate) > 0, err
	})
	if got := issued.Status.Conditions[0]; got.Type != certificatesv1.CertificateApproved || got.Reason != "AutoApproved" {
		t.Errorf("condition %+v", got)
	}
	block, _ := pem.Decode(issued.Status.Certificate)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	// Short-lived: valid from 5 minutes back (clocks that lag) for the
	// whole hour asked for, as upstream signs it.
	if d := cert.NotAfter.Sub(cert.NotBefore); d != time.Hour+5*time.Minute {
		t.Errorf("certificate spans %v, want 1h asked for + 5m backdated", d)
	}
	keyPEM, _ := keyutil.MarshalPrivateKeyToPEM(key)
	nodeCfg := rest.AnonymousClientConfig(s.Config)
	nodeCfg.CertData, nodeCfg.KeyData = issued.Status.Certificate, keyPEM
	review, err := kubernetes.NewForConfigOrDie(nodeCfg).AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if u := review.Status.UserInfo; u.Username != "system:node:n1" || !slices.Contains(u.Groups, "system:nodes") {
		t.Errorf("issued certificate is %q %v", u.Username, u.Groups)
	}
	out := s.MustKubectl("get", "csr", "node-csr-n1")
	if !strings.Contains(out, "kubernetes.io/kube-apiserver-client-kubelet") || !strings.Contains(out, "Approved,Issued") || !strings.Contains(out, "system:bootstrap:"+jt.Token.ID) || !strings.Contains(out, "60m") {
		t.Errorf("kubectl get csr:\n%s", out)
	}

	// The requester cannot approve: RBAC refuses.
	mine := issued.DeepCopy()
	mine.Status.Conditions = append(mine.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{Type: "Extra", Status: "True"})
	if _, err := boot.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, c.Name, mine, metav1.UpdateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("bootstrap token approving: %v", err)
	}

	// A client certificate for a person waits for a person.
	alice, _ := newRequest(t, pkix.Name{CommonName: "alice", Organization: []string{"devs"}})
	if _, err := s.Client.CertificatesV1().CertificateSigningRequests().Create(ctx, csr("alice", certificatesv1.KubeAPIServerClientSignerName, alice, certificatesv1.UsageClientAuth), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bob, _ := newRequest(t, pkix.Name{CommonName: "bob"})
	if _, err := s.Client.CertificatesV1().CertificateSigningRequests().Create(ctx, csr("bob", certificatesv1.KubeAPIServerClientSignerName, bob, certificatesv1.UsageClientAuth), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if out := s.MustKubectl("get", "csr", "alice"); !strings.Contains(out, "Pending") {
		t.Errorf("alice's csr:\n%s", out)
	}
	if out := s.MustKubectl("certificate", "approve", "alice"); !strings.Contains(out, "certificatesigningrequest.certificates.k8s.io/alice approved") {
		t.Errorf("approve: %s", out)
	}
	if out := s.MustKubectl("certificate", "deny", "bob"); !strings.Contains(out, "certificatesigningrequest.certificates.k8s.io/bob denied") {
		t.Errorf("deny: %s", out)
	}
	controllertest.WaitFor(t, "alice's certificate", 20*time.Second, func(ctx context.Context) (bool, error) {
		out, err := s.Kubectl("get", "csr", "alice")
		return err == nil && strings.Contains(out, "Approved,Issued"), nil
	})
	if out := s.MustKubectl("get", "csr", "bob"); !strings.Contains(out, "Denied") || strings.Contains(out, "Issued") {
		t.Errorf("bob's csr:\n%s", out)
	}

	// Bad input, refused with upstream's messages; nothing stored.
	masters, _ := newRequest(t, pkix.Name{CommonName: "mallory", Organization: []string{"system:masters"}})
	_, err = boot.CertificatesV1().CertificateSigningRequests().Create(ctx, csr("mallory", certificatesv1.KubeAPIServerClientSignerName, masters, certificatesv1.UsageClientAuth), metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "use of kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed") {
		t.Errorf("system:masters client csr: %v", err)
	}
	short := csr("short", certificatesv1.KubeAPIServerClientKubeletSignerName, req, certificatesv1.UsageClientAuth, certificatesv1.UsageClientAuth)
	short.Spec.ExpirationSeconds = new(int32(60))
	_, err = boot.CertificatesV1().CertificateSigningRequests().Create(ctx, short, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 600 seconds (10 minutes)") ||
		!strings.Contains(err.Error(), `spec.usages[1]: Duplicate value: "client auth"`) {
		t.Errorf("invalid csr: %v", err)
	}
	for _, name := range []string{"mallory", "short"} {
		if _, err := s.Client.CertificatesV1().CertificateSigningRequests().Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("%s stored: %v", name, err)
		}
	}
	// A bootstrap token is for CSRs only.
	if _, err := boot.CoreV1().Pods("default").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("bootstrap token lists pods: %v", err)
	}
}
