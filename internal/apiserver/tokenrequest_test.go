package apiserver_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// bearerConfig is a client config that authenticates with token only.
func bearerConfig(s *clustertest.Server, token string) *rest.Config {
	cfg := rest.AnonymousClientConfig(s.Config)
	cfg.BearerToken = token
	return cfg
}

// tokenClaims decodes a JWT's payload without verifying it.
func tokenClaims(t *testing.T, token string) map[string]interface{} {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	data, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]interface{}
	if err := json.Unmarshal(data, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

func TestServiceAccountTokens(t *testing.T) {
	s := clustertest.Start(t)
	ctx := context.Background()
	c := s.Client
	sa, err := c.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "robot"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	// A plain token: an hour by default, the API's audience, upstream's claims.
	tr, err := c.CoreV1().ServiceAccounts("default").CreateToken(ctx, "robot", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Status.Token == "" || tr.Status.ExpirationTimestamp.Sub(time.Now()) < 59*time.Minute || *tr.Spec.ExpirationSeconds != 3600 {
		t.Fatalf("token request status %+v spec %+v", tr.Status.ExpirationTimestamp, tr.Spec)
	}
	claims := tokenClaims(t, tr.Status.Token)
	k8s, _ := claims["kubernetes.io"].(map[string]interface{})
	saClaim, _ := k8s["serviceaccount"].(map[string]interface{})
	if claims["sub"] != "system:serviceaccount:default:robot" || claims["iss"] != "https://kubernetes.default.svc.cluster.local" ||
		k8s["namespace"] != "default" || saClaim["name"] != "robot" || saClaim["uid"] != string(sa.UID) || claims["jti"] == nil {
		t.Errorf("claims = %v", claims)
	}

	// The token authenticates as the account, which no binding allows
	// to list pods.
	robot := clientFor(t, bearerConfig(s, tr.Status.Token))
	if who, err := robot.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{}); err != nil ||
		who.Status.UserInfo.Username != "system:serviceaccount:default:robot" || who.Status.UserInfo.UID != string(sa.UID) {
		t.Fatalf("who the token is: %+v %v", who, err)
	}
	if _, err := robot.CoreV1().Pods("default").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("list pods with the token of an unbound account: %v", err)
	}
	// Not with a tampered signature, nor with a garbage token.
	bad := clientFor(t, bearerConfig(s, tr.Status.Token[:len(tr.Status.Token)-4]+"AAAA"))
	if _, err := bad.CoreV1().Pods("default").List(ctx, metav1.ListOptions{}); !apierrors.IsUnauthorized(err) {
		t.Errorf("tampered token: %v", err)
	}

	// Bound to a secret: void once the secret goes.
	secret, err := c.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "binder"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tr, err = c.CoreV1().ServiceAccounts("default").CreateToken(ctx, "robot", &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Secret", APIVersion: "v1", Name: "binder", UID: secret.UID},
	}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bound := clientFor(t, bearerConfig(s, tr.Status.Token))
	if _, err := bound.CoreV1().Secrets("default").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("secret-bound token: %v", err)
	}
	if err := c.CoreV1().Secrets("default").Delete(ctx, "binder", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := bound.CoreV1().Secrets("default").List(ctx, metav1.ListOptions{}); !apierrors.IsUnauthorized(err) {
		t.Errorf("token bound to a deleted secret: %v", err)
	}

	// Deleting the account voids its tokens.
	if err := c.CoreV1().ServiceAccounts("default").Delete(ctx, "robot", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := robot.CoreV1().Pods("default").List(ctx, metav1.ListOptions{}); !apierrors.IsUnauthorized(err) {
		t.Errorf("token of a deleted account: %v", err)
	}
}

func TestTokenRequestBadInput(t *testing.T) {
	s := clustertest.Start(t)
	ctx := context.Background()
	c := s.Client
	if _, err := c.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "robot"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	short := int64(60)
	_, err := c.CoreV1().ServiceAccounts("default").CreateToken(ctx, "robot", &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &short}}, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "may not specify a duration less than 10 minutes") {
		t.Errorf("short expiry: %v", err)
	}
	if _, err := c.CoreV1().ServiceAccounts("default").CreateToken(ctx, "nobody", &authenticationv1.TokenRequest{}, metav1.CreateOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("missing account: %v", err)
	}
	_, err = c.CoreV1().ServiceAccounts("default").CreateToken(ctx, "robot", &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "ConfigMap", APIVersion: "v1", Name: "x"},
	}}, metav1.CreateOptions{})
	if !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), "cannot bind token to object of type /v1, Kind=ConfigMap") {
		t.Errorf("configmap binding: %v", err)
	}
	_, err = c.CoreV1().ServiceAccounts("default").CreateToken(ctx, "robot", &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "missing"},
	}}, metav1.CreateOptions{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("missing pod: %v", err)
	}

	// kubectl create token, as a user does.
	out := s.MustKubectl("create", "token", "robot", "--duration", "20m")
	claims := tokenClaims(t, strings.TrimSpace(out))
	exp, iat := claims["exp"].(float64), claims["iat"].(float64)
	if exp-iat != 1200 {
		t.Errorf("kubectl create token --duration 20m: lifetime %vs", exp-iat)
	}

	// OpenID discovery, for authenticated clients.
	body, err := c.CoreV1().RESTClient().Get().AbsPath("/.well-known/openid-configuration").DoRaw(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]interface{}
	if err := json.Unmarshal(body, &doc); err != nil || doc["issuer"] != "https://kubernetes.default.svc.cluster.local" || !strings.HasSuffix(doc["jwks_uri"].(string), "/openid/v1/jwks") {
		t.Errorf("openid configuration %s: %v", body, err)
	}
	body, err = c.CoreV1().RESTClient().Get().AbsPath("/openid/v1/jwks").DoRaw(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil || len(set.Keys) != 1 || set.Keys[0]["kty"] != "RSA" || set.Keys[0]["alg"] != "RS256" || set.Keys[0]["e"] != "AQAB" {
		t.Errorf("jwks %s: %v", body, err)
	}
}
