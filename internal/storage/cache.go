package storage

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/btree"
	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

const (
	// historyAge and historyMax bound the events a resource remembers for
	// watches that resume from a past revision; older ones get 410 Gone.
	// Upstream's watch cache keeps 75 s of history as well: clients that
	// fall further behind relist. (Every remembered event holds a decoded
	// object: with 5,000 nodes renewing leases, five minutes of history
	// cost the server more memory than all its current objects.)
	historyAge = 75 * time.Second
	historyMax = 50000
	// waitForRevTimeout is how long a read waits for the cache to reach a
	// revision before it fails, as upstream's 3 s "too large resource
	// version" limit.
	waitForRevTimeout = 3 * time.Second
)

// cache holds every object under Prefix, fed by one etcd watch.
type cache struct {
	client *clientv3.Client
	codec  *codec
	log    *slog.Logger
	cancel context.CancelFunc
	done   chan struct{}

	mu        sync.Mutex
	revCond   *sync.Cond
	rev       int64 // newest revision applied
	resources map[string]*resourceCache
}

type entry struct {
	key string
	obj runtime.Object
	// raw is the object as stored, for the history to keep once this
	// version is superseded.
	raw []byte
}

func lessEntry(a, b *entry) bool { return a.key < b.key }

// resourceCache is the part of the cache under one /registry/<resource>/.
type resourceCache struct {
	mu    sync.RWMutex
	items *btree.BTreeG[*entry]
	// history holds the newest events in order; history covers every
	// change after historyFrom.
	history     []*Event
	historyTime []time.Time
	historyFrom int64
	// compacted counts the oldest history events that keep only the bytes
	// of their objects (see compactHistory); compactTimer compacts the
	// rest when no further event comes to do it.
	compacted    int
	compactTimer *time.Timer
	watchers     map[*Watch]struct{}
}

func newResourceCache(from int64) *resourceCache {
	return &resourceCache{
		items:       btree.NewG(32, lessEntry),
		historyFrom: from,
		watchers:    map[*Watch]struct{}{},
	}
}

// resourceOf returns the resource segment of a key: "pods" for
// /registry/pods/ns/name.
func resourceOf(key string) string {
	rest := strings.TrimPrefix(key, Prefix)
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return rest[:i]
	}
	return rest
}

func startCache(ctx context.Context, client *clientv3.Client, codec *codec, log *slog.Logger) (*cache, error) {
	c := &cache{client: client, codec: codec, log: log, resources: map[string]*resourceCache{}, done: make(chan struct{})}
	c.revCond = sync.NewCond(&c.mu)
	rev, resources, err := c.load(ctx)
	if err != nil {
		return nil, err
	}
	c.rev, c.resources = rev, resources
	wctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	go c.run(wctx, rev)
	return c, nil
}

// load reads every object at one revision, in pages, and returns them by
// resource with that revision.
func (c *cache) load(ctx context.Context) (int64, map[string]*resourceCache, error) {
	end := clientv3.GetPrefixRangeEnd(Prefix)
	key, rev := Prefix, int64(0)
	resources := map[string]*resourceCache{}
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(5000)}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := c.client.Get(ctx, key, opts...)
		if err != nil {
			return 0, nil, fmt.Errorf("load %s: %w", Prefix, err)
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			obj, plain, err := c.codec.decodeStored(string(kv.Key), kv.Value, kv.ModRevision)
			if err != nil {
				c.log.Error("skipping undecodable object", "key", string(kv.Key), "err", err)
				continue
			}
			k := string(kv.Key)
			rc, ok := resources[resourceOf(k)]
			if !ok {
				rc = newResourceCache(rev)
				resources[resourceOf(k)] = rc
			}
			rc.items.ReplaceOrInsert(&entry{key: k, obj: obj, raw: plain})
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return rev, resources, nil
		}
		key = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// resource returns the cache of one resource, creating it empty.
func (c *cache) resource(name string) *resourceCache {
	c.mu.Lock()
	defer c.mu.Unlock()
	rc, ok := c.resources[name]
	if !ok {
		rc = newResourceCache(c.rev)
		c.resources[name] = rc
	}
	return rc
}

// run follows etcd from rev+1 until stopped, re-watching after errors.
func (c *cache) run(ctx context.Context, rev int64) {
	defer close(c.done)
	for ctx.Err() == nil {
		next, err := c.follow(ctx, rev)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			c.log.Error("etcd watch ended; restarting", "rev", next, "err", err)
		}
		rev = next
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// follow applies watch events after rev and returns the last revision
// applied when the watch ends.
func (c *cache) follow(ctx context.Context, rev int64) (int64, error) {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	wch := c.client.Watch(wctx, Prefix, clientv3.WithPrefix(), clientv3.WithRev(rev+1), clientv3.WithProgressNotify())
	for resp := range wch {
		if err := resp.Err(); err != nil {
			if resp.CompactRevision != 0 {
				// History we never saw is gone: start over from a fresh
				// load; watchers must relist.
				return c.reload(ctx, rev), err
			}
			return rev, err
		}
		if resp.IsProgressNotify() {
			c.advance(resp.Header.Revision)
			continue
		}
		for _, ev := range resp.Events {
			c.apply(ev)
			rev = ev.Kv.ModRevision
		}
		c.advance(rev)
	}
	return rev, ctx.Err()
}

// apply turns one etcd event into a cache change and tells the watchers.
func (c *cache) apply(ev *clientv3.Event) {
	key := string(ev.Kv.Key)
	rc := c.resource(resourceOf(key))
	rc.mu.Lock()
	defer rc.mu.Unlock()
	old, hadOld := rc.items.Get(&entry{key: key})
	e := &Event{Key: key, Rev: ev.Kv.ModRevision}
	if hadOld {
		e.Prev = old.obj
		e.prevRaw, e.prevRev = old.raw, ObjectRV(old.obj)
	}
	switch ev.Type {
	case clientv3.EventTypePut:
		obj, plain, err := c.codec.decodeStored(key, ev.Kv.Value, ev.Kv.ModRevision)
		if err != nil {
			c.log.Error("skipping undecodable object", "key", key, "err", err)
			return
		}
		e.Object, e.raw = obj, plain
		e.Type = watch.Added
		if hadOld {
			e.Type = watch.Modified
		}
		rc.items.ReplaceOrInsert(&entry{key: key, obj: obj, raw: plain})
	case clientv3.EventTypeDelete:
		if !hadOld {
			return
		}
		last := old.obj.DeepCopyObject()
		if err := setRV(last, ev.Kv.ModRevision); err != nil {
			return
		}
		e.Type, e.Object = watch.Deleted, last
		rc.items.Delete(old)
	}
	rc.record(e)
	for w := range rc.watchers {
		w.send(e)
	}
}

// record appends e to the history, forgetting events too old to keep and
// keeping only the stored bytes of those older than compactAfter.
func (rc *resourceCache) record(e *Event) {
	now := time.Now()
	defer rc.compactHistory(now)
	drop := 0
	for drop < len(rc.history) && (len(rc.history)-drop >= historyMax || now.Sub(rc.historyTime[drop]) > historyAge) {
		drop++
	}
	if drop > 0 {
		rc.historyFrom = rc.history[drop-1].Rev
		// Shift in place; reallocate now and then so the array shrinks.
		rc.compacted = max(rc.compacted-drop, 0)
		if cap(rc.history) > 4*len(rc.history) {
			rc.history = append([]*Event(nil), rc.history[drop:]...)
			rc.historyTime = append([]time.Time(nil), rc.historyTime[drop:]...)
		} else {
			rc.history = rc.history[:copy(rc.history, rc.history[drop:])]
			rc.historyTime = rc.historyTime[:copy(rc.historyTime, rc.historyTime[drop:])]
		}
	}
	rc.history = append(rc.history, e)
	rc.historyTime = append(rc.historyTime, now)
}

// advance records that the cache reflects etcd up to rev.
func (c *cache) advance(rev int64) {
	c.mu.Lock()
	if rev > c.rev {
		c.rev = rev
		c.revCond.Broadcast()
	}
	c.mu.Unlock()
}

func (c *cache) revision() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rev
}

// reload replaces the cache's contents with a fresh read of etcd after the
// watch lost history. Every watcher is ended so that clients relist.
func (c *cache) reload(ctx context.Context, rev int64) int64 {
	for ctx.Err() == nil {
		newRev, resources, err := c.load(ctx)
		if err == nil {
			c.mu.Lock()
			old := c.resources
			c.resources = resources
			if newRev > c.rev {
				c.rev = newRev
			}
			c.revCond.Broadcast()
			c.mu.Unlock()
			for _, rc := range old {
				rc.mu.Lock()
				for w := range rc.watchers {
					w.end(errExpired("", "the cache lost its history; relist"))
				}
				rc.mu.Unlock()
			}
			return newRev
		}
		c.log.Error("reload cache", "err", err)
		time.Sleep(time.Second)
	}
	return rev
}

// waitForRev blocks until the cache has applied rev, or fails after
// waitForRevTimeout (etcd is asked for a progress notification meanwhile,
// for when no event under Prefix carries the revision).
func (c *cache) waitForRev(ctx context.Context, rev int64) error {
	c.mu.Lock()
	if c.rev >= rev {
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	deadline := time.Now().Add(waitForRevTimeout)
	progress := time.Now().Add(50 * time.Millisecond)
	for {
		c.mu.Lock()
		ok := c.rev >= rev
		c.mu.Unlock()
		if ok {
			return nil
		}
		now := time.Now()
		if now.After(deadline) {
			return &Error{Code: CodeTimeout, Msg: fmt.Sprintf("Too large resource version: %d, current: %d", rev, c.revision())}
		}
		if now.After(progress) {
			_ = c.client.RequestProgress(clientv3.WithRequireLeader(ctx))
			progress = now.Add(200 * time.Millisecond)
		}
		if err := c.waitChange(ctx, rev, 10*time.Millisecond); err != nil {
			return err
		}
	}
}

// waitChange waits up to d for the revision to reach rev.
func (c *cache) waitChange(ctx context.Context, rev int64, d time.Duration) error {
	timer := time.AfterFunc(d, func() {
		c.mu.Lock()
		c.revCond.Broadcast()
		c.mu.Unlock()
	})
	defer timer.Stop()
	c.mu.Lock()
	if c.rev < rev && ctx.Err() == nil {
		c.revCond.Wait()
	}
	c.mu.Unlock()
	return ctx.Err()
}

// consistentRev returns etcd's current revision (a quorum read).
func (c *cache) consistentRev(ctx context.Context) (int64, error) {
	resp, err := c.client.Get(ctx, Prefix+"#revision", clientv3.WithCountOnly())
	if err != nil {
		return 0, fmt.Errorf("read current revision: %w", err)
	}
	return resp.Header.Revision, nil
}

// get returns the cached object at key.
func (c *cache) get(key string) (runtime.Object, bool) {
	e, ok := c.getEntry(key)
	if !ok {
		return nil, false
	}
	return e.obj, true
}

// getEntry returns the cached object at key with its stored bytes.
func (c *cache) getEntry(key string) (*entry, bool) {
	rc := c.resource(resourceOf(key))
	rc.mu.RLock()
	defer rc.mu.RUnlock()
	return rc.items.Get(&entry{key: key})
}

func (c *cache) stop() {
	if c.cancel != nil {
		c.cancel()
		<-c.done
	}
}
