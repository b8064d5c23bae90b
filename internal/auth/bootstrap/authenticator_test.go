package bootstrap

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestAuthenticate(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	tok := Token{ID: "abcdef", Secret: "0123456789abcdef"}
	later, earlier := now.Add(time.Hour), now.Add(-time.Second)
	tests := []struct {
		name       string
		token      string
		secret     func() *corev1.Secret // nil: no secret
		wantGroups []string              // nil: refused
	}{
		{"valid", tok.String(), func() *corev1.Secret { return SecretFor(tok, SecretOptions{}) },
			[]string{Group, "system:authenticated"}},
		{"not yet expired, extra groups", tok.String(), func() *corev1.Secret {
			return SecretFor(tok, SecretOptions{Expires: &later, ExtraGroups: []string{"system:bootstrappers:kemudi:default-node-token"}})
		}, []string{Group, "system:bootstrappers:kemudi:default-node-token", "system:authenticated"}},
		{"expired", tok.String(), func() *corev1.Secret { return SecretFor(tok, SecretOptions{Expires: &earlier}) }, nil},
		{"bad expiration", tok.String(), func() *corev1.Secret {
			s := SecretFor(tok, SecretOptions{})
			s.Data[KeyExpiration] = []byte("tomorrow")
			return s
		}, nil},
		{"wrong secret", "abcdef.0123456789abcdee", func() *corev1.Secret { return SecretFor(tok, SecretOptions{}) }, nil},
		{"no such token", tok.String(), nil, nil},
		{"malformed", "abcdef:0123456789abcdef", func() *corev1.Secret { return SecretFor(tok, SecretOptions{}) }, nil},
		{"upper case", "ABCDEF.0123456789abcdef", func() *corev1.Secret { return SecretFor(tok, SecretOptions{}) }, nil},
		{"wrong type", tok.String(), func() *corev1.Secret {
			s := SecretFor(tok, SecretOptions{})
			s.Type = corev1.SecretTypeOpaque
			return s
		}, nil},
		{"not for authentication", tok.String(), func() *corev1.Secret {
			s := SecretFor(tok, SecretOptions{})
			delete(s.Data, KeyUsageAuth)
			return s
		}, nil},
		{"being deleted", tok.String(), func() *corev1.Secret {
			s := SecretFor(tok, SecretOptions{})
			s.DeletionTimestamp = &metav1.Time{Time: now}
			return s
		}, nil},
		{"bad extra group", tok.String(), func() *corev1.Secret {
			return SecretFor(tok, SecretOptions{ExtraGroups: []string{"system:masters"}})
		}, nil},
		{"id differs from name", tok.String(), func() *corev1.Secret {
			s := SecretFor(tok, SecretOptions{})
			s.Data[KeyTokenID] = []byte("zzzzzz")
			return s
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &Authenticator{
				Now: func() time.Time { return now },
				Get: func(_ context.Context, name string) (*corev1.Secret, error) {
					if tt.secret == nil {
						return nil, errors.New("not found")
					}
					s := tt.secret()
					if s.Name != name {
						return nil, errors.New("not found")
					}
					return s, nil
				},
			}
			u, ok := a.Authenticate(context.Background(), tt.token)
			if tt.wantGroups == nil {
				if ok {
					t.Fatalf("accepted as %+v", u)
				}
				return
			}
			if !ok {
				t.Fatal("refused")
			}
			if u.Name != "system:bootstrap:abcdef" || !slices.Equal(u.Groups, tt.wantGroups) {
				t.Errorf("user %q groups %v, want system:bootstrap:abcdef %v", u.Name, u.Groups, tt.wantGroups)
			}
		})
	}
}

func TestNewToken(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		tok, err := NewToken()
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseToken(tok.String())
		if err != nil || back != tok {
			t.Fatalf("token %q does not parse back: %v %v", tok, back, err)
		}
		if seen[tok.ID] {
			t.Fatalf("id %s twice", tok.ID)
		}
		seen[tok.ID] = true
	}
}
