package encryption

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// A rotation is three steps, each a new version of the configuration
// file that the API server reloads: AddWriteKeys puts a fresh key first
// (new writes use it, old values still read), every value is rewritten,
// and DropReadKeys removes the keys nothing is sealed with any more.

// WriteKey is the provider and key a rule's resources are written with.
type WriteKey struct {
	Resources []string
	Provider  string // aesgcm, aescbc, secretbox or identity
	Key       string // the key's name; empty for identity
	// ReadKeys are the other keys values may still be sealed with.
	ReadKeys []string
}

// Describe lists, rule by rule, what the configuration in data writes
// with and still reads.
func Describe(data []byte) ([]WriteKey, error) {
	c, err := parse(data)
	if err != nil {
		return nil, err
	}
	var out []WriteKey
	for _, rc := range c.Resources {
		w := WriteKey{Resources: rc.Resources}
		for i, p := range rc.Providers {
			kind, kc := keysOf(p)
			if i == 0 {
				w.Provider = kind
			}
			if kc == nil {
				if i > 0 {
					w.ReadKeys = append(w.ReadKeys, kind)
				}
				continue
			}
			for j, k := range kc.Keys {
				if i == 0 && j == 0 {
					w.Key = k.Name
					continue
				}
				w.ReadKeys = append(w.ReadKeys, kind+":"+k.Name)
			}
		}
		out = append(out, w)
	}
	return out, nil
}

// AddWriteKeys returns data with a new random key first in every rule
// whose first provider has keys, named key<N> after the highest such
// name there. A configuration that writes everything in the clear has
// nothing to rotate and is refused.
func AddWriteKeys(data []byte) ([]byte, error) {
	c, err := parse(data)
	if err != nil {
		return nil, err
	}
	rotated := 0
	for i := range c.Resources {
		if len(c.Resources[i].Providers) == 0 {
			continue
		}
		kind, kc := keysOf(c.Resources[i].Providers[0])
		if kc == nil {
			continue
		}
		// 32 bytes suits all three: AES-256 and secretbox.
		secret := make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, fmt.Errorf("generate a %s key: %w", kind, err)
		}
		k := Key{Name: nextKeyName(kc.Keys), Secret: base64.StdEncoding.EncodeToString(secret)}
		kc.Keys = append([]Key{k}, kc.Keys...)
		rotated++
	}
	if rotated == 0 {
		return nil, fmt.Errorf("no resource is encrypted: every rule's first provider is identity, so there is no key to rotate")
	}
	return marshal(c)
}

// DropReadKeys returns data with every rule's first provider left with
// only its first key: once every value was rewritten, the older keys seal
// nothing. Other providers (identity, a provider being moved away from)
// stay, as the user configured them.
func DropReadKeys(data []byte) ([]byte, error) {
	c, err := parse(data)
	if err != nil {
		return nil, err
	}
	for i := range c.Resources {
		if len(c.Resources[i].Providers) == 0 {
			continue
		}
		if _, kc := keysOf(c.Resources[i].Providers[0]); kc != nil && len(kc.Keys) > 1 {
			kc.Keys = kc.Keys[:1]
		}
	}
	return marshal(c)
}

// keysOf returns a provider's kind and its keys (nil for identity).
func keysOf(p ProviderConfiguration) (string, *KeysConfiguration) {
	switch {
	case p.AESGCM != nil:
		return "aesgcm", p.AESGCM
	case p.AESCBC != nil:
		return "aescbc", p.AESCBC
	case p.Secretbox != nil:
		return "secretbox", p.Secretbox
	case p.KMS != nil:
		return "kms", nil
	}
	return "identity", nil
}

// nextKeyName is key<N+1> for the highest key<N> among keys (key1 when
// there is none), so names never repeat.
func nextKeyName(keys []Key) string {
	n := 0
	for _, k := range keys {
		if v, err := strconv.Atoi(strings.TrimPrefix(k.Name, "key")); err == nil && strings.HasPrefix(k.Name, "key") && v > n {
			n = v
		}
	}
	return "key" + strconv.Itoa(n+1)
}

func parse(data []byte) (*Configuration, error) {
	if _, err := ParseConfig(data, "the encryption configuration"); err != nil {
		return nil, err
	}
	var c Configuration
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

func marshal(c *Configuration) ([]byte, error) {
	out, err := yaml.Marshal(c)
	if err != nil {
		return nil, err
	}
	if _, err := ParseConfig(out, "the rotated encryption configuration"); err != nil {
		return nil, err
	}
	return out, nil
}
