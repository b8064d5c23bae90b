package apiserver

import (
	"reflect"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

func TestServiceAccountExtra(t *testing.T) {
	claims := func(id string, k *kubernetesClaims) *saClaims {
		return &saClaims{RegisteredClaims: jwt.RegisteredClaims{ID: id}, Kubernetes: k}
	}
	for _, tc := range []struct {
		name   string
		claims *saClaims
		want   map[string][]string
	}{
		{"legacy token: nothing", claims("", &kubernetesClaims{Namespace: "default"}), nil},
		{"plain token: its credential id", claims("abc", &kubernetesClaims{Namespace: "default"}),
			map[string][]string{"authentication.kubernetes.io/credential-id": {"JTI=abc"}}},
		{"pod-bound with its node", claims("abc", &kubernetesClaims{Pod: &tokenRef{Name: "web", UID: "u1"}, Node: &tokenRef{Name: "n1", UID: "u2"}}),
			map[string][]string{
				"authentication.kubernetes.io/pod-name":      {"web"},
				"authentication.kubernetes.io/pod-uid":       {"u1"},
				"authentication.kubernetes.io/node-name":     {"n1"},
				"authentication.kubernetes.io/node-uid":      {"u2"},
				"authentication.kubernetes.io/credential-id": {"JTI=abc"},
			}},
		{"pod without uid: no pod extras", claims("", &kubernetesClaims{Pod: &tokenRef{Name: "web"}}), nil},
		{"node of a node gone: name only", claims("", &kubernetesClaims{Node: &tokenRef{Name: "n1"}}),
			map[string][]string{"authentication.kubernetes.io/node-name": {"n1"}}},
		{"no kubernetes claims", claims("x", nil), map[string][]string{"authentication.kubernetes.io/credential-id": {"JTI=x"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := serviceAccountExtra(tc.claims); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
