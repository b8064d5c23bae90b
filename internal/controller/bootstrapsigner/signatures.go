package bootstrapsigner

import (
	"maps"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kemudi/kemudi/internal/auth/bootstrap"
)

// signingToken is the token of a bootstrap-token Secret that may sign
// cluster-info at now, as upstream's signer judges it: named
// bootstrap-token-<id> with that id in token-id, a secret, not expired
// (an unreadable expiration counts as expired) and usage-bootstrap-signing
// "true".
func signingToken(s *corev1.Secret, now time.Time) (bootstrap.Token, bool) {
	if s.Type != corev1.SecretTypeBootstrapToken {
		return bootstrap.Token{}, false
	}
	id, ok := strings.CutPrefix(s.Name, bootstrap.SecretPrefix)
	if !ok || !validID(id) || string(s.Data[bootstrap.KeyTokenID]) != id {
		return bootstrap.Token{}, false
	}
	secret := string(s.Data[bootstrap.KeyTokenSecret])
	if secret == "" || string(s.Data[bootstrap.KeyUsageSigning]) != "true" {
		return bootstrap.Token{}, false
	}
	if exp, ok := bootstrap.Expiration(s); ok && !now.Before(exp) {
		return bootstrap.Token{}, false
	}
	return bootstrap.Token{ID: id, Secret: secret}, true
}

// validID is upstream's token id: six of [a-z0-9].
func validID(id string) bool {
	if len(id) != 6 {
		return false
	}
	for _, c := range id {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// Signatures are the keys cluster-info's data should hold beside its
// kubeconfig content: jws-kubeconfig-<id> for every token among secrets
// that may sign at now. When two Secrets name one id, the first signs.
func Signatures(content string, secrets []*corev1.Secret, now time.Time) map[string]string {
	out := map[string]string{}
	for _, s := range secrets {
		t, ok := signingToken(s, now)
		if !ok {
			continue
		}
		key := bootstrap.JWSKeyPrefix + t.ID
		if _, dup := out[key]; !dup {
			out[key] = bootstrap.DetachedSignature(content, t)
		}
	}
	return out
}

// signed returns data with its signatures replaced by want, and whether
// that changes anything: the signer writes only then.
func signed(data, want map[string]string) (map[string]string, bool) {
	out := make(map[string]string, len(data)+len(want))
	for k, v := range data {
		if !strings.HasPrefix(k, bootstrap.JWSKeyPrefix) {
			out[k] = v
		}
	}
	maps.Copy(out, want)
	return out, !maps.Equal(out, data)
}

// nextExpiry is how long until the first of the signing tokens expires
// (its signature must go then, whether or not the token cleaner runs);
// zero when none expires.
func nextExpiry(secrets []*corev1.Secret, now time.Time) time.Duration {
	var next time.Duration
	for _, s := range secrets {
		if _, ok := signingToken(s, now); !ok {
			continue
		}
		if exp, ok := bootstrap.Expiration(s); ok {
			if d := exp.Sub(now); next == 0 || d < next {
				next = d
			}
		}
	}
	return next
}
