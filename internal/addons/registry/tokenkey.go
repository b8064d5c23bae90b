package registry

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"github.com/go-jose/go-jose/v4"
)

// tokenKey is the key the token endpoint signs with; its public half is
// in the JWKS file the access controller trusts, under the key ID.
type tokenKey struct {
	key *ecdsa.PrivateKey
	kid string
}

// loadOrCreateTokenKey reads the signing key, creating it (and the JWKS
// file) on first start.
func loadOrCreateTokenKey(keyPath, jwksPath string) (*tokenKey, error) {
	key, err := readECKey(keyPath)
	if errors.Is(err, os.ErrNotExist) {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err == nil {
			err = writeECKey(keyPath, key)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("registry token key: %w", err)
	}
	jwk := jose.JSONWebKey{Key: key.Public(), Algorithm: string(jose.ES256), Use: "sig"}
	thumb, err := jwk.Thumbprint(cryptoSHA256)
	if err != nil {
		return nil, fmt.Errorf("registry token key: %w", err)
	}
	jwk.KeyID = base64URL(thumb)
	// Rewritten at every start: the file is derived from the key.
	data, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk}})
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(jwksPath, data, 0o644); err != nil {
		return nil, fmt.Errorf("registry token key: %w", err)
	}
	return &tokenKey{key: key, kid: jwk.KeyID}, nil
}

func readECKey(path string) (*ecdsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s: not PEM", path)
	}
	return x509.ParseECPrivateKey(block.Bytes)
}

func writeECKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600)
}
