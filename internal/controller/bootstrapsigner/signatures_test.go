package bootstrapsigner

import (
	"maps"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kemudi/kemudi/internal/auth/bootstrap"
)

const kubeconfig = "apiVersion: v1\nclusters:\n- cluster:\n    server: https://10.0.0.1:6443\n  name: \"\"\n"

func token(id string, o bootstrap.SecretOptions, edit ...func(*corev1.Secret)) *corev1.Secret {
	s := bootstrap.SecretFor(bootstrap.Token{ID: id, Secret: "0123456789abcdef"}, o)
	for _, e := range edit {
		e(s)
	}
	return s
}

// TestSignatures: which tokens cluster-info carries signatures of, and
// that each verifies with its token as kubeadm join checks it.
func TestSignatures(t *testing.T) {
	now := time.Date(2026, 12, 6, 17, 0, 0, 0, time.UTC)
	past, future := now.Add(-time.Second), now.Add(time.Hour)
	signing := bootstrap.SecretOptions{Signing: true}
	tests := []struct {
		name    string
		secrets []*corev1.Secret
		want    []string // token ids signing
	}{
		{"none", nil, nil},
		{"valid", []*corev1.Secret{token("aaaaaa", signing)}, []string{"aaaaaa"}},
		{"valid until later", []*corev1.Secret{token("aaaaaa", bootstrap.SecretOptions{Signing: true, Expires: &future})}, []string{"aaaaaa"}},
		{"expired", []*corev1.Secret{token("aaaaaa", bootstrap.SecretOptions{Signing: true, Expires: &past})}, nil},
		{"expiring now", []*corev1.Secret{token("aaaaaa", bootstrap.SecretOptions{Signing: true, Expires: &now})}, nil},
		{"unreadable expiration counts as expired", []*corev1.Secret{token("aaaaaa", signing, func(s *corev1.Secret) {
			s.Data[bootstrap.KeyExpiration] = []byte("tomorrow")
		})}, nil},
		{"authentication only", []*corev1.Secret{token("aaaaaa", bootstrap.SecretOptions{})}, nil},
		{"signing not true", []*corev1.Secret{token("aaaaaa", signing, func(s *corev1.Secret) {
			s.Data[bootstrap.KeyUsageSigning] = []byte("yes")
		})}, nil},
		{"not a bootstrap token", []*corev1.Secret{token("aaaaaa", signing, func(s *corev1.Secret) { s.Type = corev1.SecretTypeOpaque })}, nil},
		{"id not the name's", []*corev1.Secret{token("aaaaaa", signing, func(s *corev1.Secret) { s.Data[bootstrap.KeyTokenID] = []byte("bbbbbb") })}, nil},
		{"name without prefix", []*corev1.Secret{token("aaaaaa", signing, func(s *corev1.Secret) { s.Name = "aaaaaa" })}, nil},
		{"malformed id", []*corev1.Secret{token("AAAAAA", signing)}, nil},
		{"id too long", []*corev1.Secret{token("aaaaaaa", signing)}, nil},
		{"no secret", []*corev1.Secret{token("aaaaaa", signing, func(s *corev1.Secret) { delete(s.Data, bootstrap.KeyTokenSecret) })}, nil},
		{"mixed", []*corev1.Secret{
			token("aaaaaa", signing),
			token("bbbbbb", bootstrap.SecretOptions{}),
			token("cccccc", bootstrap.SecretOptions{Signing: true, Expires: &past}),
			token("dddddd", bootstrap.SecretOptions{Signing: true, Expires: &future}),
		}, []string{"aaaaaa", "dddddd"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Signatures(kubeconfig, tt.secrets, now)
			var ids []string
			for k, sig := range got {
				id := k[len(bootstrap.JWSKeyPrefix):]
				ids = append(ids, id)
				if !bootstrap.VerifyDetached(sig, kubeconfig, bootstrap.Token{ID: id, Secret: "0123456789abcdef"}) {
					t.Errorf("%s does not verify with its token", k)
				}
			}
			slices.Sort(ids)
			if !slices.Equal(ids, tt.want) {
				t.Errorf("signed by %v, want %v", ids, tt.want)
			}
		})
	}
}

// TestSigned: the signer writes only when the signatures change, and
// keeps every other key.
func TestSigned(t *testing.T) {
	sigA := bootstrap.DetachedSignature(kubeconfig, bootstrap.Token{ID: "aaaaaa", Secret: "0123456789abcdef"})
	tests := []struct {
		name        string
		data, want  map[string]string
		result      map[string]string
		wantChanged bool
	}{
		{"same", map[string]string{"kubeconfig": kubeconfig, "jws-kubeconfig-aaaaaa": sigA}, map[string]string{"jws-kubeconfig-aaaaaa": sigA},
			map[string]string{"kubeconfig": kubeconfig, "jws-kubeconfig-aaaaaa": sigA}, false},
		{"new token", map[string]string{"kubeconfig": kubeconfig}, map[string]string{"jws-kubeconfig-aaaaaa": sigA},
			map[string]string{"kubeconfig": kubeconfig, "jws-kubeconfig-aaaaaa": sigA}, true},
		{"token gone", map[string]string{"kubeconfig": kubeconfig, "jws-kubeconfig-aaaaaa": sigA, "other": "x"}, map[string]string{},
			map[string]string{"kubeconfig": kubeconfig, "other": "x"}, true},
		{"stale signature", map[string]string{"kubeconfig": kubeconfig, "jws-kubeconfig-aaaaaa": "old"}, map[string]string{"jws-kubeconfig-aaaaaa": sigA},
			map[string]string{"kubeconfig": kubeconfig, "jws-kubeconfig-aaaaaa": sigA}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := signed(tt.data, tt.want)
			if changed != tt.wantChanged || !maps.Equal(got, tt.result) {
				t.Errorf("signed = %v, %v; want %v, %v", got, changed, tt.result, tt.wantChanged)
			}
		})
	}
}

func TestNextExpiry(t *testing.T) {
	now := time.Date(2026, 12, 6, 17, 0, 0, 0, time.UTC)
	in := func(d time.Duration) *time.Time { t := now.Add(d); return &t }
	secrets := []*corev1.Secret{
		token("aaaaaa", bootstrap.SecretOptions{Signing: true, Expires: in(time.Hour)}),
		token("bbbbbb", bootstrap.SecretOptions{Signing: true, Expires: in(time.Minute)}),
		token("cccccc", bootstrap.SecretOptions{Expires: in(time.Second)}), // does not sign
		token("dddddd", bootstrap.SecretOptions{Signing: true}),
	}
	if got := nextExpiry(secrets, now); got != time.Minute {
		t.Errorf("nextExpiry = %v, want 1m", got)
	}
	if got := nextExpiry(secrets[3:], now); got != 0 {
		t.Errorf("nextExpiry without expiring tokens = %v, want 0", got)
	}
}
