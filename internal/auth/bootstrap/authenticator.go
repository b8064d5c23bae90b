package bootstrap

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kemudi/kemudi/internal/auth"
)

// Authenticator accepts bootstrap tokens whose Secret exists, is not
// being deleted, has usage-bootstrap-authentication "true" and has not
// expired, as upstream's bootstrap token authenticator.
type Authenticator struct {
	// Get reads kube-system/<name>; an error means no such Secret.
	Get func(ctx context.Context, name string) (*corev1.Secret, error)
	// Now is the time (tests set it); nil means time.Now.
	Now func() time.Time
	Log *slog.Logger
}

// Authenticate returns the token's user, or false when the token is not a
// bootstrap token or not valid now. Why a well-formed token was refused is
// logged at debug level, never told to the client.
func (a *Authenticator) Authenticate(ctx context.Context, token string) (*auth.User, bool) {
	t, err := ParseToken(token)
	if err != nil {
		return nil, false
	}
	refuse := func(why string) (*auth.User, bool) {
		if a.Log != nil {
			a.Log.Debug("bootstrap token refused", "id", t.ID, "reason", why)
		}
		return nil, false
	}
	s, err := a.Get(ctx, SecretPrefix+t.ID)
	if err != nil {
		return refuse("no secret " + SecretPrefix + t.ID)
	}
	if s.DeletionTimestamp != nil {
		return refuse("secret being deleted")
	}
	if s.Type != corev1.SecretTypeBootstrapToken {
		return refuse("secret type " + string(s.Type))
	}
	if subtle.ConstantTimeCompare(s.Data[KeyTokenSecret], []byte(t.Secret)) != 1 {
		return refuse("wrong secret")
	}
	if string(s.Data[KeyTokenID]) != t.ID {
		return refuse("token-id does not match the name")
	}
	if exp, ok := Expiration(s); ok && !a.now().Before(exp) {
		return refuse("expired")
	}
	if string(s.Data[KeyUsageAuth]) != "true" {
		return refuse("not for authentication")
	}
	extra, err := ExtraGroups(s)
	if err != nil {
		return refuse(err.Error())
	}
	groups := append([]string{Group}, extra...)
	groups = append(groups, auth.Authenticated)
	return &auth.User{Name: UserPrefix + t.ID, Groups: groups}, true
}

func (a *Authenticator) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}
