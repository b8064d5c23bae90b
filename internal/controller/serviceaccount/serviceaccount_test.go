package serviceaccount_test

import (
	"context"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/controller/manager"
)

func until(t *testing.T, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 30*time.Second, true, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// asToken is a client that authenticates with a bearer token only.
func asToken(t *testing.T, s *clustertest.Server, token string) kubernetes.Interface {
	t.Helper()
	cfg := rest.AnonymousClientConfig(s.Config)
	cfg.BearerToken = token
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNamespaceGetsAccountAndCA(t *testing.T) {
	s := clustertest.Start(t)
	s.RunControllerManager(func(o *manager.Options) {
		o.Controllers = []string{"serviceaccount", "serviceaccount-token", "root-ca-cert-publisher"}
	})
	ctx := context.Background()
	c := s.Client

	s.MustKubectl("create", "namespace", "team-a")
	until(t, "the default service account and the root CA", func(ctx context.Context) (bool, error) {
		_, err := c.CoreV1().ServiceAccounts("team-a").Get(ctx, "default", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		cm, err := c.CoreV1().ConfigMaps("team-a").Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		if cm.Data["ca.crt"] != string(s.PKI.CAPEM()) || !strings.HasPrefix(cm.Annotations["kubernetes.io/description"], "Contains a CA bundle") {
			t.Errorf("kube-root-ca.crt = %+v", cm)
		}
		return true, nil
	})
	out := s.MustKubectl("get", "serviceaccounts", "-n", "team-a")
	if !strings.Contains(out, "default") {
		t.Errorf("kubectl get sa:\n%s", out)
	}
	// Every system namespace has them too.
	for _, ns := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
		until(t, "the account of "+ns, func(ctx context.Context) (bool, error) {
			_, err := c.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
			return err == nil, nil
		})
	}

	// Deleted, they come back.
	if err := c.CoreV1().ServiceAccounts("team-a").Delete(ctx, "default", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.CoreV1().ConfigMaps("team-a").Delete(ctx, "kube-root-ca.crt", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	until(t, "the account and CA recreated", func(ctx context.Context) (bool, error) {
		_, err1 := c.CoreV1().ServiceAccounts("team-a").Get(ctx, "default", metav1.GetOptions{})
		_, err2 := c.CoreV1().ConfigMaps("team-a").Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
		return err1 == nil && err2 == nil, nil
	})
	// An edited CA is put back.
	cm, err := c.CoreV1().ConfigMaps("team-a").Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data["ca.crt"] = "tampered"
	if _, err := c.CoreV1().ConfigMaps("team-a").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	until(t, "the CA restored", func(ctx context.Context) (bool, error) {
		cm, err := c.CoreV1().ConfigMaps("team-a").Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
		return err == nil && cm.Data["ca.crt"] == string(s.PKI.CAPEM()), nil
	})
}

func TestPodServiceAccountToken(t *testing.T) {
	s := clustertest.Start(t)
	s.RunControllerManager(func(o *manager.Options) {
		o.Controllers = []string{"serviceaccount", "serviceaccount-token", "root-ca-cert-publisher"}
	})
	ctx := context.Background()
	c := s.Client
	s.MustKubectl("create", "namespace", "team-a")
	until(t, "the default service account", func(ctx context.Context) (bool, error) {
		_, err := c.CoreV1().ServiceAccounts("team-a").Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})

	// A pod runs as the default account, its token mounted.
	s.MustKubectl("run", "app", "-n", "team-a", "--image=busybox", "--restart=Never")
	pod, err := c.CoreV1().Pods("team-a").Get(ctx, "app", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pod.Spec.ServiceAccountName != "default" {
		t.Errorf("serviceAccountName = %q", pod.Spec.ServiceAccountName)
	}
	var vol *corev1.Volume
	for i, v := range pod.Spec.Volumes {
		if strings.HasPrefix(v.Name, "kube-api-access-") && len(v.Name) == len("kube-api-access-")+5 {
			vol = &pod.Spec.Volumes[i]
		}
	}
	if vol == nil || vol.Projected == nil || len(vol.Projected.Sources) != 3 || vol.Projected.Sources[0].ServiceAccountToken == nil ||
		*vol.Projected.Sources[0].ServiceAccountToken.ExpirationSeconds != 3607 || vol.Projected.Sources[1].ConfigMap.Name != "kube-root-ca.crt" {
		t.Fatalf("token volume = %+v", pod.Spec.Volumes)
	}
	m := pod.Spec.Containers[0].VolumeMounts
	if len(m) != 1 || m[0].Name != vol.Name || m[0].MountPath != "/var/run/secrets/kubernetes.io/serviceaccount" || !m[0].ReadOnly {
		t.Errorf("mounts = %+v", m)
	}

	// A token bound to the pod (as the kubelet asks for one) works while
	// the pod exists, with what RBAC grants the account: view in team-a.
	if _, err := c.RbacV1().RoleBindings("team-a").Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "default-view"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:aggregate-to-view"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "default", Namespace: "team-a"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tr, err := c.CoreV1().ServiceAccounts("team-a").CreateToken(ctx, "default", &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "app", UID: pod.UID},
	}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	asPod := asToken(t, s, tr.Status.Token)
	until(t, "the pod's token to list pods once the binding is seen", func(ctx context.Context) (bool, error) {
		list, err := asPod.CoreV1().Pods("team-a").List(ctx, metav1.ListOptions{})
		if apierrors.IsForbidden(err) {
			return false, nil
		}
		return err == nil && len(list.Items) == 1, err
	})
	if err := c.CoreV1().Pods("team-a").Delete(ctx, "app", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	until(t, "the token of a deleted pod to be refused", func(ctx context.Context) (bool, error) {
		_, err := asPod.CoreV1().Pods("team-a").List(ctx, metav1.ListOptions{})
		return apierrors.IsUnauthorized(err), nil
	})

	// A pod naming an account that does not exist is refused.
	_, err = s.Kubectl("run", "ghost", "-n", "team-a", "--image=busybox", "--overrides", `{"spec":{"serviceAccountName":"nobody"}}`)
	if err == nil || !strings.Contains(err.Error(), `error looking up service account team-a/nobody: serviceaccount "nobody" not found`) {
		t.Errorf("pod of a missing account: %v", err)
	}

	// A legacy token secret is filled in, and its token works until the
	// secret goes.
	if _, err := c.CoreV1().Secrets("team-a").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "legacy", Annotations: map[string]string{corev1.ServiceAccountNameKey: "default"}},
		Type:       corev1.SecretTypeServiceAccountToken,
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var secret *corev1.Secret
	until(t, "the token secret filled in", func(ctx context.Context) (bool, error) {
		secret, err = c.CoreV1().Secrets("team-a").Get(ctx, "legacy", metav1.GetOptions{})
		return err == nil && len(secret.Data["token"]) > 0, nil
	})
	if string(secret.Data["namespace"]) != "team-a" || string(secret.Data["ca.crt"]) != string(s.PKI.CAPEM()) || secret.Annotations[corev1.ServiceAccountUIDKey] == "" {
		t.Errorf("secret = %+v", secret)
	}
	out := s.MustKubectl("describe", "secret", "legacy", "-n", "team-a")
	if !strings.Contains(out, "token:") || !strings.Contains(out, "kubernetes.io/service-account-token") {
		t.Errorf("kubectl describe secret:\n%s", out)
	}
	asSecret := asToken(t, s, string(secret.Data["token"]))
	if _, err := asSecret.CoreV1().ConfigMaps("team-a").List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatalf("list with the secret's token: %v", err)
	}
	if err := c.CoreV1().Secrets("team-a").Delete(ctx, "legacy", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := asSecret.CoreV1().ConfigMaps("team-a").List(ctx, metav1.ListOptions{}); !apierrors.IsUnauthorized(err) {
		t.Errorf("token of a deleted secret: %v", err)
	}

	// A token secret of a missing account is deleted.
	if _, err := c.CoreV1().Secrets("team-a").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "orphan", Annotations: map[string]string{corev1.ServiceAccountNameKey: "nobody"}},
		Type:       corev1.SecretTypeServiceAccountToken,
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	until(t, "the orphan token secret deleted", func(ctx context.Context) (bool, error) {
		_, err := c.CoreV1().Secrets("team-a").Get(ctx, "orphan", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
}
