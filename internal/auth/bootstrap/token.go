package bootstrap

import (
	"crypto/rand"
	"fmt"
	"regexp"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Names and keys of bootstrap tokens, as upstream's.
const (
	// SecretPrefix starts the name of a token's Secret (then its id).
	SecretPrefix = "bootstrap-token-"
	// Namespace holds the token Secrets.
	Namespace = metav1.NamespaceSystem
	// Group is the group of every bootstrap token's user.
	Group = "system:bootstrappers"
	// UserPrefix starts a token's user name (then its id).
	UserPrefix = "system:bootstrap:"

	KeyTokenID         = "token-id"
	KeyTokenSecret     = "token-secret"
	KeyExpiration      = "expiration"
	KeyDescription     = "description"
	KeyExtraGroups     = "auth-extra-groups"
	KeyUsageAuth       = "usage-bootstrap-authentication"
	KeyUsageSigning    = "usage-bootstrap-signing"
	alphabet           = "abcdefghijklmnopqrstuvwxyz0123456789"
	idLength           = 6
	secretLength       = 16
	extraGroupPattern  = `\Asystem:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]\z`
	tokenPatternString = `\A([a-z0-9]{6})\.([a-z0-9]{16})\z`
)

var (
	tokenPattern = regexp.MustCompile(tokenPatternString)
	groupPattern = regexp.MustCompile(extraGroupPattern)
)

// Token is a bootstrap token: a public id and a secret.
type Token struct {
	ID, Secret string
}

// String is the token as a client sends it: "<id>.<secret>".
func (t Token) String() string { return t.ID + "." + t.Secret }

// ParseToken reads "<id>.<secret>" (6 and 16 characters of [a-z0-9]).
func ParseToken(s string) (Token, error) {
	m := tokenPattern.FindStringSubmatch(s)
	if m == nil {
		return Token{}, fmt.Errorf("bootstrap token %q does not match %s", redact(s), "[a-z0-9]{6}.[a-z0-9]{16}")
	}
	return Token{ID: m[1], Secret: m[2]}, nil
}

// redact keeps a token's id and hides its secret, for messages.
func redact(s string) string {
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return s[:i] + ".<redacted>"
	}
	if len(s) > 6 {
		return s[:6] + "..."
	}
	return s
}

// NewToken returns a random token.
func NewToken() (Token, error) {
	id, err := randomString(idLength)
	if err != nil {
		return Token{}, err
	}
	secret, err := randomString(secretLength)
	if err != nil {
		return Token{}, err
	}
	return Token{ID: id, Secret: secret}, nil
}

func randomString(n int) (string, error) {
	b := make([]byte, n)
	out := make([]byte, 0, n)
	for len(out) < n {
		if _, err := rand.Read(b); err != nil {
			return "", fmt.Errorf("random token: %w", err)
		}
		for _, c := range b {
			// 252 = 7*36: no bias toward the first letters.
			if c < 252 && len(out) < n {
				out = append(out, alphabet[int(c)%len(alphabet)])
			}
		}
	}
	return string(out), nil
}

// SecretOptions describe a token Secret beyond the token itself.
type SecretOptions struct {
	Description string
	// Expires, when set, is when the token stops authenticating (and the
	// token cleaner deletes it).
	Expires *time.Time
	// ExtraGroups are added to system:bootstrappers; each must start with
	// "system:bootstrappers:".
	ExtraGroups []string
	// Signing also allows the token to sign the cluster-info ConfigMap.
	Signing bool
}

// SecretFor returns the kube-system Secret that makes t valid for
// authentication.
func SecretFor(t Token, o SecretOptions) *corev1.Secret {
	data := map[string][]byte{
		KeyTokenID:     []byte(t.ID),
		KeyTokenSecret: []byte(t.Secret),
		KeyUsageAuth:   []byte("true"),
	}
	if o.Description != "" {
		data[KeyDescription] = []byte(o.Description)
	}
	if o.Expires != nil {
		data[KeyExpiration] = []byte(o.Expires.UTC().Format(time.RFC3339))
	}
	if len(o.ExtraGroups) > 0 {
		data[KeyExtraGroups] = []byte(strings.Join(o.ExtraGroups, ","))
	}
	if o.Signing {
		data[KeyUsageSigning] = []byte("true")
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: SecretPrefix + t.ID, Namespace: Namespace},
		Type:       corev1.SecretTypeBootstrapToken,
		Data:       data,
	}
}

// Expiration is when a token Secret expires; ok is false when it never
// does. A value that is not RFC 3339 counts as expired long ago, as
// upstream treats it.
func Expiration(s *corev1.Secret) (t time.Time, ok bool) {
	v, set := s.Data[KeyExpiration]
	if !set {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, string(v))
	if err != nil {
		return time.Time{}, true
	}
	return t, true
}

// ExtraGroups are a token Secret's auth-extra-groups, checked.
func ExtraGroups(s *corev1.Secret) ([]string, error) {
	v := strings.TrimSpace(string(s.Data[KeyExtraGroups]))
	if v == "" {
		return nil, nil
	}
	var groups []string
	for _, g := range strings.Split(v, ",") {
		g = strings.TrimSpace(g)
		if !groupPattern.MatchString(g) {
			return nil, fmt.Errorf("%s %q does not match %s", KeyExtraGroups, g, extraGroupPattern)
		}
		groups = append(groups, g)
	}
	return groups, nil
}
