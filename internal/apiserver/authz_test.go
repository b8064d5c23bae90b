package apiserver_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/kemudi/kemudi/internal/auth/bootstrap"
	"github.com/kemudi/kemudi/internal/cluster"
	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/controller/clusterroleaggregation"
	"github.com/kemudi/kemudi/internal/controller/manager"
)

const authzNS = "team"

// authzFixture is a server with the identities of the matrix: an admin
// (system:masters), an editor (a service account bound to the edit
// cluster role in team), a viewer (a user bound to view in team), a
// service account with no binding, a bootstrap token (a node's join
// token), a node (node-1's kubelet), an anonymous client, and clients
// whose credentials the server must refuse: an expired bootstrap token,
// a malformed token, a service account token with a forged signature and
// a client certificate from another CA.
type authzFixture struct {
	s          *clustertest.Server
	identities map[string]*clustertest.Identity
}

// matrixNode is the node identity's name; the pod "mine" in team is bound
// to it and mounts the secret "used".
const matrixNode = "node-1"

// refused are the identities whose credentials fail: 401 everywhere.
var refused = []string{"expired-token", "malformed-token", "forged-token", "foreign-cert"}

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
	unbound := s.ServiceAccountIdentity(authzNS, "ci")
	expired := time.Now().Add(-time.Hour)
	f := &authzFixture{s: s, identities: map[string]*clustertest.Identity{
		"admin":   s.UserIdentity("root", "system:masters"),
		"editor":  s.ServiceAccountIdentity(authzNS, "editor"),
		"viewer":  s.UserIdentity("vera"),
		"unbound": unbound,
		"bootstrap": s.BootstrapTokenIdentity(bootstrap.Token{ID: "abcdef", Secret: "0123456789abcdef"},
			bootstrap.SecretOptions{ExtraGroups: []string{cluster.NodeTokenGroup}}),
		"node":      s.NodeIdentity(matrixNode),
		"anonymous": s.AnonymousIdentity(),
		"expired-token": s.BootstrapTokenIdentity(bootstrap.Token{ID: "xpired", Secret: "0123456789abcdef"},
			bootstrap.SecretOptions{Expires: &expired, ExtraGroups: []string{cluster.NodeTokenGroup}}),
		"malformed-token": s.TokenIdentity("malformed", "not-a-token"),
		"forged-token":    s.TokenIdentity("forged", forge(unbound.Config.BearerToken)),
		// A certificate from another CA, though it claims system:masters.
		"foreign-cert": s.ForeignCertIdentity("root", "system:masters"),
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
	// The node's own pod and the secret it mounts: what the node
	// authorizer lets the node read.
	if _, err := s.Client.CoreV1().Secrets(authzNS).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "used"}, StringData: map[string]string{"k": "v"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mine := pod("mine")
	mine.Spec.NodeName = matrixNode
	mine.Spec.Volumes = []corev1.Volume{{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "used"}}}}
	if _, err := s.Client.CoreV1().Pods(authzNS).Create(ctx, mine, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s.WaitAllowed(f.identities["editor"], authorizationv1.ResourceAttributes{Namespace: authzNS, Verb: "create", Resource: "pods"})
	s.WaitAllowed(f.identities["viewer"], authorizationv1.ResourceAttributes{Namespace: authzNS, Verb: "list", Resource: "pods"})
	s.WaitAllowed(f.identities["node"], authorizationv1.ResourceAttributes{Namespace: authzNS, Verb: "get", Resource: "secrets", Name: "used"})
	return f
}

// forge returns token, a JWT, with another signature.
func forge(token string) string {
	dot := strings.LastIndex(token, ".")
	sig := []byte(token[dot+1:])
	for i := range sig {
		if sig[i] == 'A' {
			sig[i] = 'B'
		} else {
			sig[i] = 'A'
		}
	}
	return token[:dot+1] + string(sig)
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
	resources := matrixResources(t, admin)
	// What upstream 1.37 answers, cell by cell: RBAC's default roles
	// (edit ⊃ view; system:discovery, system:basic-user and
	// system:public-info-viewer for everyone authenticated, the last for
	// anonymous requests too; kemudi's join-token policy binds
	// system:node-bootstrapper to system:bootstrappers, as kubeadm's),
	// and for the node the Node authorizer with NodeRestriction.
	podsAll := []string{"get", "get-mine", "list", "list-mine", "watch", "create", "update", "patch", "delete", "deletecollection", "get-status", "update-status"}
	paths := []string{"/healthz", "/version", "/api"}
	allowed := map[string]map[string][]string{
		"admin": {"pods": podsAll, "secrets": {"get", "get-used", "list", "patch", "delete"}, "deployments/scale": {"get", "update"},
			"namespaces": {"get", "list"}, "nodes": {"list", "create"}, "clusterroles": {"list"},
			"certificatesigningrequests": {"get", "list", "watch", "create", "create-other", "delete"}, "paths": paths},
		"editor": {"pods": {"get", "get-mine", "list", "list-mine", "watch", "create", "update", "patch", "delete", "deletecollection", "get-status"},
			"secrets": {"get", "get-used", "list", "patch", "delete"}, "deployments/scale": {"get", "update"}, "namespaces": {"get"}, "paths": paths},
		"viewer":  {"pods": {"get", "get-mine", "list", "list-mine", "watch", "get-status"}, "deployments/scale": {"get"}, "namespaces": {"get"}, "paths": paths},
		"unbound": {"paths": paths},
		// system:node-bootstrapper: CSRs, and discovery.
		"bootstrap": {"certificatesigningrequests": {"get", "list", "watch", "create", "create-other"}, "paths": paths},
		// The Node authorizer: its own pod and the secret it mounts, pods
		// listed by spec.nodeName, CSRs (system:node's rules); create and
		// delete of pods, pod status, node create and CSRs for another
		// name pass it and NodeRestriction refuses them (admissionRefuses).
		// Listing nodes is not the Node authorizer's (a node reads only
		// its own) but RBAC's: kemudi's agents run the service proxy as
		// their node, so the cluster binds system:node-proxier to
		// system:nodes (cluster.nodeServiceRBAC), as kube-proxy's own
		// binding would allow it.
		"node": {"pods": {"get-mine", "list-mine"}, "secrets": {"get-used"}, "nodes": {"list"},
			"certificatesigningrequests": {"get", "list", "watch", "create"}, "paths": paths},
		"anonymous": {"paths": {"/healthz", "/version"}},
	}
	// The cells the authorizer allows and admission refuses, with
	// upstream NodeRestriction's words.
	node := fmt.Sprintf("%q", matrixNode)
	admissionRefuses := map[string]map[string]string{
		"node": {
			"pods/create":        `pod does not have "kubernetes.io/config.mirror" annotation, node ` + node + ` can only create mirror pods`,
			"pods/delete":        `node ` + node + ` can only delete pods with spec.nodeName set to itself`,
			"pods/update-status": `node ` + node + ` can only update pod status for pods with spec.nodeName set to itself`,
			"nodes/create":       `node ` + node + ` is not allowed to modify node "authz-node"`,
			"certificatesigningrequests/create-other": `can only create a node CSR with CN=system:node:` + matrixNode,
		},
	}
	users := map[string]string{"editor": "system:serviceaccount:team:editor", "viewer": "vera", "unbound": "system:serviceaccount:team:ci",
		"bootstrap": "system:bootstrap:abcdef", "node": "system:node:" + matrixNode, "anonymous": "system:anonymous"}

	cell := 0
	for _, who := range append([]string{"admin", "editor", "viewer", "unbound", "bootstrap", "node", "anonymous"}, refused...) {
		id := f.identities[who]
		for _, res := range resources {
			for _, op := range res.ops("x") {
				cell++
				name := fmt.Sprintf("c%d", cell)
				t.Run(who+"/"+res.name+"/"+op.verb, func(t *testing.T) {
					if res.seed != nil {
						res.seed(name)
					}
					var target operation
					for _, o := range res.ops(name) {
						if o.verb == op.verb {
							target = o
						}
					}
					before := res.state(name)
					err := target.do(ctx, id.Client)
					want := slices.Contains(allowed[who][res.name], op.verb)
					refusal, admissionRefused := admissionRefuses[who][res.name+"/"+op.verb]
					switch {
					case slices.Contains(refused, who):
						want = false
						if !apierrors.IsUnauthorized(err) {
							t.Fatalf("want 401, got %v", err)
						}
					case want && err != nil:
						t.Fatalf("want allowed, got %v", err)
					case !want && !apierrors.IsForbidden(err):
						t.Fatalf("want 403, got %v", err)
					case admissionRefused:
						if !strings.Contains(err.Error(), refusal) {
							t.Errorf("admission's refusal %q, want %q", err, refusal)
						}
					case !want:
						checkForbiddenMessage(t, err, who, users[who], res.name, op.verb)
					}
					if !want {
						if after := res.state(name); after != before {
							t.Errorf("refused %s changed the store: %s -> %s", op.verb, before, after)
						}
						if res.created != nil && strings.HasPrefix(op.verb, "create") && res.created(name) {
							t.Errorf("refused %s stored an object", op.verb)
						}
					}
				})
			}
		}
	}
}

// A matrixResource is a row group of the matrix: the operations on one
// kind (or on paths) as every identity tries them.
type matrixResource struct {
	name string
	// seed makes the object n the cell's operations touch (nil: none).
	seed func(n string)
	// ops by verb; each op names the object it touches with n.
	ops func(n string) []operation
	// state is a version of the object n that changes on every write
	// ("absent" when it is not stored).
	state func(n string) string
	// created reports whether a create cell for n stored its object.
	created func(n string) bool
}

func matrixResources(t *testing.T, admin kubernetes.Interface) []matrixResource {
	ctx := context.Background()
	version := func(o metav1.Object, err error) string {
		if err != nil {
			return "absent"
		}
		return o.GetResourceVersion()
	}
	none := func(string) string { return "" }
	mustCreate := func(err error) {
		t.Helper()
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	pods := admin.CoreV1().Pods(authzNS)
	secrets := admin.CoreV1().Secrets(authzNS)
	csrs := admin.CertificatesV1().CertificateSigningRequests()
	nodeCSR := csrRequest(t, "system:node:"+matrixNode)
	otherCSR := csrRequest(t, "system:node:node-2")
	csr := func(name string, request []byte) *certificatesv1.CertificateSigningRequest {
		return &certificatesv1.CertificateSigningRequest{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: certificatesv1.CertificateSigningRequestSpec{
				Request:    request,
				SignerName: certificatesv1.KubeAPIServerClientKubeletSignerName,
				Usages:     []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth},
			},
		}
	}
	path := func(p string) operation {
		return operation{p, func(ctx context.Context, c kubernetes.Interface) error {
			return c.CoreV1().RESTClient().Get().AbsPath(p).Do(ctx).Error()
		}}
	}
	return []matrixResource{
		{name: "pods",
			seed: func(n string) {
				_, err := pods.Create(ctx, pod(n), metav1.CreateOptions{})
				mustCreate(err)
			},
			state: func(n string) string { return version(pods.Get(ctx, n, metav1.GetOptions{})) },
			created: func(n string) bool {
				_, err := pods.Get(ctx, n+"-new", metav1.GetOptions{})
				return !apierrors.IsNotFound(err)
			},
			ops: func(n string) []operation {
				return []operation{
					{"get", func(ctx context.Context, c kubernetes.Interface) error {
						_, err := c.CoreV1().Pods(authzNS).Get(ctx, n, metav1.GetOptions{})
						return err
					}},
					// The pod bound to the node.
					{"get-mine", func(ctx context.Context, c kubernetes.Interface) error {
						_, err := c.CoreV1().Pods(authzNS).Get(ctx, "mine", metav1.GetOptions{})
						return err
					}},
					{"list", func(ctx context.Context, c kubernetes.Interface) error {
						_, err := c.CoreV1().Pods(authzNS).List(ctx, metav1.ListOptions{})
						return err
					}},
					// As a kubelet lists its pods.
					{"list-mine", func(ctx context.Context, c kubernetes.Interface) error {
						_, err := c.CoreV1().Pods(authzNS).List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + matrixNode})
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
						p, err := pods.Get(ctx, n, metav1.GetOptions{})
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
					// the admin may write it (a node may, for its own pods).
					{"get-status", func(ctx context.Context, c kubernetes.Interface) error {
						return c.CoreV1().RESTClient().Get().Namespace(authzNS).Resource("pods").Name(n).SubResource("status").Do(ctx).Error()
					}},
					{"update-status", func(ctx context.Context, c kubernetes.Interface) error {
						p, err := pods.Get(ctx, n, metav1.GetOptions{})
						if err != nil {
							return err
						}
						p.Status.Message = "changed"
						_, err = c.CoreV1().Pods(authzNS).UpdateStatus(ctx, p, metav1.UpdateOptions{})
						return err
					}},
				}
			}},
		{name: "secrets",
			seed: func(n string) {
				_, err := secrets.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: n}, StringData: map[string]string{"k": "v"}}, metav1.CreateOptions{})
				mustCreate(err)
			},
			state: func(n string) string { return version(secrets.Get(ctx, n, metav1.GetOptions{})) },
			ops: func(n string) []operation {
				return []operation{
					{"get", func(ctx context.Context, c kubernetes.Interface) error {
						_, err := c.CoreV1().Secrets(authzNS).Get(ctx, n, metav1.GetOptions{})
						return err
					}},
					// The secret the node's pod mounts.
					{"get-used", func(ctx context.Context, c kubernetes.Interface) error {
						_, err := c.CoreV1().Secrets(authzNS).Get(ctx, "used", metav1.GetOptions{})
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
		{name: "deployments/scale",
			state: func(string) string {
				return version(admin.AppsV1().Deployments(authzNS).Get(ctx, "web", metav1.GetOptions{}))
			},
			ops: func(string) []operation {
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
		{name: "namespaces", state: none, ops: func(string) []operation {
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
		{name: "nodes",
			state: none,
			created: func(string) bool {
				_, err := admin.CoreV1().Nodes().Get(ctx, "authz-node", metav1.GetOptions{})
				return !apierrors.IsNotFound(err)
			},
			ops: func(string) []operation {
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
		{name: "clusterroles", state: none, ops: func(string) []operation {
			return []operation{
				{"list", func(ctx context.Context, c kubernetes.Interface) error {
					_, err := c.RbacV1().ClusterRoles().List(ctx, metav1.ListOptions{})
					return err
				}},
			}
		}},
		// What TLS bootstrapping does: a node client certificate asked for.
		{name: "certificatesigningrequests",
			seed: func(n string) {
				_, err := csrs.Create(ctx, csr(n, nodeCSR), metav1.CreateOptions{})
				mustCreate(err)
			},
			state: func(n string) string { return version(csrs.Get(ctx, n, metav1.GetOptions{})) },
			created: func(n string) bool {
				_, err := csrs.Get(ctx, n+"-new", metav1.GetOptions{})
				return !apierrors.IsNotFound(err)
			},
			ops: func(n string) []operation {
				return []operation{
					{"get", func(ctx context.Context, c kubernetes.Interface) error {
						_, err := c.CertificatesV1().CertificateSigningRequests().Get(ctx, n, metav1.GetOptions{})
						return err
					}},
					{"list", func(ctx context.Context, c kubernetes.Interface) error {
						_, err := c.CertificatesV1().CertificateSigningRequests().List(ctx, metav1.ListOptions{})
						return err
					}},
					{"watch", func(ctx context.Context, c kubernetes.Interface) error {
						w, err := c.CertificatesV1().CertificateSigningRequests().Watch(ctx, metav1.ListOptions{})
						if err == nil {
							w.Stop()
						}
						return err
					}},
					{"create", func(ctx context.Context, c kubernetes.Interface) error {
						_, err := c.CertificatesV1().CertificateSigningRequests().Create(ctx, csr(n+"-new", nodeCSR), metav1.CreateOptions{})
						return err
					}},
					// For another node's name: NodeRestriction's business.
					{"create-other", func(ctx context.Context, c kubernetes.Interface) error {
						_, err := c.CertificatesV1().CertificateSigningRequests().Create(ctx, csr(n+"-new", otherCSR), metav1.CreateOptions{})
						return err
					}},
					{"delete", func(ctx context.Context, c kubernetes.Interface) error {
						return c.CertificatesV1().CertificateSigningRequests().Delete(ctx, n, metav1.DeleteOptions{})
					}},
				}
			}},
		// Non-resource paths: health and version for everyone, discovery
		// for the authenticated.
		{name: "paths", state: none, ops: func(string) []operation {
			return []operation{path("/healthz"), path("/version"), path("/api")}
		}},
	}
}

// csrRequest is a PEM certificate request for a node client certificate
// with common name cn.
func csrRequest(t *testing.T, cn string) []byte {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn, Organization: []string{"system:nodes"}}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

// checkForbiddenMessage checks upstream's wording for the cells whose
// request is easy to name; the Node authorizer adds its reason.
func checkForbiddenMessage(t *testing.T, err error, who, user, resource, verb string) {
	t.Helper()
	var se *apierrors.StatusError
	if !errors.As(err, &se) {
		t.Fatalf("not a status: %v", err)
	}
	msg := se.ErrStatus.Message
	if !strings.Contains(msg, fmt.Sprintf("User %q cannot ", user)) {
		t.Errorf("message %q does not name the user %q", msg, user)
	}
	var want string
	switch {
	case resource == "pods" && verb == "list":
		want = `pods is forbidden: User "` + user + `" cannot list resource "pods" in API group "" in the namespace "team"`
		if who == "node" {
			want += ": can only list/watch pods with spec.nodeName field selector"
		}
	case resource == "nodes" && verb == "list":
		want = `nodes is forbidden: User "` + user + `" cannot list resource "nodes" in API group "" at the cluster scope`
	case resource == "paths":
		want = `forbidden: User "` + user + `" cannot get path "` + verb + `"`
	default:
		return
	}
	if msg != want {
		t.Errorf("message\n%q, want\n%q", msg, want)
	}
}
