package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kemudi/kemudi/internal/auth/bootstrap"
	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// TestTokenCommands: kemudi token create makes a token that
// authenticates with its groups and is listed with kubeadm's columns;
// bad usages and groups are refused; delete ends it.
func TestTokenCommands(t *testing.T) {
	s := clustertest.Start(t)
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		root := newRootCommand()
		root.SetArgs(append([]string{"token", "--data-dir", s.DataDir}, args...))
		root.SetOut(&out)
		err := root.Execute()
		return out.String(), err
	}
	whoami := func(token string) (authenticationv1.UserInfo, error) {
		cfg := rest.AnonymousClientConfig(s.Config)
		cfg.BearerToken = token
		r, err := kubernetes.NewForConfigOrDie(cfg).AuthenticationV1().SelfSubjectReviews().Create(context.Background(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
		if err != nil {
			return authenticationv1.UserInfo{}, err
		}
		return r.Status.UserInfo, nil
	}

	out, err := run("create", "--ttl", "1h", "--description", "for ci", "--groups", "system:bootstrappers:ci")
	if err != nil {
		t.Fatalf("token create: %v", err)
	}
	tok, err := bootstrap.ParseToken(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("token create printed %q: %v", out, err)
	}
	u, err := whoami(tok.String())
	if err != nil || u.Username != "system:bootstrap:"+tok.ID || !strings.Contains(strings.Join(u.Groups, " "), "system:bootstrappers:ci") {
		t.Fatalf("the new token is %+v, %v", u, err)
	}

	if _, err := run("create", "abcdef.0123456789abcdef", "--usages", "signing", "--ttl", "0"); err != nil {
		t.Fatalf("token create with a given token: %v", err)
	}
	if _, err := whoami("abcdef.0123456789abcdef"); !apierrors.IsUnauthorized(err) {
		t.Errorf("a signing-only token authenticates: %v", err)
	}

	out, err = run("list")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		rows[f[0]] = f
	}
	if r := rows[tok.String()]; len(r) < 7 || !strings.HasPrefix(r[1], "59m") && r[1] != "1h0m0s" || r[3] != "authentication,signing" || r[4] != "for" || r[6] != "system:bootstrappers:ci" {
		t.Errorf("row of the new token: %v\n%s", r, out)
	}
	if r := rows["abcdef.0123456789abcdef"]; len(r) < 6 || r[1] != "<forever>" || r[2] != "<never>" || r[3] != "signing" {
		t.Errorf("row of the signing token: %v\n%s", r, out)
	}

	for _, bad := range [][]string{
		{"create", "--usages", "everything"},
		{"create", "--groups", "system:masters"},
		{"create", "not-a-token"},
		{"delete", "zzzzzz"},
	} {
		if _, err := run(bad...); err == nil {
			t.Errorf("token %v: no error", bad)
		}
	}

	if _, err := run("delete", tok.String(), "abcdef"); err != nil {
		t.Fatalf("token delete: %v", err)
	}
	if _, err := whoami(tok.String()); !apierrors.IsUnauthorized(err) {
		t.Errorf("a deleted token authenticates: %v", err)
	}
	if out, _ := run("list"); strings.Contains(out, tok.ID) || strings.Contains(out, "abcdef") {
		t.Errorf("deleted tokens listed:\n%s", out)
	}
}
