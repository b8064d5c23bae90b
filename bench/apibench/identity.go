package apibench

import (
	"context"
	"encoding/pem"
	"fmt"
	"path/filepath"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/keyutil"

	"github.com/kemudi/kemudi/bench/harness"
	"github.com/kemudi/kemudi/internal/cluster"
)

// The identities the create clients can act as.
const (
	// IdentityAdmin is system:admin in system:masters, which
	// authorization lets through before looking at any rule.
	IdentityAdmin = "admin"
	// IdentityRBAC is a user in no privileged group, allowed to create
	// pods only by a Role and RoleBinding in the benchmark's namespace:
	// every create walks the RBAC rules.
	IdentityRBAC = "rbac"
	rbacUser     = "apibench-writer"
)

// identityConfig returns the client config the create clients use: the
// admin's, or a client certificate for rbacUser bound to a role that
// lets it create pods in ns (same transport and TLS work as the admin's,
// so the difference is authorization alone).
func identityConfig(ctx context.Context, srv *harness.Server, admin *client, identity, ns string) (*rest.Config, error) {
	switch identity {
	case "", IdentityAdmin:
		return srv.Config, nil
	case IdentityRBAC:
	default:
		return nil, fmt.Errorf("identity %q is not %q or %q", identity, IdentityAdmin, IdentityRBAC)
	}
	pki, err := cluster.LoadOrCreatePKI(filepath.Join(srv.DataDir, "tls"))
	if err != nil {
		return nil, err
	}
	cert, err := pki.ClientCert("apibench", rbacUser, nil)
	if err != nil {
		return nil, err
	}
	keyPEM, err := keyutil.MarshalPrivateKeyToPEM(cert.PrivateKey)
	if err != nil {
		return nil, err
	}
	rules := []rbacv1.PolicyRule{{Verbs: []string{"create", "get", "list", "watch"}, APIGroups: []string{""}, Resources: []string{"pods"}}}
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "pod-writer"}, Rules: rules}
	if _, err := admin.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create role: %w", err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "pod-writer"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "pod-writer"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: rbacUser}},
	}
	if _, err := admin.RbacV1().RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create role binding: %w", err)
	}
	cfg := rest.AnonymousClientConfig(srv.Config)
	cfg.CertData = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]})
	cfg.KeyData = keyPEM
	return cfg, nil
}

// waitAllowed waits until the server's authorizer has seen the binding
// (it follows RBAC objects through a watch): a dry-run create answers.
func waitAllowed(ctx context.Context, c *client, ns string) error {
	pod := smallPod(ns, "apibench-probe")
	var err error
	for range 500 {
		_, err = c.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err == nil {
			return nil
		}
		if !apierrors.IsForbidden(err) {
			return err
		}
		if err := sleepCtx(ctx, 10*time.Millisecond); err != nil {
			return err
		}
	}
	return fmt.Errorf("the benchmark's identity is still refused: %w", err)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
