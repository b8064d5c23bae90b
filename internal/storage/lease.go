package storage

import (
	"context"
	"fmt"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// leases attaches etcd leases to the keys of resources that expire
// (events). One lease serves every write in a window, as upstream's lease
// manager does, so that a burst of events costs one lease grant.
type leases struct {
	client *clientv3.Client
	mu     sync.Mutex
	ttls   map[string]time.Duration // by resource segment
	cur    map[time.Duration]grantedLease
}

type grantedLease struct {
	id      clientv3.LeaseID
	expires time.Time
}

// reuseWindow is how long one lease is shared: its TTL is stretched by it,
// so an object lives between ttl and ttl+window.
func reuseWindow(ttl time.Duration) time.Duration {
	w := ttl / 100
	if w > time.Minute {
		w = time.Minute
	}
	return w
}

// SetTTL makes objects of a resource (the key segment after /registry/)
// expire ttl after their last write.
func (s *Store) SetTTL(resource string, ttl time.Duration) {
	s.leases.mu.Lock()
	defer s.leases.mu.Unlock()
	s.leases.ttls[resource] = ttl
}

// putOptions returns the lease option for key, if its resource expires.
func (l *leases) putOptions(ctx context.Context, key string) ([]clientv3.OpOption, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ttl, ok := l.ttls[resourceOf(key)]
	if !ok {
		return nil, nil
	}
	now := time.Now()
	g, ok := l.cur[ttl]
	if !ok || g.expires.Sub(now) < ttl {
		window := reuseWindow(ttl)
		resp, err := l.client.Grant(ctx, int64((ttl+window)/time.Second)+1)
		if err != nil {
			return nil, fmt.Errorf("grant lease for %s: %w", key, err)
		}
		g = grantedLease{id: resp.ID, expires: now.Add(ttl + window)}
		l.cur[ttl] = g
	}
	return []clientv3.OpOption{clientv3.WithLease(g.id)}, nil
}
