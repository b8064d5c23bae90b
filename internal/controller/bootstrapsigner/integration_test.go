package bootstrapsigner_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kemudi/kemudi/internal/auth/bootstrap"
	"github.com/kemudi/kemudi/internal/cluster"
	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/controller/bootstrapsigner"
	"github.com/kemudi/kemudi/internal/controller/controllertest"
	"github.com/kemudi/kemudi/internal/controller/manager"
)

// startSigning starts a server that advertises the address its tests
// reach it at, and the bootstrap signer as its service account.
func startSigning(t *testing.T) *clustertest.Server {
	s := clustertest.Start(t, func(o *cluster.ServerOptions) { o.AdvertiseAddress = "127.0.0.1" })
	s.RunControllerManager(func(o *manager.Options) {
		o.LeaderElect = false
		o.Controllers = []string{bootstrapsigner.Name}
	})
	return s
}

func createToken(t *testing.T, client kubernetes.Interface, tok bootstrap.Token, o bootstrap.SecretOptions) {
	t.Helper()
	if _, err := client.CoreV1().Secrets(bootstrap.Namespace).Create(context.Background(), bootstrap.SecretFor(tok, o), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create token %s: %v", tok.ID, err)
	}
}

// waitSignature waits until cluster-info, read by client, holds (or no
// longer holds, want false) a signature of token id, and returns the
// ConfigMap.
func waitSignature(t *testing.T, client kubernetes.Interface, id string, want bool) *corev1.ConfigMap {
	t.Helper()
	var cm *corev1.ConfigMap
	what := "jws-kubeconfig-" + id + " in cluster-info"
	if !want {
		what += " gone"
	}
	controllertest.WaitFor(t, what, 20*time.Second, func(ctx context.Context) (bool, error) {
		var err error
		cm, err = client.CoreV1().ConfigMaps(metav1.NamespacePublic).Get(ctx, bootstrap.ClusterInfoName, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		_, ok := cm.Data[bootstrap.JWSKeyPrefix+id]
		return ok == want, nil
	})
	return cm
}

// TestSignsClusterInfo: a token that may sign gets its signature in
// cluster-info, verifiable with the token; one that may only
// authenticate does not; the signature goes when the token is deleted
// or expires (without the token cleaner running).
func TestSignsClusterInfo(t *testing.T) {
	s := startSigning(t)
	ctx := context.Background()
	authOnly := bootstrap.Token{ID: "aaaaaa", Secret: "0123456789abcdef"}
	signer := bootstrap.Token{ID: "bbbbbb", Secret: "abcdef0123456789"}
	createToken(t, s.Client, authOnly, bootstrap.SecretOptions{})
	createToken(t, s.Client, signer, bootstrap.SecretOptions{Signing: true})

	cm := waitSignature(t, s.Client, signer.ID, true)
	content := cm.Data[bootstrap.KeyKubeconfig]
	// The server's own join token signs, as kubeadm's default token.
	data, err := os.ReadFile(filepath.Join(s.DataDir, cluster.NodeTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	jt, err := cluster.ParseJoinToken(string(data))
	if err != nil {
		t.Fatal(err)
	}
	if !bootstrap.VerifyDetached(cm.Data[bootstrap.JWSKeyPrefix+jt.Token.ID], content, jt.Token) {
		t.Errorf("the node token's signature %q does not verify", cm.Data[bootstrap.JWSKeyPrefix+jt.Token.ID])
	}
	if !bootstrap.VerifyDetached(cm.Data[bootstrap.JWSKeyPrefix+signer.ID], content, signer) {
		t.Errorf("signature of %s does not verify with the token", signer.ID)
	}
	if bootstrap.VerifyDetached(cm.Data[bootstrap.JWSKeyPrefix+signer.ID], content, bootstrap.Token{ID: signer.ID, Secret: authOnly.Secret}) {
		t.Error("signature verifies with another secret")
	}
	if _, ok := cm.Data[bootstrap.JWSKeyPrefix+authOnly.ID]; ok {
		t.Errorf("token %s without usage-bootstrap-signing signed cluster-info", authOnly.ID)
	}

	// A token that expires in a moment: signed, then unsigned at its
	// expiry, though nothing deletes it.
	soon := time.Now().Add(3 * time.Second)
	short := bootstrap.Token{ID: "cccccc", Secret: "0123456789abcdef"}
	createToken(t, s.Client, short, bootstrap.SecretOptions{Signing: true, Expires: &soon})
	waitSignature(t, s.Client, short.ID, true)
	waitSignature(t, s.Client, short.ID, false)
	if _, err := s.Client.CoreV1().Secrets(bootstrap.Namespace).Get(ctx, bootstrap.SecretPrefix+short.ID, metav1.GetOptions{}); err != nil {
		t.Fatalf("the expired token is gone, so the test proves nothing: %v", err)
	}

	if err := s.Client.CoreV1().Secrets(bootstrap.Namespace).Delete(ctx, bootstrap.SecretPrefix+signer.ID, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	cm = waitSignature(t, s.Client, signer.ID, false)
	if cm.Data[bootstrap.KeyKubeconfig] != content {
		t.Error("the kubeconfig changed while signing")
	}
}

// anonymousReaders are the ways to read as system:anonymous: admin's
// client impersonating it, and a client with no credentials that does
// not know the CA yet (kubeadm join's first read, before it trusts
// anything; the API server takes it for system:anonymous).
func anonymousReaders(s *clustertest.Server) map[string]kubernetes.Interface {
	impersonating := rest.CopyConfig(s.Config)
	impersonating.Impersonate = rest.ImpersonationConfig{UserName: "system:anonymous", Groups: []string{"system:unauthenticated"}}
	bare := &rest.Config{Host: s.URL, TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
	return map[string]kubernetes.Interface{
		"impersonated":   kubernetes.NewForConfigOrDie(impersonating),
		"no credentials": kubernetes.NewForConfigOrDie(bare),
	}
}

// TestTokenDiscovery is kubeadm join's token discovery: without a
// credential a node reads cluster-info, trusts its kubeconfig because its
// token signed it, and reaches the API with the CA and address it names.
// Anonymous may read cluster-info and nothing else in kube-public.
func TestTokenDiscovery(t *testing.T) {
	s := startSigning(t)
	ctx := context.Background()
	tok := bootstrap.Token{ID: "abcdef", Secret: "0123456789abcdef"}
	createToken(t, s.Client, tok, bootstrap.SecretOptions{Signing: true})
	if _, err := s.Client.CoreV1().ConfigMaps(metav1.NamespacePublic).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "other"}, Data: map[string]string{"a": "b"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for name, anon := range anonymousReaders(s) {
		t.Run(name, func(t *testing.T) {
			cm := waitSignature(t, anon, tok.ID, true)
			content := cm.Data[bootstrap.KeyKubeconfig]
			if !bootstrap.VerifyDetached(cm.Data[bootstrap.JWSKeyPrefix+tok.ID], content, tok) {
				t.Fatal("cluster-info's signature does not verify with the join token")
			}
			kc, err := clientcmd.Load([]byte(content))
			if err != nil {
				t.Fatalf("cluster-info's kubeconfig: %v", err)
			}
			c := kc.Clusters[""]
			if len(kc.Clusters) != 1 || c == nil || c.Server != s.URL || string(c.CertificateAuthorityData) != string(s.PKI.CAPEM()) {
				t.Fatalf("cluster-info names %+v, want one cluster at %s with the cluster CA", kc.Clusters, s.URL)
			}
			if len(kc.AuthInfos) != 0 {
				t.Errorf("cluster-info holds users: %v", kc.AuthInfos)
			}
			node := kubernetes.NewForConfigOrDie(&rest.Config{
				Host: c.Server, BearerToken: tok.String(),
				TLSClientConfig: rest.TLSClientConfig{CAData: c.CertificateAuthorityData},
			})
			review, err := node.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
			if err != nil {
				t.Fatalf("reach the API with cluster-info's CA and the token: %v", err)
			}
			if u := review.Status.UserInfo; u.Username != "system:bootstrap:"+tok.ID || !slices.Contains(u.Groups, "system:bootstrappers") {
				t.Errorf("token authenticates as %q %v", u.Username, u.Groups)
			}

			refused := map[string]func() error{
				"get another configmap": func() error {
					_, err := anon.CoreV1().ConfigMaps(metav1.NamespacePublic).Get(ctx, "other", metav1.GetOptions{})
					return err
				},
				"list configmaps": func() error {
					_, err := anon.CoreV1().ConfigMaps(metav1.NamespacePublic).List(ctx, metav1.ListOptions{})
					return err
				},
				"update cluster-info": func() error {
					_, err := anon.CoreV1().ConfigMaps(metav1.NamespacePublic).Update(ctx, cm, metav1.UpdateOptions{})
					return err
				},
			}
			for what, do := range refused {
				if err := do(); !apierrors.IsForbidden(err) {
					t.Errorf("anonymous may %s: %v, want Forbidden", what, err)
				}
			}
		})
	}
}
