package clustertest

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kemudi/kemudi/internal/auth/bootstrap"
)

// NodeIdentity returns the identity of the kubelet of node name:
// system:node:<name> in system:nodes, with a client certificate, as a
// kubelet authenticates once bootstrapped.
func (s *Server) NodeIdentity(name string) *Identity {
	s.t.Helper()
	return s.UserIdentity("system:node:"+name, "system:nodes")
}

// BootstrapTokenIdentity creates the Secret that makes token a bootstrap
// token, as o says (an expiry in the past makes a token the server must
// refuse), and returns an identity using it: system:bootstrap:<id> in
// system:bootstrappers and o.ExtraGroups.
func (s *Server) BootstrapTokenIdentity(token bootstrap.Token, o bootstrap.SecretOptions) *Identity {
	s.t.Helper()
	secret := bootstrap.SecretFor(token, o)
	if _, err := s.Client.CoreV1().Secrets(metav1.NamespaceSystem).Create(context.Background(), secret, metav1.CreateOptions{}); err != nil {
		s.t.Fatalf("create bootstrap token %s: %v", token.ID, err)
	}
	return s.identity("bootstrap-"+token.ID, &clientcmdapi.AuthInfo{Token: token.String()})
}

// TokenIdentity returns an identity sending token as its bearer token,
// whatever it is (tests of tokens the server must refuse).
func (s *Server) TokenIdentity(name, token string) *Identity {
	s.t.Helper()
	return s.identity(name, &clientcmdapi.AuthInfo{Token: token})
}
