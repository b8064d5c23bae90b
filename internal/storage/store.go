package storage

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

// Prefix is where every API object lives in etcd.
const Prefix = "/registry/"

// Store is the API server's view of etcd. Only the API server holds one.
type Store struct {
	client *clientv3.Client
	codec  *codec
	cache  *cache
	leases *leases
	log    *slog.Logger
}

// Preconditions must hold for an update or delete to go ahead.
type Preconditions struct {
	UID             *types.UID
	ResourceVersion *string
}

func (p *Preconditions) check(key string, obj runtime.Object) error {
	if p == nil {
		return nil
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	if p.UID != nil && *p.UID != m.GetUID() {
		return errConflict(key, fmt.Sprintf("Precondition failed: UID in precondition: %v, UID in object meta: %v", *p.UID, m.GetUID()))
	}
	if p.ResourceVersion != nil && *p.ResourceVersion != m.GetResourceVersion() {
		return errConflict(key, fmt.Sprintf("Precondition failed: ResourceVersion in precondition: %v, ResourceVersion in object meta: %v", *p.ResourceVersion, m.GetResourceVersion()))
	}
	return nil
}

// Open starts a store on an etcd client: it loads every object under
// /registry/ into the cache and starts the one watch that keeps it current.
// It returns once the cache holds etcd's state at the revision it read.
func Open(ctx context.Context, client *clientv3.Client, scheme *runtime.Scheme, log *slog.Logger, opts ...Option) (*Store, error) {
	s := &Store{client: client, codec: newCodec(scheme), log: log,
		leases: &leases{client: client, ttls: map[string]time.Duration{}, cur: map[time.Duration]grantedLease{}}}
	for _, o := range opts {
		o(s)
	}
	c, err := startCache(ctx, client, s.codec, log)
	if err != nil {
		return nil, err
	}
	s.cache = c
	return s, nil
}

// Create stores obj at key if nothing is there, and returns it with its
// new resourceVersion. obj must carry apiVersion and kind.
func (s *Store) Create(ctx context.Context, key string, obj runtime.Object) (runtime.Object, error) {
	plain, err := s.codec.encode(obj)
	if err != nil {
		return nil, err
	}
	data, err := s.codec.seal(key, plain)
	if err != nil {
		return nil, err
	}
	opts, err := s.leases.putOptions(ctx, key)
	if err != nil {
		return nil, err
	}
	resp, err := s.commitIf(ctx, clientv3.Compare(clientv3.ModRevision(key), "=", 0), clientv3.OpPut(key, string(data), opts...))
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", key, err)
	}
	if !resp.Succeeded {
		return nil, errExists(key)
	}
	if err := setRV(obj, resp.Header.Revision); err != nil {
		return nil, err
	}
	return obj, nil
}

// Get reads the object at key. With a resourceVersion of "" it reads etcd
// itself (the newest committed state); otherwise the cache answers, once it
// has caught up to that revision.
func (s *Store) Get(ctx context.Context, key string, resourceVersion string) (runtime.Object, error) {
	if resourceVersion == "" {
		return s.getFromEtcd(ctx, key)
	}
	rev, err := ParseRV(resourceVersion)
	if err != nil {
		return nil, err
	}
	if err := s.cache.waitForRev(ctx, rev); err != nil {
		return nil, err
	}
	obj, ok := s.cache.get(key)
	if !ok {
		return nil, errNotFound(key)
	}
	return obj, nil
}

func (s *Store) getFromEtcd(ctx context.Context, key string) (runtime.Object, error) {
	resp, err := s.client.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, errNotFound(key)
	}
	obj, _, err := s.codec.decodeStored(key, resp.Kvs[0].Value, resp.Kvs[0].ModRevision)
	return obj, err
}

// UpdateFunc computes the new state of an object from its current one, a
// copy the function may change. It returns an error to abort the update.
type UpdateFunc func(current runtime.Object) (runtime.Object, error)

// Update applies tryUpdate to the object at key until the result is stored
// without a concurrent change in between (compare-and-swap on its
// revision). Preconditions are checked against each state tried. An update
// that changes nothing is not written and returns the current object.
func (s *Store) Update(ctx context.Context, key string, precond *Preconditions, tryUpdate UpdateFunc) (runtime.Object, error) {
	current, rev, data, fromCache, err := s.current(ctx, key)
	if err != nil {
		return nil, err
	}
	for {
		if err := precond.check(key, current); err != nil {
			if fromCache {
				// The cache may lag behind a write the client already saw.
				current, rev, data, err = s.currentFromEtcd(ctx, key)
				if err != nil {
					return nil, err
				}
				fromCache = false
				continue
			}
			return nil, err
		}
		updated, err := tryUpdate(current.DeepCopyObject())
		if err != nil {
			if fromCache {
				// The refusal may come from a stale cached state (a
				// resourceVersion the client already saw): decide on
				// etcd's.
				if current, rev, data, err = s.currentFromEtcd(ctx, key); err != nil {
					return nil, err
				}
				fromCache = false
				continue
			}
			return nil, err
		}
		newData, err := s.codec.encode(updated)
		if err != nil {
			return nil, err
		}
		if bytes.Equal(newData, data) {
			if fromCache {
				// Nothing to write, as far as a possibly stale cache
				// knows: make sure against etcd.
				if current, rev, data, err = s.currentFromEtcd(ctx, key); err != nil {
					return nil, err
				}
				fromCache = false
				continue
			}
			// An unchanged value still sealed with an older key is
			// rewritten with the first one (key rotation: upstream's
			// `kubectl get secrets -A -o json | kubectl replace -f -`).
			if !s.codec.staleAt(ctx, s.client, key, rev) {
				return current, nil
			}
		}
		opts, err := s.leases.putOptions(ctx, key)
		if err != nil {
			return nil, err
		}
		sealed, err := s.codec.seal(key, newData)
		if err != nil {
			return nil, err
		}
		resp, err := s.commitIf(ctx, clientv3.Compare(clientv3.ModRevision(key), "=", rev), clientv3.OpPut(key, string(sealed), opts...), clientv3.OpGet(key))
		if err != nil {
			return nil, fmt.Errorf("update %s: %w", key, err)
		}
		if resp.Succeeded {
			if err := setRV(updated, resp.Header.Revision); err != nil {
				return nil, err
			}
			return updated, nil
		}
		kvs := resp.Responses[0].GetResponseRange().Kvs
		if len(kvs) == 0 {
			return nil, errNotFound(key)
		}
		rev, fromCache = kvs[0].ModRevision, false
		if current, data, err = s.codec.decodeStored(key, kvs[0].Value, rev); err != nil {
			return nil, err
		}
	}
}

// current returns the object at key with its revision and stored bytes,
// from the cache when it has the key, else from etcd.
func (s *Store) current(ctx context.Context, key string) (runtime.Object, int64, []byte, bool, error) {
	if e, ok := s.cache.getEntry(key); ok {
		return e.obj, ObjectRV(e.obj), e.raw, true, nil
	}
	obj, rev, data, err := s.currentFromEtcd(ctx, key)
	return obj, rev, data, false, err
}

func (s *Store) currentFromEtcd(ctx context.Context, key string) (runtime.Object, int64, []byte, error) {
	resp, err := s.client.Get(ctx, key)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("get %s: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, 0, nil, errNotFound(key)
	}
	kv := resp.Kvs[0]
	obj, plain, err := s.codec.decodeStored(key, kv.Value, kv.ModRevision)
	return obj, kv.ModRevision, plain, err
}

// Delete removes the object at key if the preconditions and check hold on
// its current state, and returns the last state with the deletion's
// revision as resourceVersion.
func (s *Store) Delete(ctx context.Context, key string, precond *Preconditions, check func(current runtime.Object) error) (runtime.Object, error) {
	current, rev, _, fromCache, err := s.current(ctx, key)
	if err != nil {
		return nil, err
	}
	for {
		if err := precond.check(key, current); err != nil {
			if fromCache {
				if current, rev, _, err = s.currentFromEtcd(ctx, key); err != nil {
					return nil, err
				}
				fromCache = false
				continue
			}
			return nil, err
		}
		if check != nil {
			if err := check(current); err != nil {
				return nil, err
			}
		}
		resp, err := s.commitIf(ctx, clientv3.Compare(clientv3.ModRevision(key), "=", rev), clientv3.OpDelete(key), clientv3.OpGet(key))
		if err != nil {
			return nil, fmt.Errorf("delete %s: %w", key, err)
		}
		if resp.Succeeded {
			deleted := current.DeepCopyObject()
			if err := setRV(deleted, resp.Header.Revision); err != nil {
				return nil, err
			}
			return deleted, nil
		}
		kvs := resp.Responses[0].GetResponseRange().Kvs
		if len(kvs) == 0 {
			return nil, errNotFound(key)
		}
		rev, fromCache = kvs[0].ModRevision, false
		if current, _, err = s.codec.decodeStored(key, kvs[0].Value, rev); err != nil {
			return nil, err
		}
	}
}

// Revision returns the newest revision the store has seen.
func (s *Store) Revision() int64 { return s.cache.revision() }

// Close stops the cache's watch.
func (s *Store) Close() { s.cache.stop() }

// Healthy is nil when etcd answers a quorum read within ctx: the API
// server's etcd health check.
func (s *Store) Healthy(ctx context.Context) error {
	if _, err := s.client.Get(ctx, "/health", clientv3.WithCountOnly()); err != nil {
		return fmt.Errorf("etcd: %w", err)
	}
	return nil
}
