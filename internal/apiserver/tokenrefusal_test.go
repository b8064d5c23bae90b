package apiserver_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/cluster"
	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// TestServiceAccountTokenRefusals is the bad input for tokens: a
// token bound to a pod that is gone (or replaced by a pod of the same
// name), one that expired, one signed by another key, one for another
// issuer or audience, and one of an account deleted and made again, are
// each refused with 401, while the token they were made from works and
// carries upstream's extras (its pod and credential id).
func TestServiceAccountTokenRefusals(t *testing.T) {
	s := clustertest.Start(t)
	ctx := context.Background()
	c := s.Client
	if _, err := c.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "robot"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	newPod := func() *corev1.Pod {
		t.Helper()
		p, err := c.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "p"},
			Spec:       corev1.PodSpec{ServiceAccountName: "robot", Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	pod := newPod()
	tr, err := c.CoreV1().ServiceAccounts("default").CreateToken(ctx, "robot", &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "p", UID: pod.UID},
	}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	token := tr.Status.Token

	whoami := func(token string) (*authenticationv1.SelfSubjectReview, error) {
		return clientFor(t, bearerConfig(s, token)).AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	}
	who, err := whoami(token)
	if err != nil {
		t.Fatalf("the pod-bound token: %v", err)
	}
	// It says which pod it is bound to and which credential it is, as
	// upstream's (kubectl auth whoami prints these extras).
	jti, _ := tokenClaims(t, token)["jti"].(string)
	extra := who.Status.UserInfo.Extra
	if got := extra["authentication.kubernetes.io/pod-name"]; len(got) != 1 || got[0] != "p" {
		t.Errorf("pod-bound token's extra: %v", extra)
	}
	if got := extra["authentication.kubernetes.io/pod-uid"]; len(got) != 1 || got[0] != string(pod.UID) {
		t.Errorf("pod-bound token's extra: %v", extra)
	}
	if got := extra["authentication.kubernetes.io/credential-id"]; jti == "" || len(got) != 1 || got[0] != "JTI="+jti {
		t.Errorf("pod-bound token's credential id: %v (jti %q)", extra, jti)
	}

	// Tokens made from the good one's claims: signed with the server's
	// own key, so that only the changed claim can be why it is refused,
	// or with another key.
	key, err := cluster.LoadOrCreateServiceAccountKey(filepath.Join(s.DataDir, "tls"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	resign := func(signer *rsa.PrivateKey, change func(jwt.MapClaims)) string {
		t.Helper()
		parsed, _, err := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
		if err != nil {
			t.Fatal(err)
		}
		claims := parsed.Claims.(jwt.MapClaims)
		change(claims)
		forged := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
		forged.Header["kid"] = parsed.Header["kid"]
		signed, err := forged.SignedString(signer)
		if err != nil {
			t.Fatal(err)
		}
		return signed
	}
	unchanged := resign(key, func(jwt.MapClaims) {})
	if _, err := whoami(unchanged); err != nil {
		t.Fatalf("the token re-signed with the server's key and no change is refused, so the cases below prove nothing: %v", err)
	}
	past := time.Now().Add(-time.Hour).Unix()
	for name, forged := range map[string]string{
		"expired":          resign(key, func(c jwt.MapClaims) { c["exp"] = past; c["iat"] = past - 3600; c["nbf"] = past - 3600 }),
		"not yet valid":    resign(key, func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Hour).Unix() }),
		"another key":      resign(other, func(jwt.MapClaims) {}),
		"another issuer":   resign(key, func(c jwt.MapClaims) { c["iss"] = "https://elsewhere.example" }),
		"another audience": resign(key, func(c jwt.MapClaims) { c["aud"] = []string{"vault"} }),
		"unsigned":         unsignedToken(t, token),
	} {
		if _, err := whoami(forged); !apierrors.IsUnauthorized(err) {
			t.Errorf("%s: want 401, got %v", name, err)
		}
	}

	// A pod of the same name is not the pod the token was bound to.
	if err := c.CoreV1().Pods("default").Delete(ctx, "p", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, func() error { _, err := c.CoreV1().Pods("default").Get(ctx, "p", metav1.GetOptions{}); return err })
	if _, err := whoami(token); !apierrors.IsUnauthorized(err) {
		t.Errorf("token bound to a deleted pod: want 401, got %v", err)
	}
	newPod()
	if _, err := whoami(token); !apierrors.IsUnauthorized(err) {
		t.Errorf("token bound to a pod replaced by one of the same name: want 401, got %v", err)
	}

	// An account made again under the same name is another account.
	plain, err := c.CoreV1().ServiceAccounts("default").CreateToken(ctx, "robot", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CoreV1().ServiceAccounts("default").Delete(ctx, "robot", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "robot"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := whoami(plain.Status.Token); !apierrors.IsUnauthorized(err) {
		t.Errorf("token of an account deleted and made again: want 401, got %v", err)
	}
}

// unsignedToken is token with alg none and no signature.
func unsignedToken(t *testing.T, token string) string {
	t.Helper()
	parsed, _, err := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodNone, parsed.Claims).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// waitGone waits until get answers NotFound.
func waitGone(t *testing.T, get func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := get()
		if apierrors.IsNotFound(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still there after 30s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
