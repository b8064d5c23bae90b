package cluster

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/apiserver"
	"github.com/kemudi/kemudi/internal/auth/bootstrap"
	"github.com/kemudi/kemudi/internal/storage"
)

// NodeTokenFile is the file in the server's data dir that lets a machine
// join: `kemudi agent --server URL --token-file <data-dir>/node-token`.
const NodeTokenFile = "node-token"

// joinTokenPrefix starts a join token, as k3s's secure token format:
// K10<CA hash>::<bootstrap token>.
const joinTokenPrefix = "K10"

// JoinToken is what a node needs to join: a bootstrap token, and the hash
// of the cluster CA's public key so that the node trusts the server it
// first talks to only if it holds that CA (upstream kubeadm's
// --discovery-token-ca-cert-hash, in k3s's K10 token format).
type JoinToken struct {
	// CAHash is the hex SHA-256 of the CA certificate's
	// SubjectPublicKeyInfo (kubeadm's hash, without "sha256:").
	CAHash string
	Token  bootstrap.Token
}

// String is the token as written in the token file.
func (j JoinToken) String() string {
	return joinTokenPrefix + j.CAHash + "::" + j.Token.String()
}

// ParseJoinToken reads K10<hash>::<id>.<secret>.
func ParseJoinToken(s string) (JoinToken, error) {
	s = strings.TrimSpace(s)
	rest, ok := strings.CutPrefix(s, joinTokenPrefix)
	hash, tok, found := strings.Cut(rest, "::")
	if !ok || !found {
		return JoinToken{}, errors.New("join token is not K10<CA hash>::<id>.<secret>")
	}
	if b, err := hex.DecodeString(hash); err != nil || len(b) != sha256.Size {
		return JoinToken{}, errors.New("join token: the CA hash is not 64 hex digits (SHA-256)")
	}
	t, err := bootstrap.ParseToken(tok)
	if err != nil {
		return JoinToken{}, fmt.Errorf("join token: %w", err)
	}
	return JoinToken{CAHash: strings.ToLower(hash), Token: t}, nil
}

// CAHash is the hash of a CA certificate's public key a join token pins.
func CAHash(ca *x509.Certificate) string {
	sum := sha256.Sum256(ca.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(sum[:])
}

// ensureNodeToken reads the server's join token from the data dir,
// creating it on first start, and makes sure its Secret and the policy
// that lets bootstrapping nodes ask for certificates exist.
func ensureNodeToken(ctx context.Context, api *apiserver.Server, dataDir string, pki *PKI) (string, error) {
	path := filepath.Join(dataDir, NodeTokenFile)
	var jt JoinToken
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if jt, err = ParseJoinToken(string(data)); err != nil {
			return "", fmt.Errorf("%s: %w", path, err)
		}
		if jt.CAHash != CAHash(pki.CA) {
			return "", fmt.Errorf("%s pins another CA than %s: remove it to make a new one", path, filepath.Join(pki.Dir, "ca.crt"))
		}
	case errors.Is(err, os.ErrNotExist):
		t, err := bootstrap.NewToken()
		if err != nil {
			return "", err
		}
		jt = JoinToken{CAHash: CAHash(pki.CA), Token: t}
		if err := os.WriteFile(path, []byte(jt.String()+"\n"), 0o600); err != nil {
			return "", fmt.Errorf("write %s: %w", path, err)
		}
	default:
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	// Signing too, as kubeadm's default token: a node can also trust
	// cluster-info by it (token discovery).
	secret := bootstrap.SecretFor(jt.Token, bootstrap.SecretOptions{
		Description: "kemudi node join token (" + path + ")",
		ExtraGroups: []string{NodeTokenGroup},
		Signing:     true,
	})
	objs := append([]runtime.Object{secret}, nodeBootstrapPolicy()...)
	if err := api.EnsureObjects(ctx, objs...); err != nil {
		return "", fmt.Errorf("node token: %w", err)
	}
	return path, nil
}

// NodeTokenGroup is the extra group of the server's join token.
const NodeTokenGroup = "system:bootstrappers:kemudi:default-node-token"

// nodeBootstrapPolicy is what kubeadm creates for TLS bootstrapping:
// bootstrap tokens may create and read CSRs, their node client CSRs are
// approved, and nodes' renewals of their own client certificates too.
// Beyond kubeadm, the certificate controller may approve kubelet-serving
// CSRs: it approves a node's request for its own name and addresses, since
// kemudi's API server checks kubelets' certificates.
func nodeBootstrapPolicy() []runtime.Object {
	bind := func(name, role, kind, subject string) *rbacv1.ClusterRoleBinding {
		return &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/bootstrapping": "rbac-defaults"}},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: kind, Name: subject}},
		}
	}
	return []runtime.Object{
		bind("kemudi:kubelet-bootstrap", "system:node-bootstrapper", rbacv1.GroupKind, bootstrap.Group),
		bind("kemudi:node-autoapprove-bootstrap", "system:certificates.k8s.io:certificatesigningrequests:nodeclient", rbacv1.GroupKind, bootstrap.Group),
		bind("kemudi:node-autoapprove-certificate-rotation", "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", rbacv1.GroupKind, "system:nodes"),
		&rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "kemudi:kubelet-serving-approver", Labels: map[string]string{"kubernetes.io/bootstrapping": "rbac-defaults"}},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:certificates.k8s.io:kubelet-serving-approver"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: metav1.NamespaceSystem, Name: "certificate-controller"}},
		},
	}
}

// bootstrapTokens authenticates bootstrap tokens against the Secrets in
// kube-system, read from the watch cache (etcd when the cache has not seen
// one yet).
func bootstrapTokens(store *storage.Store, log *slog.Logger) apiserver.TokenAuthenticator {
	a := &bootstrap.Authenticator{
		Log: log,
		Get: func(ctx context.Context, name string) (*corev1.Secret, error) {
			key := storage.Prefix + "secrets/" + bootstrap.Namespace + "/" + name
			obj, err := store.Get(ctx, key, "0")
			if storage.HasCode(err, storage.CodeNotFound) {
				obj, err = store.Get(ctx, key, "")
			}
			if err != nil {
				return nil, err
			}
			s, ok := obj.(*corev1.Secret)
			if !ok {
				return nil, fmt.Errorf("%s is a %T", key, obj)
			}
			return s, nil
		},
	}
	return func(token string) (*apiserver.User, bool) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return a.Authenticate(ctx, token)
	}
}

// SigningFiles are the cluster CA's certificate and key, which the
// controller manager signs node certificates with.
func (s *Server) SigningFiles() (certFile, keyFile string) {
	return filepath.Join(s.PKI.Dir, "ca.crt"), filepath.Join(s.PKI.Dir, "ca.key")
}
