package storage

import (
	"context"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/kemudi/kemudi/internal/storage/encryption"
)

// Option configures a Store at Open.
type Option func(*Store)

// WithEncryption encrypts the values of the resources t configures
// (upstream's --encryption-provider-config): etcd holds them sealed; the
// cache, the history and every comparison hold them in the clear.
func WithEncryption(t encryption.Transformers) Option {
	return func(s *Store) { s.codec.transformers = t }
}

func (c *codec) transformer(key string) encryption.Transformer {
	if c.transformers == nil {
		return nil
	}
	return c.transformers.For("", resourceOf(key))
}

// seal turns an encoded object into what etcd holds at key.
func (c *codec) seal(key string, plain []byte) ([]byte, error) {
	t := c.transformer(key)
	if t == nil {
		return plain, nil
	}
	out, err := t.Encrypt(key, plain)
	if err != nil {
		return nil, fmt.Errorf("encrypt %s: %w", key, err)
	}
	return out, nil
}

// open turns what etcd holds at key into the encoded object.
func (c *codec) open(key string, stored []byte) ([]byte, error) {
	t := c.transformer(key)
	if t == nil {
		return stored, nil
	}
	plain, _, err := t.Decrypt(key, stored)
	if err != nil {
		return nil, fmt.Errorf("decrypt %s: %w", key, err)
	}
	return plain, nil
}

// decodeStored opens and decodes a value read from etcd, returning the
// clear bytes too.
func (c *codec) decodeStored(key string, stored []byte, rev int64) (runtimeObject, []byte, error) {
	plain, err := c.open(key, stored)
	if err != nil {
		return nil, nil, err
	}
	obj, err := c.decode(plain, rev)
	return obj, plain, err
}

// staleAt reports whether the value etcd holds at key, at revision rev,
// was sealed with another provider or key than the first.
func (c *codec) staleAt(ctx context.Context, client *clientv3.Client, key string, rev int64) bool {
	t := c.transformer(key)
	if t == nil {
		return false
	}
	resp, err := client.Get(ctx, key)
	if err != nil || len(resp.Kvs) == 0 || resp.Kvs[0].ModRevision != rev {
		return false
	}
	_, stale, err := t.Decrypt(key, resp.Kvs[0].Value)
	return err == nil && stale
}
