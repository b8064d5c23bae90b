package cluster

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/util/keyutil"
)

// LoadOrCreateServiceAccountKey reads the key that signs service account
// tokens from <dir>/sa.key, creating it (RSA 2048, with sa.pub beside it,
// as kubeadm does) on first start.
func LoadOrCreateServiceAccountKey(dir string) (*rsa.PrivateKey, error) {
	path := filepath.Join(dir, "sa.key")
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return createServiceAccountKey(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("read service account key: %w", err)
	}
	key, err := keyutil.ParsePrivateKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: service account key must be RSA, not %T", path, key)
	}
	return rk, nil
}

func createServiceAccountKey(dir string) (*rsa.PrivateKey, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate service account key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "sa.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644); err != nil {
		return nil, err
	}
	keyPEM, err := keyutil.MarshalPrivateKeyToPEM(key)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "sa.key"), keyPEM, 0o600); err != nil {
		return nil, err
	}
	return key, nil
}
