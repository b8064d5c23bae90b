package serviceaccount

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/registrytest"
)

// issuer is a registry.TokenIssuer that remembers what it signed.
type issuer struct {
	max       time.Duration
	claims    *registry.TokenClaims
	audiences []string
	lifetime  time.Duration
}

var issuedAt = time.Date(2026, 12, 6, 17, 0, 0, 0, time.UTC)

func (i *issuer) Audiences() []string          { return []string{"https://kubernetes.default.svc"} }
func (i *issuer) MaxExpiration() time.Duration { return i.max }
func (i *issuer) Issue(c registry.TokenClaims, aud []string, lifetime time.Duration) (string, time.Time, error) {
	i.claims, i.audiences, i.lifetime = &c, aud, lifetime
	return "signed", issuedAt.Add(lifetime), nil
}

func core(resource string) schema.GroupVersionResource {
	return corev1.SchemeGroupVersion.WithResource(resource)
}

func TestRequestToken(t *testing.T) {
	seconds := func(s int64) *int64 { return &s }
	ref := func(apiVersion, kind, name string, uid types.UID) *authenticationv1.BoundObjectReference {
		return &authenticationv1.BoundObjectReference{APIVersion: apiVersion, Kind: kind, Name: name, UID: uid}
	}
	robot := &registry.TokenRef{Name: "robot", UID: "sa-uid"}
	tests := []struct {
		name   string
		req    authenticationv1.TokenRequest
		max    time.Duration
		dryRun bool

		wantCode     int32  // 0: a token
		wantMessage  string // in the error
		wantSeconds  int64  // spec.expirationSeconds answered (and signed, unless wantSigned)
		wantSigned   time.Duration
		wantAud      []string
		wantClaims   registry.TokenClaims // beyond namespace and service account
		wantWarnings []string
	}{{
		name: "an hour for the API's audiences by default", wantSeconds: 3600, wantAud: []string{"https://kubernetes.default.svc"},
	}, {
		name: "the audiences and lifetime asked for", req: authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
			Audiences: []string{"vault"}, ExpirationSeconds: seconds(1200)}},
		wantSeconds: 1200, wantAud: []string{"vault"},
	}, {
		name: "shortened to the server's maximum, with a warning", req: authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: seconds(7200)}},
		max: time.Hour, wantSeconds: 3600, wantAud: []string{"https://kubernetes.default.svc"},
		wantWarnings: []string{"requested expiration of 7200 seconds shortened to 3600 seconds"},
	}, {
		name: "under 10 minutes: 422", req: authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: seconds(60)}},
		wantCode: 422, wantMessage: "spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes",
	}, {
		name: "over 2^32 seconds: 422", req: authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: seconds(1<<32 + 1)}},
		wantCode: 422, wantMessage: "spec.expirationSeconds: Too long",
	}, {
		name: "another account's name: 422", req: authenticationv1.TokenRequest{ObjectMeta: metav1.ObjectMeta{Name: "other"}},
		wantCode: 422, wantMessage: "metadata.name: Invalid value: \"other\": must match the service account name if specified",
	}, {
		name: "another namespace: 422", req: authenticationv1.TokenRequest{ObjectMeta: metav1.ObjectMeta{Namespace: "other"}},
		wantCode: 422, wantMessage: "must match the service account namespace if specified",
	}, {
		name: "bound to a pod: the pod and its node", req: authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{BoundObjectRef: ref("v1", "Pod", "web", "pod-uid")}},
		wantSeconds: 3600, wantAud: []string{"https://kubernetes.default.svc"},
		wantClaims: registry.TokenClaims{Pod: &registry.TokenRef{Name: "web", UID: "pod-uid"}, Node: &registry.TokenRef{Name: "node-1", UID: "node-uid"}},
	}, {
		name: "a pod's projected token: signed for a year, warns after its hour", req: authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
			BoundObjectRef: ref("v1", "Pod", "web", ""), ExpirationSeconds: seconds(3607)}},
		wantSeconds: 3607, wantSigned: 365 * 24 * time.Hour, wantAud: []string{"https://kubernetes.default.svc"},
		wantClaims: registry.TokenClaims{Pod: &registry.TokenRef{Name: "web", UID: "pod-uid"}, Node: &registry.TokenRef{Name: "node-1", UID: "node-uid"},
			WarnAfter: 3607 * time.Second},
	}, {
		name: "3607 seconds for another audience: not extended", req: authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
			BoundObjectRef: ref("v1", "Pod", "web", ""), ExpirationSeconds: seconds(3607), Audiences: []string{"vault"}}},
		wantSeconds: 3607, wantAud: []string{"vault"},
		wantClaims: registry.TokenClaims{Pod: &registry.TokenRef{Name: "web", UID: "pod-uid"}, Node: &registry.TokenRef{Name: "node-1", UID: "node-uid"}},
	}, {
		name: "3607 seconds bound to no pod: not extended", req: authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: seconds(3607)}},
		wantSeconds: 3607, wantAud: []string{"https://kubernetes.default.svc"},
	}, {
		name: "bound to a pod on a node that is gone: the node's name", req: authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{BoundObjectRef: ref("v1", "Pod", "orphan", "")}},
		wantSeconds: 3600, wantAud: []string{"https://kubernetes.default.svc"},
		wantClaims: registry.TokenClaims{Pod: &registry.TokenRef{Name: "orphan", UID: "orphan-uid"}, Node: &registry.TokenRef{Name: "node-gone"}},
	}, {
		name: "bound to a secret", req: authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{BoundObjectRef: ref("v1", "Secret", "binder", "")}},
		wantSeconds: 3600, wantAud: []string{"https://kubernetes.default.svc"},
		wantClaims: registry.TokenClaims{Secret: &registry.TokenRef{Name: "binder", UID: "secret-uid"}},
	}, {
		name: "bound to a node", req: authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{BoundObjectRef: ref("v1", "Node", "node-1", "node-uid")}},
		wantSeconds: 3600, wantAud: []string{"https://kubernetes.default.svc"},
		wantClaims: registry.TokenClaims{Node: &registry.TokenRef{Name: "node-1", UID: "node-uid"}},
	}, {
		name: "bound to a pod of another account: 400", req: authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{BoundObjectRef: ref("v1", "Pod", "other", "")}},
		wantCode: 400, wantMessage: `cannot bind token for serviceaccount "robot" to pod running with different serviceaccount name.`,
	}, {
		name: "bound to a recreated pod: 409", req: authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{BoundObjectRef: ref("v1", "Pod", "web", "old-uid")}},
		wantCode: 409, wantMessage: "the UID in the bound object reference (old-uid) does not match the UID in record. The object might have been deleted and then recreated",
	}, {
		name: "bound to a missing pod: 404", req: authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{BoundObjectRef: ref("v1", "Pod", "missing", "")}},
		wantCode: 404, wantMessage: `pods "missing" not found`,
	}, {
		name: "bound to a config map: 400", req: authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{BoundObjectRef: ref("v1", "ConfigMap", "x", "")}},
		wantCode: 400, wantMessage: "cannot bind token to object of type /v1, Kind=ConfigMap",
	}, {
		name: "bound to a pod of another group: 400", req: authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{BoundObjectRef: ref("example.com/v1", "Pod", "web", "")}},
		wantCode: 400, wantMessage: "cannot bind token to object of type example.com/v1, Kind=Pod",
	}, {
		name: "a dry run signs nothing", dryRun: true, wantSeconds: 3600, wantAud: []string{"https://kubernetes.default.svc"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := registrytest.NewStore()
			store.Add(core("serviceaccounts"), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "robot", Namespace: "default", UID: "sa-uid"}})
			pod := func(name, uid, sa, node string) *corev1.Pod {
				return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID(uid)},
					Spec: corev1.PodSpec{ServiceAccountName: sa, NodeName: node}}
			}
			store.Add(core("pods"), pod("web", "pod-uid", "robot", "node-1"))
			store.Add(core("pods"), pod("orphan", "orphan-uid", "robot", "node-gone"))
			store.Add(core("pods"), pod("other", "other-uid", "default", ""))
			store.Add(core("nodes"), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1", UID: "node-uid"}})
			store.Add(core("secrets"), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "binder", Namespace: "default", UID: "secret-uid"}})
			iss := &issuer{max: tt.max}
			call := &registry.Call{Namespace: "default", Name: "robot", Body: tt.req.DeepCopy(), DryRun: tt.dryRun, Store: store, Tokens: iss}
			out, err := RequestToken(context.Background(), call)
			if tt.wantCode != 0 {
				var se *apierrors.StatusError
				if !errors.As(err, &se) || se.ErrStatus.Code != tt.wantCode || !strings.Contains(se.Error(), tt.wantMessage) {
					t.Fatalf("error %v, want a %d saying %q", err, tt.wantCode, tt.wantMessage)
				}
				if iss.claims != nil {
					t.Errorf("signed %+v anyway", iss.claims)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if out.Name != "robot" || out.Namespace != "default" || out.Kind != "TokenRequest" || out.APIVersion != "authentication.k8s.io/v1" {
				t.Errorf("answer meta %+v %+v", out.TypeMeta, out.ObjectMeta)
			}
			if *out.Spec.ExpirationSeconds != tt.wantSeconds || !reflect.DeepEqual(out.Spec.Audiences, tt.wantAud) {
				t.Errorf("spec %+v, want %ds for %v", out.Spec, tt.wantSeconds, tt.wantAud)
			}
			if !reflect.DeepEqual(call.Warnings, tt.wantWarnings) {
				t.Errorf("warnings %q, want %q", call.Warnings, tt.wantWarnings)
			}
			if tt.dryRun {
				if iss.claims != nil || out.Status.Token != "" {
					t.Errorf("a dry run signed %+v: %+v", iss.claims, out.Status)
				}
				return
			}
			want := tt.wantClaims
			want.Namespace, want.ServiceAccount = "default", *robot
			if !reflect.DeepEqual(*iss.claims, want) {
				t.Errorf("claims %+v, want %+v", *iss.claims, want)
			}
			answered := time.Duration(tt.wantSeconds) * time.Second
			signed := tt.wantSigned
			if signed == 0 {
				signed = answered
			}
			if iss.lifetime != signed || !reflect.DeepEqual(iss.audiences, tt.wantAud) {
				t.Errorf("signed for %v, %v; want %v", iss.lifetime, iss.audiences, signed)
			}
			if out.Status.Token != "signed" || !out.Status.ExpirationTimestamp.Time.Equal(issuedAt.Add(answered)) {
				t.Errorf("status %+v", out.Status)
			}
		})
	}
}

// A missing account is a 404, and a server without a signing key serves
// no tokens at all.
func TestRequestTokenWithout(t *testing.T) {
	store := registrytest.NewStore()
	call := &registry.Call{Namespace: "default", Name: "nobody", Body: &authenticationv1.TokenRequest{}, Store: store, Tokens: &issuer{}}
	if _, err := RequestToken(context.Background(), call); !apierrors.IsNotFound(err) {
		t.Errorf("missing account: %v", err)
	}
	call.Tokens = nil
	if _, err := RequestToken(context.Background(), call); !errors.Is(err, registry.ErrNotServed) {
		t.Errorf("no signing key: %v", err)
	}
}
