package encryption

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"

	"golang.org/x/crypto/nacl/secretbox"
)

// Transformer turns a stored value into what etcd holds and back. ctx is
// the value's etcd key, bound into AES-GCM's authentication as upstream
// does, so that a value copied to another key does not read.
type Transformer interface {
	// Encrypt returns what to store.
	Encrypt(ctx string, plain []byte) ([]byte, error)
	// Decrypt returns the value; stale says it was not written with the
	// first provider and key (a rewrite moves it to them).
	Decrypt(ctx string, stored []byte) (plain []byte, stale bool, err error)
}

// Transformers give each resource its transformer: a configuration read
// once (Static) or one that follows its file (Reloader).
type Transformers interface {
	// For returns the transformer of a resource of group (nil: stored
	// as is).
	For(group, resource string) Transformer
}

// Static are the configured resources' transformers, by group resource
// ("secrets", "deployments.apps"), plus wildcards ("*.", "*.apps", "*.*").
type Static map[string]Transformer

// For implements Transformers.
func (t Static) For(group, resource string) Transformer {
	keys := []string{resource + "." + group, "*." + group, "*.*"}
	if group == "" {
		keys = []string{resource, resource + ".", "*.", "*.*"}
	}
	for _, k := range keys {
		if tr, ok := t[k]; ok {
			return tr
		}
	}
	return nil
}

func build(c *Configuration) (Static, error) {
	out := Static{}
	for _, rc := range c.Resources {
		var chain prefixChain
		for _, p := range rc.Providers {
			switch {
			case p.Identity != nil:
				chain = append(chain, prefixed{prefix: nil, t: identity{}})
			case p.AESGCM != nil:
				ts, err := keyed(p.AESGCM, "aesgcm", newGCM)
				if err != nil {
					return nil, err
				}
				chain = append(chain, ts...)
			case p.AESCBC != nil:
				ts, err := keyed(p.AESCBC, "aescbc", newCBC)
				if err != nil {
					return nil, err
				}
				chain = append(chain, ts...)
			case p.Secretbox != nil:
				ts, err := keyed(p.Secretbox, "secretbox", newSecretbox)
				if err != nil {
					return nil, err
				}
				chain = append(chain, ts...)
			}
		}
		for _, r := range rc.Resources {
			out[r] = chain
		}
	}
	return out, nil
}

func keyed(kc *KeysConfiguration, kind string, mk func([]byte) (cipherTransform, error)) ([]prefixed, error) {
	var out []prefixed
	for _, k := range kc.Keys {
		raw, err := base64.StdEncoding.DecodeString(k.Secret)
		if err != nil {
			return nil, fmt.Errorf("could not obtain secret for named key %s: %w", k.Name, err)
		}
		t, err := mk(raw)
		if err != nil {
			return nil, fmt.Errorf("%s key %s: %w", kind, k.Name, err)
		}
		out = append(out, prefixed{prefix: []byte("k8s:enc:" + kind + ":v1:" + k.Name + ":"), t: t})
	}
	return out, nil
}

type cipherTransform interface {
	seal(ctx string, plain []byte) ([]byte, error)
	open(ctx string, data []byte) ([]byte, error)
}

type prefixed struct {
	prefix []byte
	t      cipherTransform
}

// prefixChain writes with its first entry and reads with the entry whose
// prefix the value carries; identity (no prefix) reads anything else.
type prefixChain []prefixed

func (c prefixChain) Encrypt(ctx string, plain []byte) ([]byte, error) {
	first := c[0]
	sealed, err := first.t.seal(ctx, plain)
	if err != nil {
		return nil, err
	}
	return append(append([]byte{}, first.prefix...), sealed...), nil
}

func (c prefixChain) Decrypt(ctx string, stored []byte) ([]byte, bool, error) {
	var errs []error
	for i, p := range c {
		if len(p.prefix) == 0 {
			// identity: only what no other provider's prefix claims.
			if isEncrypted(stored) {
				continue
			}
			return stored, i != 0, nil
		}
		if !bytes.HasPrefix(stored, p.prefix) {
			continue
		}
		plain, err := p.t.open(ctx, stored[len(p.prefix):])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		return plain, i != 0, nil
	}
	if len(errs) > 0 {
		return nil, false, errors.Join(errs...)
	}
	return nil, false, errors.New("no matching prefix found")
}

// isEncrypted reports whether a value carries an encryption prefix (a
// Kubernetes protobuf value starts with "k8s\x00").
func isEncrypted(stored []byte) bool { return bytes.HasPrefix(stored, []byte("k8s:enc:")) }

type identity struct{}

func (identity) seal(_ string, plain []byte) ([]byte, error) { return plain, nil }
func (identity) open(_ string, data []byte) ([]byte, error)  { return data, nil }

// gcm is upstream's aesgcm: a random 12-byte nonce, then the sealed value
// with the etcd key as additional data.
type gcm struct{ aead cipher.AEAD }

func newGCM(key []byte) (cipherTransform, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return gcm{aead}, nil
}

func (g gcm) seal(ctx string, plain []byte) ([]byte, error) {
	n := g.aead.NonceSize()
	out := make([]byte, n, n+len(plain)+g.aead.Overhead())
	if _, err := rand.Read(out[:n]); err != nil {
		return nil, err
	}
	return g.aead.Seal(out, out[:n], plain, []byte(ctx)), nil
}

func (g gcm) open(ctx string, data []byte) ([]byte, error) {
	n := g.aead.NonceSize()
	if len(data) < n {
		return nil, errors.New("the stored data was shorter than the required size")
	}
	return g.aead.Open(nil, data[:n], data[n:], []byte(ctx))
}

// cbc is upstream's aescbc: a random IV, then PKCS#7-padded ciphertext.
type cbc struct{ block cipher.Block }

func newCBC(key []byte) (cipherTransform, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cbc{block}, nil
}

func (c cbc) seal(_ string, plain []byte) ([]byte, error) {
	bs := aes.BlockSize
	pad := bs - len(plain)%bs
	out := make([]byte, bs+len(plain)+pad)
	if _, err := rand.Read(out[:bs]); err != nil {
		return nil, err
	}
	copy(out[bs:], plain)
	for i := bs + len(plain); i < len(out); i++ {
		out[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(c.block, out[:bs]).CryptBlocks(out[bs:], out[bs:])
	return out, nil
}

func (c cbc) open(_ string, data []byte) ([]byte, error) {
	bs := aes.BlockSize
	if len(data) < 2*bs || len(data)%bs != 0 {
		return nil, errors.New("the stored data is not a multiple of the block size")
	}
	out := make([]byte, len(data)-bs)
	cipher.NewCBCDecrypter(c.block, data[:bs]).CryptBlocks(out, data[bs:])
	pad := int(out[len(out)-1])
	if pad == 0 || pad > bs || pad > len(out) {
		return nil, errors.New("invalid PKCS7 data (empty or not padded)")
	}
	for _, b := range out[len(out)-pad:] {
		if int(b) != pad {
			return nil, errors.New("invalid padding on input")
		}
	}
	return out[:len(out)-pad], nil
}

// box is upstream's secretbox: a random 24-byte nonce, then the box.
type box struct{ key [32]byte }

func newSecretbox(key []byte) (cipherTransform, error) {
	var b box
	copy(b.key[:], key)
	return b, nil
}

func (b box) seal(_ string, plain []byte) ([]byte, error) {
	var nonce [24]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, err
	}
	return secretbox.Seal(nonce[:], plain, &nonce, &b.key), nil
}

func (b box) open(_ string, data []byte) ([]byte, error) {
	if len(data) < 24 {
		return nil, errors.New("the stored data was shorter than the required size")
	}
	var nonce [24]byte
	copy(nonce[:], data[:24])
	out, ok := secretbox.Open(nil, data[24:], &nonce, &b.key)
	if !ok {
		return nil, errors.New("output array was not large enough for encryption")
	}
	return out, nil
}
