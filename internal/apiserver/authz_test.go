package apiserver_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/controller/clusterroleaggregation"
	"github.com/kemudi/kemudi/internal/controller/manager"
)

const authzNS = "team"

// authzFixture is a server with the identities of the matrix: an admin
// (system:masters), an editor (a service account bound to the edit
// cluster role in team), a viewer (a user bound to view in team), a
// service account with no binding, and an anonymous client.
type authzFixture struct {
	s          *clustertest.Server
	identities map[string]*clustertest.Identity
}

func newAuthzFixture(t *testing.T) *authzFixture {
	s := clustertest.Start(t)
	// admin, edit and view are filled by aggregation.
	s.RunControllerManager(func(o *manager.Options) {
		o.Controllers = []string{clusterroleaggregation.Name}
		o.LeaderElect = false
	})
	ctx := context.Background()
	if _, err := s.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: authzNS}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f := &authzFixture{s: s, identities: map[string]*clustertest.Identity{
		"admin":     s.UserIdentity("root", "system:masters"),
		"editor":    s.ServiceAccountIdentity(authzNS, "editor"),
		"viewer":    s.UserIdentity("vera"),
		"unbound":   s.ServiceAccountIdentity(authzNS, "ci"),
		"anonymous": s.AnonymousIdentity(),
	}}
	bind := func(name, role string, subject rbacv1.Subject) {
		rb := &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
			Subjects:   []rbacv1.Subject{subject},
		}
		if _, err := s.Client.RbacV1().RoleBindings(authzNS).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	bind("editor", "edit", rbacv1.Subject{Kind: "ServiceAccount", Name: "editor", Namespace: authzNS})
	bind("viewer", "view", rbacv1.Subject{Kind: "User", APIGroup: rbacv1.GroupName, Name: "vera"})
	s.WaitAllowed(f.identities["editor"], authorizationv1.ResourceAttributes{Namespace: authzNS, Verb: "create", Resource: "pods"})
	s.WaitAllowed(f.identities["viewer"], authorizationv1.ResourceAttributes{Namespace: authzNS, Verb: "list", Resource: "pods"})
	return f
}

// An operation is one cell's request, made as an identity.
type operation struct {
	verb string
	do   func(ctx context.Context, c kubernetes.Interface) error
}

func pod(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: authzNS, Labels: map[string]string{"cell": "1"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
}

func TestAuthorizationMatrix(t *testing.T) {
	f := newAuthzFixture(t)
	ctx := context.Background()
	admin := f.s.Client
	// Objects every cell may read or change; each cell that writes gets
	// its own copy, created by the admin.
	seed := func(name string) {
		t.Helper()
		if _, err := admin.CoreV1().Pods(authzNS).Create(ctx, pod(name), metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		if _, err := admin.CoreV1().Secrets(authzNS).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, StringData: map[string]string{"k": "v"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	replicas := int32(1)
	if _, err := admin.AppsV1().Deployments(authzNS).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}, Spec: pod("x").Spec},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	type resource struct {
		name string
		// ops by verb; each op names the object it touches with n.
		ops func(n string) []operation
		// exists reports whether the object n is stored, and a version
		// of it that changes on every write.
		state func(n string) string
	}
	podState := func(n string) string {
		p, err := admin.CoreV1().Pods(authzNS).Get(ctx, n, metav1.GetOptions{})
		if err != nil {
			return "absent"
		}
		return p.ResourceVersion
	}
	secretState := func(n string) string {
		p, err := admin.CoreV1().Secrets(authzNS).Get(ctx, n, metav1.GetOptions{})
		if err != nil {
			return "absent"
		}
		return p.ResourceVersion
	}
	resources := []resource{
		{name: "pods", state: podState, ops: func(n string) []operation {
			return []operation{
				{"get", func(ctx context.Context, c kubernetes.Interface) error {
					_, err := c.CoreV1().Pods(authzNS).Get(ctx, n, metav1.GetOptions{})
					return err
				}},
				{"list", func(ctx context.Context, c kubernetes.Interface) error {
					_, err := c.CoreV1().Pods(authzNS).List(ctx, metav1.ListOptions{})
					return err
				}},
				{"watch", func(ctx context.Context, c kubernetes.Interface) error {
					w, err := c.CoreV1().Pods(authzNS).Watch(ctx, metav1.ListOptions{})
					if err == nil {
						w.Stop()
					}
					return err
				}},
				{"create", func(ctx context.Context, c kubernetes.Interface) error {
					_, err := c.CoreV1().Pods(authzNS).Create(ctx, pod(n+"-new"), metav1.CreateOptions{})
					return err
				}},
				{"update", func(ctx context.Context, c kubernetes.Interface) error {
					p, err := admin.CoreV1().Pods(authzNS).Get(ctx, n, metav1.GetOptions{})
					if err != nil {
						return err
					}
					p.Labels["changed"] = "yes"
					_, err = c.CoreV1().Pods(authzNS).Update(ctx, p, metav1.UpdateOptions{})
					return err
				}},
				{"patch", func(ctx context.Context, c kubernetes.Interface) error {
					_, err := c.CoreV1().Pods(authzNS).Patch(ctx, n, types.MergePatchType, []byte(`{"metadata":{"labels":{"patched":"yes"}}}`), metav1.PatchOptions{})
					return err
				}},
				{"delete", func(ctx context.Context, c kubernetes.Interface) error {
					return c.CoreV1().Pods(authzNS).Delete(ctx, n, metav1.DeleteOptions{})
				}},
				{"deletecollection", func(ctx context.Context, c kubernetes.Interface) error {
					return c.CoreV1().Pods(authzNS).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{FieldSelector: "metadata.name=" + n})
				}},
				// A subresource: view may read a pod's status, no one but
				// the admin may write it.
				{"get-status", func(ctx context.Context, c kubernetes.Interface) error {
					return c.CoreV1().RESTClient().Get().Namespace(authzNS).Resource("pods").Name(n).SubResource("status").Do(ctx).Error()
				}},
				{"update-status", func(ctx context.Context, c kubernetes.Interface) error {
					p, err := admin.CoreV1().Pods(authzNS).Get(ctx, n, metav1.GetOptions{})
					if err != nil {
						return err
					}
					p.Status.Message = "changed"
					_, err = c.CoreV1().Pods(authzNS).UpdateStatus(ctx, p, metav1.UpdateOptions{})
					return err
				}},
			}
		}},
		{name: "secrets", state: secretState, ops: func(n string) []operation {
			return []operation{
				{"get", func(ctx context.Context, c kubernetes.Interface) error {
					_, err := c.CoreV1().Secrets(authzNS).Get(ctx, n, metav1.GetOptions{})
					return err
				}},
				{"list", func(ctx context.Context, c kubernetes.Interface) error {
					_, err := c.CoreV1().Secrets(authzNS).List(ctx, metav1.ListOptions{})
					return err
				}},
				{"patch", func(ctx context.Context, c kubernetes.Interface) error {
					_, err := c.CoreV1().Secrets(authzNS).Patch(ctx, n, types.MergePatchType, []byte(`{"stringData":{"k":"changed"}}`), metav1.PatchOptions{})
					return err
				}},
				{"delete", func(ctx context.Context, c kubernetes.Interface) error {
					return c.CoreV1().Secrets(authzNS).Delete(ctx, n, metav1.DeleteOptions{})
				}},
			}
		}},
		{name: "deployments/scale", state: func(string) string {
			d, err := admin.AppsV1().Deployments(authzNS).Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				return "absent"
			}
			return d.ResourceVersion
		}, ops: func(string) []operation {
			return []operation{
				{"get", func(ctx context.Context, c kubernetes.Interface) error {
					_, err := c.AppsV1().Deployments(authzNS).GetScale(ctx, "web", metav1.GetOptions{})
					return err
				}},
				{"update", func(ctx context.Context, c kubernetes.Interface) error {
					sc, err := admin.AppsV1().Deployments(authzNS).GetScale(ctx, "web", metav1.GetOptions{})
					if err != nil {
						return err
					}
					sc.Spec.Replicas++
					_, err = c.AppsV1().Deployments(authzNS).UpdateScale(ctx, "web", &autoscalingv1.Scale{ObjectMeta: sc.ObjectMeta, Spec: sc.Spec}, metav1.UpdateOptions{})
					return err
				}},
			}
		}},
		// Cluster-scoped: a binding in team lets one read the namespace
		// team itself, nothing else at the cluster scope.
		{name: "namespaces", state: func(string) string { return "" }, ops: func(string) []operation {
			return []operation{
				{"get", func(ctx context.Context, c kubernetes.Interface) error {
					_, err := c.CoreV1().Namespaces().Get(ctx, authzNS, metav1.GetOptions{})
					return err
				}},
				{"list", func(ctx context.Context, c kubernetes.Interface) error {
					_, err := c.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
					return err
				}},
			}
		}},
		{name: "nodes", state: func(string) string { return "" }, ops: func(string) []operation {
			return []operation{
				{"list", func(ctx context.Context, c kubernetes.Interface) error {
					_, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
					return err
				}},
				{"create", func(ctx context.Context, c kubernetes.Interface) error {
					_, err := c.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "authz-node"}}, metav1.CreateOptions{})
					if err == nil {
						_ = admin.CoreV1().Nodes().Delete(ctx, "authz-node", metav1.DeleteOptions{})
					}
					return err
				}},
			}
		}},
		{name: "clusterroles", state: func(string) string { return "" }, ops: func(string) []operation {
			return []operation{
				{"list", func(ctx context.Context, c kubernetes.Interface) error {
					_, err := c.RbacV1().ClusterRoles().List(ctx, metav1.ListOptions{})
					return err
				}},
			}
		}},
	}
	// What upstream's default roles allow (edit ⊃ view), cell by cell.
	all := []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "get-status", "update-status"}
	allowed := map[string]map[string][]string{
		"admin": {"pods": all, "secrets": {"get", "list", "patch", "delete"}, "deployments/scale": {"get", "update"}, "namespaces": {"get", "list"}, "nodes": {"list", "create"}, "clusterroles": {"list"}},
		"editor": {"pods": {"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "get-status"},
			"secrets": {"get", "list", "patch", "delete"}, "deployments/scale": {"get", "update"}, "namespaces": {"get"}},
		"viewer":    {"pods": {"get", "list", "watch", "get-status"}, "deployments/scale": {"get"}, "namespaces": {"get"}},
		"unbound":   {},
		"anonymous": {},
	}
	users := map[string]string{"editor": "system:serviceaccount:team:editor", "viewer": "vera", "unbound": "system:serviceaccount:team:ci"}

	cell := 0
	for _, who := range []string{"admin", "editor", "viewer", "unbound", "anonymous"} {
		id := f.identities[who]
		for _, res := range resources {
			for _, op := range res.ops("x") {
				cell++
				name := fmt.Sprintf("c%d", cell)
				t.Run(who+"/"+res.name+"/"+op.verb, func(t *testing.T) {
					seed(name)
					var target operation
					for _, o := range res.ops(name) {
						if o.verb == op.verb {
							target = o
						}
					}
					before := res.state(name)
					err := target.do(ctx, id.Client)
					want := slices.Contains(allowed[who][res.name], op.verb)
					switch {
					case who == "anonymous":
						if !apierrors.IsUnauthorized(err) {
							t.Fatalf("anonymous: want 401, got %v", err)
						}
					case want && err != nil:
						t.Fatalf("want allowed, got %v", err)
					case !want && !apierrors.IsForbidden(err):
						t.Fatalf("want 403, got %v", err)
					case !want:
						checkForbiddenMessage(t, err, users[who], res.name, op.verb)
					}
					if !want {
						if after := res.state(name); after != before {
							t.Errorf("refused %s changed the store: %s -> %s", op.verb, before, after)
						}
						if op.verb == "create" {
							if _, err := admin.CoreV1().Pods(authzNS).Get(ctx, name+"-new", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
								t.Errorf("refused create stored a pod: %v", err)
							}
						}
					}
				})
			}
		}
	}
}

// checkForbiddenMessage checks upstream's wording for the cells whose
// request is easy to name.
func checkForbiddenMessage(t *testing.T, err error, user, resource, verb string) {
	t.Helper()
	var se *apierrors.StatusError
	if !errors.As(err, &se) {
		t.Fatalf("not a status: %v", err)
	}
	msg := se.ErrStatus.Message
	if !strings.Contains(msg, fmt.Sprintf("User %q cannot ", user)) {
		t.Errorf("message %q does not name the user %q", msg, user)
	}
	if resource == "pods" && verb == "list" {
		want := `pods is forbidden: User "` + user + `" cannot list resource "pods" in API group "" in the namespace "team"`
		if msg != want {
			t.Errorf("message\n%q, want\n%q", msg, want)
		}
	}
	if resource == "nodes" && verb == "list" {
		want := `nodes is forbidden: User "` + user + `" cannot list resource "nodes" in API group "" at the cluster scope`
		if msg != want {
			t.Errorf("message\n%q, want\n%q", msg, want)
		}
	}
}
