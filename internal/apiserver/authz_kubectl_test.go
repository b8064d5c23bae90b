package apiserver_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// TestKubectlAuthorization is the user story, driven by kubectl:
// who am I, refused and then allowed through a binding, can-i, and
// impersonation refused to those without the impersonate verb.
func TestKubectlAuthorization(t *testing.T) {
	f := newAuthzFixture(t)
	s := f.s
	ci := f.identities["unbound"]

	out := s.MustKubectl("auth", "whoami")
	for _, want := range []string{"system:admin", "system:masters", "system:authenticated"} {
		if !strings.Contains(out, want) {
			t.Errorf("auth whoami: %q lacks %q", out, want)
		}
	}
	out, err := s.KubectlAs(ci, "auth", "whoami")
	if err != nil || !strings.Contains(out, "system:serviceaccount:team:ci") || !strings.Contains(out, "system:serviceaccounts:team") {
		t.Errorf("auth whoami as ci: %q %v", out, err)
	}

	_, err = s.KubectlAs(ci, "-n", authzNS, "get", "pods")
	wantMsg := `Error from server (Forbidden): pods is forbidden: User "system:serviceaccount:team:ci" cannot list resource "pods" in API group "" in the namespace "team"`
	if !kubectlFailed(err, wantMsg) {
		t.Fatalf("get pods as ci: %v, want %q", err, wantMsg)
	}
	s.MustKubectl("-n", authzNS, "create", "rolebinding", "ci-view", "--clusterrole=view", "--serviceaccount=team:ci")
	s.WaitAllowed(ci, authorizationv1.ResourceAttributes{Namespace: authzNS, Verb: "list", Resource: "pods"})
	if _, err := s.KubectlAs(ci, "-n", authzNS, "get", "pods"); err != nil {
		t.Fatalf("get pods after the binding: %v", err)
	}
	// view does not let one write.
	_, err = s.KubectlAs(ci, "-n", authzNS, "create", "configmap", "x")
	if !kubectlFailed(err, `configmaps is forbidden: User "system:serviceaccount:team:ci" cannot create resource "configmaps" in API group "" in the namespace "team"`) {
		t.Fatalf("create configmap as viewer: %v", err)
	}
	if _, err := s.Client.CoreV1().ConfigMaps(authzNS).Get(context.Background(), "x", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("refused create stored the config map: %v", err)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"auth", "can-i", "create", "deployments", "-n", authzNS, "--as=system:serviceaccount:team:ci"}, "no"},
		{[]string{"auth", "can-i", "list", "pods", "-n", authzNS, "--as=system:serviceaccount:team:ci"}, "yes"},
		{[]string{"auth", "can-i", "create", "deployments", "-n", authzNS, "--as=system:serviceaccount:team:editor"}, "yes"},
		{[]string{"auth", "can-i", "get", "secrets", "-n", authzNS, "--as=vera"}, "no"},
		{[]string{"auth", "can-i", "list", "nodes", "--as=vera"}, "no"},
		{[]string{"auth", "can-i", "list", "nodes"}, "yes"},
		{[]string{"auth", "can-i", "get", "/healthz", "--as=vera"}, "yes"},
	} {
		out, _ := s.Kubectl(tc.args...) // "no" exits 1
		if strings.TrimSpace(out) != tc.want {
			t.Errorf("%v: %q, want %q", tc.args, out, tc.want)
		}
	}

	out, err = s.Kubectl("auth", "can-i", "--list", "-n", authzNS, "--as=system:serviceaccount:team:ci")
	if err != nil {
		t.Fatalf("can-i --list: %v", err)
	}
	for _, want := range []string{"selfsubjectaccessreviews.authorization.k8s.io", "pods ", "[get list watch]", "/healthz"} {
		if !strings.Contains(out, want) {
			t.Errorf("can-i --list lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "secrets ") {
		t.Errorf("can-i --list of a viewer lists secrets:\n%s", out)
	}

	// Impersonation takes the impersonate verb.
	_, err = s.KubectlAs(ci, "get", "pods", "--as=system:admin")
	if !kubectlFailed(err, `users "system:admin" is forbidden: User "system:serviceaccount:team:ci" cannot impersonate resource "users" in API group "" at the cluster scope`) {
		t.Fatalf("impersonation by ci: %v", err)
	}
	_, err = s.KubectlAs(ci, "get", "pods", "--as=vera", "--as-group=system:masters")
	if !kubectlFailed(err, `cannot impersonate resource "users"`) {
		t.Fatalf("impersonation of a group by ci: %v", err)
	}
	s.MustKubectl("create", "clusterrole", "impersonate-vera", "--verb=impersonate", "--resource=users", "--resource-name=vera")
	s.MustKubectl("create", "clusterrolebinding", "ci-impersonates-vera", "--clusterrole=impersonate-vera", "--serviceaccount=team:ci")
	s.WaitAllowed(ci, authorizationv1.ResourceAttributes{Verb: "impersonate", Resource: "users", Name: "vera"})
	out, err = s.KubectlAs(ci, "auth", "whoami", "--as=vera")
	if err != nil || !strings.Contains(out, "vera") || strings.Contains(out, "serviceaccount") {
		t.Fatalf("whoami as vera through ci: %q %v", out, err)
	}
	// vera's rights, not ci's: she may not list pods in team? She may
	// (view); she may not read secrets, nor may ci through her.
	_, err = s.KubectlAs(ci, "-n", authzNS, "get", "secrets", "--as=vera")
	if !kubectlFailed(err, `secrets is forbidden: User "vera" cannot list resource "secrets"`) {
		t.Fatalf("secrets as vera: %v", err)
	}
	_, err = s.KubectlAs(ci, "get", "pods", "--as=vera", "--as-group=system:masters")
	if !kubectlFailed(err, `groups "system:masters" is forbidden`) {
		t.Fatalf("impersonating vera in system:masters: %v", err)
	}
}

func kubectlFailed(err error, want string) bool {
	var ke *clustertest.KubectlError
	return errors.As(err, &ke) && strings.Contains(ke.Stderr, want)
}

// TestReviewAPIs checks the review APIs as a client-go user calls them.
func TestReviewAPIs(t *testing.T) {
	f := newAuthzFixture(t)
	ctx := context.Background()
	admin := f.s.Client
	editor := f.identities["editor"]

	tr, err := admin.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: editor.Config.BearerToken}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !tr.Status.Authenticated || tr.Status.User.Username != "system:serviceaccount:team:editor" || !contains(tr.Status.User.Groups, "system:serviceaccounts:team") {
		t.Errorf("token review: %+v", tr.Status)
	}
	tr, err = admin.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: "not.a.token"}}, metav1.CreateOptions{})
	if err != nil || tr.Status.Authenticated || tr.Status.Error == "" {
		t.Errorf("token review of garbage: %+v %v", tr, err)
	}
	// Reviewing tokens is for the privileged.
	_, err = editor.Client.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: "x"}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("token review by editor: %v", err)
	}

	ssr, err := editor.Client.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil || ssr.Status.UserInfo.Username != "system:serviceaccount:team:editor" {
		t.Errorf("self subject review: %+v %v", ssr, err)
	}

	for _, tc := range []struct {
		name  string
		spec  authorizationv1.SubjectAccessReviewSpec
		allow bool
	}{
		{"editor creates pods", authorizationv1.SubjectAccessReviewSpec{User: "system:serviceaccount:team:editor", Groups: []string{"system:serviceaccounts"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: authzNS, Verb: "create", Resource: "pods"}}, true},
		{"editor elsewhere", authorizationv1.SubjectAccessReviewSpec{User: "system:serviceaccount:team:editor",
			ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: "default", Verb: "create", Resource: "pods"}}, false},
		{"a group", authorizationv1.SubjectAccessReviewSpec{Groups: []string{"system:masters"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "delete", Resource: "nodes"}}, true},
		{"a path", authorizationv1.SubjectAccessReviewSpec{User: "x", Groups: []string{"system:authenticated"},
			NonResourceAttributes: &authorizationv1.NonResourceAttributes{Verb: "get", Path: "/version"}}, true},
		{"metrics", authorizationv1.SubjectAccessReviewSpec{User: "x", Groups: []string{"system:authenticated"},
			NonResourceAttributes: &authorizationv1.NonResourceAttributes{Verb: "get", Path: "/metrics"}}, false},
	} {
		sar, err := admin.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: tc.spec}, metav1.CreateOptions{})
		if err != nil || sar.Status.Allowed != tc.allow {
			t.Errorf("%s: %+v %v, want allowed %v", tc.name, sar, err, tc.allow)
		}
	}
	_, err = admin.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: "x"}}, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) {
		t.Errorf("review without attributes: %v", err)
	}

	lsar, err := admin.AuthorizationV1().LocalSubjectAccessReviews(authzNS).Create(ctx, &authorizationv1.LocalSubjectAccessReview{
		ObjectMeta: metav1.ObjectMeta{Namespace: authzNS},
		Spec: authorizationv1.SubjectAccessReviewSpec{User: "vera",
			ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: authzNS, Verb: "watch", Resource: "deployments", Group: "apps"}},
	}, metav1.CreateOptions{})
	if err != nil || !lsar.Status.Allowed {
		t.Errorf("local review: %+v %v", lsar, err)
	}
	_, err = admin.AuthorizationV1().LocalSubjectAccessReviews(authzNS).Create(ctx, &authorizationv1.LocalSubjectAccessReview{
		ObjectMeta: metav1.ObjectMeta{Namespace: authzNS},
		Spec: authorizationv1.SubjectAccessReviewSpec{User: "vera",
			ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: "default", Verb: "get", Resource: "pods"}},
	}, metav1.CreateOptions{})
	if !apierrors.IsBadRequest(err) {
		t.Errorf("local review of another namespace: %v", err)
	}

	rules, err := editor.Client.AuthorizationV1().SelfSubjectRulesReviews().Create(ctx, &authorizationv1.SelfSubjectRulesReview{Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: authzNS}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range rules.Status.ResourceRules {
		if contains(r.Resources, "deployments") && contains(r.Verbs, "create") {
			found = true
		}
	}
	if !found || rules.Status.Incomplete {
		t.Errorf("rules review of the editor: %+v", rules.Status)
	}
	// Not stored: a get of a review is not served.
	if err := admin.AuthorizationV1().RESTClient().Get().Resource("selfsubjectaccessreviews").Do(ctx).Error(); !apierrors.IsMethodNotSupported(err) {
		t.Errorf("list of reviews: %v", err)
	}
	// A review has no table or metadata form: asked for one alone, 406
	// (upstream's conformance "should return a 406 for a backend which
	// does not implement metadata").
	ssar := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: "/", Verb: "get"}}}
	err = admin.AuthorizationV1().RESTClient().Post().Resource("selfsubjectaccessreviews").
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").Body(ssar).Do(ctx).Error()
	if status, ok := err.(apierrors.APIStatus); !ok || status.Status().Code != http.StatusNotAcceptable {
		t.Errorf("review asked as a Table: %v, want 406", err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
