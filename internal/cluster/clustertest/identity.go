package clustertest

import (
	"context"
	"encoding/pem"
	"fmt"
	"path/filepath"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/util/keyutil"
)

// An Identity is a client of the server as one user, for authorization
// tests: its client config and a kubeconfig file kubectl can use.
type Identity struct {
	Config     *rest.Config
	Client     kubernetes.Interface
	Kubeconfig string
}

// UserIdentity returns an identity authenticating with a client
// certificate the cluster CA signs for user in groups.
func (s *Server) UserIdentity(user string, groups ...string) *Identity {
	s.t.Helper()
	cert, err := s.PKI.ClientCert("test-"+user, user, groups)
	if err != nil {
		s.t.Fatalf("client certificate for %s: %v", user, err)
	}
	keyPEM, err := keyutil.MarshalPrivateKeyToPEM(cert.PrivateKey)
	if err != nil {
		s.t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]})
	return s.identity(user, &clientcmdapi.AuthInfo{ClientCertificateData: certPEM, ClientKeyData: keyPEM})
}

// ServiceAccountIdentity creates the service account namespace/name
// (when missing) and returns an identity using a token for it.
func (s *Server) ServiceAccountIdentity(namespace, name string) *Identity {
	s.t.Helper()
	ctx := context.Background()
	_, err := s.Client.CoreV1().ServiceAccounts(namespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		s.t.Fatalf("create service account %s/%s: %v", namespace, name, err)
	}
	tr, err := s.Client.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		s.t.Fatalf("token for %s/%s: %v", namespace, name, err)
	}
	return s.identity("sa-"+namespace+"-"+name, &clientcmdapi.AuthInfo{Token: tr.Status.Token})
}

// AnonymousIdentity returns an identity with no credentials.
func (s *Server) AnonymousIdentity() *Identity {
	s.t.Helper()
	return s.identity("anonymous", &clientcmdapi.AuthInfo{})
}

func (s *Server) identity(name string, ai *clientcmdapi.AuthInfo) *Identity {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["kemudi"] = &clientcmdapi.Cluster{Server: s.URL, CertificateAuthorityData: s.PKI.CAPEM()}
	cfg.AuthInfos["kemudi"] = ai
	cfg.Contexts["kemudi"] = &clientcmdapi.Context{Cluster: "kemudi", AuthInfo: "kemudi", Namespace: "default"}
	cfg.CurrentContext = "kemudi"
	path := filepath.Join(s.DataDir, fmt.Sprintf("test-%s.kubeconfig", name))
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		s.t.Fatal(err)
	}
	rc, err := clientcmd.NewDefaultClientConfig(*cfg, nil).ClientConfig()
	if err != nil {
		s.t.Fatal(err)
	}
	rc.QPS, rc.Burst = -1, 0
	return &Identity{Config: rc, Client: kubernetes.NewForConfigOrDie(rc), Kubeconfig: path}
}

// Kubectl runs kubectl as the identity.
func (s *Server) KubectlAs(id *Identity, args ...string) (string, error) {
	return s.Kubectl(append([]string{"--kubeconfig", id.Kubeconfig}, args...)...)
}

// WaitAllowed waits until the server's authorizer lets id do verb on
// resource in namespace: a binding takes effect once the authorizer's
// cache has seen it, a moment after it is written.
func (s *Server) WaitAllowed(id *Identity, ra authorizationv1.ResourceAttributes) {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := id.Client.AuthorizationV1().SelfSubjectAccessReviews().Create(context.Background(),
			&authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &ra}}, metav1.CreateOptions{})
		if err == nil && r.Status.Allowed {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("still not allowed to %s %s in %q: %v %+v", ra.Verb, ra.Resource, ra.Namespace, err, r)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
