package apiserver

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/kemudi/kemudi/internal/registry"
)

// ServiceAccountTokens configures the tokens the server issues to service
// accounts (serviceaccounts/<name>/token) and accepts from them.
type ServiceAccountTokens struct {
	// Key signs tokens (RS256); its public half verifies them and is
	// published at /openid/v1/jwks.
	Key *rsa.PrivateKey
	// Issuer is the tokens' iss claim (upstream's
	// --service-account-issuer); Audiences the API's own audiences
	// (--api-audiences, default the issuer).
	Issuer    string
	Audiences []string
	// JWKSURI is the jwks_uri of the OpenID discovery document.
	JWKSURI string
	// MaxExpiration caps the lifetime of requested tokens (0: no cap).
	MaxExpiration time.Duration
}

// DefaultIssuer is the issuer kubeadm and k3s configure.
const DefaultIssuer = "https://kubernetes.default.svc.cluster.local"

// tokenRef names an object a token is bound to.
type tokenRef struct {
	Name string `json:"name"`
	UID  string `json:"uid"`
}

// kubernetesClaims is the private "kubernetes.io" claim of bound tokens.
type kubernetesClaims struct {
	Namespace      string           `json:"namespace"`
	ServiceAccount tokenRef         `json:"serviceaccount"`
	Pod            *tokenRef        `json:"pod,omitempty"`
	Secret         *tokenRef        `json:"secret,omitempty"`
	Node           *tokenRef        `json:"node,omitempty"`
	WarnAfter      *jwt.NumericDate `json:"warnafter,omitempty"`
}

type saClaims struct {
	jwt.RegisteredClaims
	Kubernetes *kubernetesClaims `json:"kubernetes.io,omitempty"`
}

// tokenSigner signs and verifies service account tokens; it is the
// registry.TokenIssuer serviceaccounts/token issues them with.
type tokenSigner struct {
	cfg ServiceAccountTokens
	kid string
	now func() time.Time
}

func newTokenSigner(cfg ServiceAccountTokens) (*tokenSigner, error) {
	if cfg.Key == nil {
		return nil, errors.New("no service account signing key")
	}
	if cfg.Issuer == "" {
		cfg.Issuer = DefaultIssuer
	}
	if len(cfg.Audiences) == 0 {
		cfg.Audiences = []string{cfg.Issuer}
	}
	kid, err := keyID(&cfg.Key.PublicKey)
	if err != nil {
		return nil, err
	}
	return &tokenSigner{cfg: cfg, kid: kid, now: time.Now}, nil
}

// keyID is upstream's key id: the unpadded base64url SHA-256 of the
// public key's PKIX encoding.
func keyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("encode the service account public key: %w", err)
	}
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

// issue signs a token for the claims with the given audiences and
// lifetime (and, when warnAfter is set, the time it should be replaced
// by), returning it and its expiry.
func (t *tokenSigner) issue(k *kubernetesClaims, audiences []string, lifetime, warnAfter time.Duration) (string, time.Time, error) {
	now := t.now().UTC().Truncate(time.Second)
	exp := now.Add(lifetime)
	if warnAfter > 0 {
		k.WarnAfter = jwt.NewNumericDate(now.Add(warnAfter))
	}
	claims := saClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    t.cfg.Issuer,
			Subject:   "system:serviceaccount:" + k.Namespace + ":" + k.ServiceAccount.Name,
			Audience:  audiences,
			ExpiresAt: jwt.NewNumericDate(exp),
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ID:        uuid.NewString(),
		},
		Kubernetes: k,
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = t.kid
	s, err := tok.SignedString(t.cfg.Key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign token: %w", err)
	}
	return s, exp, nil
}

// Audiences implements registry.TokenIssuer.
func (t *tokenSigner) Audiences() []string { return t.cfg.Audiences }

// MaxExpiration implements registry.TokenIssuer.
func (t *tokenSigner) MaxExpiration() time.Duration { return t.cfg.MaxExpiration }

// Issue implements registry.TokenIssuer.
func (t *tokenSigner) Issue(c registry.TokenClaims, audiences []string, lifetime time.Duration) (string, time.Time, error) {
	ref := func(r *registry.TokenRef) *tokenRef {
		if r == nil {
			return nil
		}
		return &tokenRef{Name: r.Name, UID: r.UID}
	}
	k := &kubernetesClaims{
		Namespace:      c.Namespace,
		ServiceAccount: tokenRef{Name: c.ServiceAccount.Name, UID: c.ServiceAccount.UID},
		Pod:            ref(c.Pod), Secret: ref(c.Secret), Node: ref(c.Node),
	}
	return t.issue(k, audiences, lifetime, c.WarnAfter)
}

// verify checks a token's signature, issuer, audience and lifetime and
// returns its claims; bound objects are checked by the caller.
func (t *tokenSigner) verify(token string) (*saClaims, error) {
	claims := &saClaims{}
	_, err := jwt.ParseWithClaims(token, claims, func(tok *jwt.Token) (interface{}, error) {
		if kid, ok := tok.Header["kid"].(string); ok && kid != "" && kid != t.kid {
			return nil, errors.New("unknown key id")
		}
		return &t.cfg.Key.PublicKey, nil
	},
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
		jwt.WithIssuer(t.cfg.Issuer),
		jwt.WithAudience(t.cfg.Audiences...),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(t.now),
		jwt.WithLeeway(time.Minute),
	)
	if err != nil {
		return nil, err
	}
	if claims.Kubernetes == nil || claims.Kubernetes.Namespace == "" || claims.Kubernetes.ServiceAccount.Name == "" {
		return nil, errors.New("token has no service account claims")
	}
	if claims.Subject != "system:serviceaccount:"+claims.Kubernetes.Namespace+":"+claims.Kubernetes.ServiceAccount.Name {
		return nil, errors.New("token subject does not match its service account")
	}
	return claims, nil
}

// jwks is the public key as a JSON Web Key Set.
func (t *tokenSigner) jwks() map[string]interface{} {
	pub := &t.cfg.Key.PublicKey
	return map[string]interface{}{"keys": []map[string]string{{
		"use": "sig",
		"kty": "RSA",
		"kid": t.kid,
		"alg": jwt.SigningMethodRS256.Alg(),
		"n":   base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e":   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}}
}

// openIDConfiguration is the discovery document upstream serves.
func (t *tokenSigner) openIDConfiguration() map[string]interface{} {
	return map[string]interface{}{
		"issuer":                                t.cfg.Issuer,
		"jwks_uri":                              t.cfg.JWKSURI,
		"response_types_supported":              []string{"id_token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{jwt.SigningMethodRS256.Alg()},
	}
}
