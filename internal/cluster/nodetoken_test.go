package cluster_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kemudi/kemudi/internal/cluster"
	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// TestNodeToken: the server writes a join token at first start that
// pins its CA and authenticates as a bootstrap token, which may ask for
// certificates and nothing else; a wrong token gets 401.
func TestNodeToken(t *testing.T) {
	s := clustertest.Start(t)
	data, err := os.ReadFile(filepath.Join(s.DataDir, cluster.NodeTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	jt, err := cluster.ParseJoinToken(string(data))
	if err != nil {
		t.Fatal(err)
	}
	if jt.CAHash != cluster.CAHash(s.PKI.CA) {
		t.Fatalf("token pins %s, CA is %s", jt.CAHash, cluster.CAHash(s.PKI.CA))
	}
	ctx := context.Background()
	as := func(token string) kubernetes.Interface {
		cfg := rest.AnonymousClientConfig(s.Config)
		cfg.BearerToken = token
		return kubernetes.NewForConfigOrDie(cfg)
	}
	review, err := as(jt.Token.String()).AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("whoami with the node token: %v", err)
	}
	u := review.Status.UserInfo
	if u.Username != "system:bootstrap:"+jt.Token.ID || !slices.Contains(u.Groups, "system:bootstrappers") || !slices.Contains(u.Groups, cluster.NodeTokenGroup) {
		t.Errorf("node token is %q in %v", u.Username, u.Groups)
	}
	if _, err := as(jt.Token.String()).CertificatesV1().CertificateSigningRequests().List(ctx, metav1.ListOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("a bootstrap token may list CSRs: %v", err)
	}
	_, err = as(jt.Token.String()).CoreV1().Secrets("kube-system").List(ctx, metav1.ListOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `User "system:bootstrap:`+jt.Token.ID+`" cannot list resource "secrets"`) {
		t.Errorf("a bootstrap token lists secrets: %v", err)
	}
	wrong := jt.Token
	wrong.Secret = strings.Repeat("x", 16)
	if _, err := as(wrong.String()).CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); !apierrors.IsUnauthorized(err) {
		t.Errorf("a wrong token: %v, want 401", err)
	}

	// A restart keeps the token.
	s.Restart()
	again, _ := os.ReadFile(filepath.Join(s.DataDir, cluster.NodeTokenFile))
	if string(again) != string(data) {
		t.Errorf("token changed on restart: %q -> %q", data, again)
	}
}

func TestParseJoinToken(t *testing.T) {
	hash := strings.Repeat("ab", 32)
	for _, tt := range []struct {
		in, err string
	}{
		{"K10" + hash + "::abcdef.0123456789abcdef\n", ""},
		{"abcdef.0123456789abcdef", "not K10"},
		{"K10abc::abcdef.0123456789abcdef", "64 hex digits"},
		{"K10" + hash + "::abcdef.short", "does not match"},
	} {
		_, err := cluster.ParseJoinToken(tt.in)
		if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("%q: %v, want %q", tt.in, err, tt.err)
		}
	}
}
