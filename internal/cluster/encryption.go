package cluster

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kemudi/kemudi/internal/storage/encryption"
)

// DefaultEncryptionConfig is where the server keeps the encryption
// configuration it generates when --encryption-provider-config is not
// given: secrets sealed with a secretbox key of its own, and the identity
// provider second so that secrets a server stored in the clear before
// (an older data dir) still read.
func DefaultEncryptionConfig(dataDir string) string {
	return filepath.Join(dataDir, "tls", "encryption-config.yaml")
}

// loadEncryption reads the configuration at path, or, with path empty,
// the default one, generating its key on first start.
func loadEncryption(path, dataDir string) (encryption.Transformers, error) {
	if path == "" {
		path = DefaultEncryptionConfig(dataDir)
		if err := ensureEncryptionConfig(path); err != nil {
			return nil, err
		}
	}
	return encryption.LoadConfig(path)
}

func ensureEncryptionConfig(path string) error {
	if _, err := os.Stat(path); err == nil || !errors.Is(err, os.ErrNotExist) {
		return err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("generate the encryption key: %w", err)
	}
	cfg := fmt.Sprintf(`apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources: [secrets]
  providers:
  - secretbox:
      keys:
      - name: key1
        secret: %s
  - identity: {}
`, base64.StdEncoding.EncodeToString(key))
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(cfg), 0o600); err != nil {
		return fmt.Errorf("write the encryption configuration: %w", err)
	}
	return os.Rename(tmp, path)
}
