package storage

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// ListOptions are a list request's resourceVersion semantics, paging and
// selection, as the Kubernetes API defines them.
type ListOptions struct {
	ResourceVersion      string
	ResourceVersionMatch metav1.ResourceVersionMatch
	Limit                int64
	Continue             string
	Predicate            Predicate
}

// ListResult is one page of a list.
type ListResult struct {
	Items []runtime.Object
	// Rev is the revision the list reflects.
	Rev      int64
	Continue string
	// Remaining counts the items after this page, when known (no selector).
	Remaining *int64
}

// List returns the objects under prefix, which must end in "/".
func (s *Store) List(ctx context.Context, prefix string, opts ListOptions) (*ListResult, error) {
	if opts.Continue != "" {
		if opts.ResourceVersion != "" && opts.ResourceVersion != "0" {
			return nil, errInvalid(prefix, "specifying resource version is not allowed when using continue")
		}
		rev, start, err := decodeContinue(opts.Continue, prefix)
		if err != nil {
			return nil, err
		}
		return s.listEtcd(ctx, prefix, start, rev, opts)
	}
	rev, err := ParseRV(opts.ResourceVersion)
	if err != nil {
		return nil, err
	}
	switch opts.ResourceVersionMatch {
	case metav1.ResourceVersionMatchExact:
		if rev == 0 {
			return nil, errInvalid(prefix, "resourceVersionMatch=Exact requires a resourceVersion other than 0")
		}
		return s.listEtcd(ctx, prefix, prefix, rev, opts)
	case "", metav1.ResourceVersionMatchNotOlderThan:
	default:
		return nil, errInvalid(prefix, fmt.Sprintf("resourceVersionMatch %q is not one of Exact, NotOlderThan", opts.ResourceVersionMatch))
	}
	if opts.ResourceVersion == "" {
		if rev, err = s.cache.consistentRev(ctx); err != nil {
			return nil, err
		}
	}
	if err := s.cache.waitForRev(ctx, rev); err != nil {
		return nil, err
	}
	return s.listCache(prefix, opts), nil
}

// listCache serves a list, or its first page, from memory.
func (s *Store) listCache(prefix string, opts ListOptions) *ListResult {
	rc := s.cache.resource(resourceOf(prefix))
	rc.mu.RLock()
	defer rc.mu.RUnlock()
	res := &ListResult{Rev: s.cache.snapshotRev(rc)}
	var last string
	more := int64(0)
	rc.items.AscendGreaterOrEqual(&entry{key: prefix}, func(e *entry) bool {
		if !strings.HasPrefix(e.key, prefix) {
			return false
		}
		if opts.Limit > 0 && int64(len(res.Items)) >= opts.Limit {
			if opts.Predicate != nil {
				// There is more, but how much matches is unknown.
				more = 1
				return false
			}
			more++
			return true
		}
		if opts.Predicate.matches(e.obj) {
			res.Items = append(res.Items, e.obj)
			last = e.key
		}
		return true
	})
	if more > 0 {
		res.Continue = encodeContinue(res.Rev, last+"\x00", prefix)
		if opts.Predicate == nil {
			res.Remaining = &more
		}
	}
	return res
}

// listEtcd serves a page at an exact revision from etcd (continued lists
// and resourceVersionMatch=Exact), reading batches until the page is full.
func (s *Store) listEtcd(ctx context.Context, prefix, start string, rev int64, opts ListOptions) (*ListResult, error) {
	end := clientv3.GetPrefixRangeEnd(prefix)
	res := &ListResult{Rev: rev}
	batch := opts.Limit
	if batch <= 0 || batch > 1000 {
		batch = 1000
	}
	key := start
	for {
		resp, err := s.client.Get(ctx, key, clientv3.WithRange(end), clientv3.WithRev(rev), clientv3.WithLimit(batch))
		if err != nil {
			if strings.Contains(err.Error(), "required revision has been compacted") {
				return nil, errExpired(prefix, "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.")
			}
			if strings.Contains(err.Error(), "future revision") {
				return nil, &Error{Code: CodeTimeout, Key: prefix, Msg: fmt.Sprintf("Too large resource version: %d", rev)}
			}
			return nil, fmt.Errorf("list %s: %w", prefix, err)
		}
		for i, kv := range resp.Kvs {
			obj, _, err := s.codec.decodeStored(string(kv.Key), kv.Value, kv.ModRevision)
			if err != nil {
				return nil, err
			}
			if !opts.Predicate.matches(obj) {
				continue
			}
			res.Items = append(res.Items, obj)
			if opts.Limit > 0 && int64(len(res.Items)) == opts.Limit {
				moreHere := i < len(resp.Kvs)-1
				if moreHere || resp.More {
					res.Continue = encodeContinue(rev, string(kv.Key)+"\x00", prefix)
					if opts.Predicate == nil {
						n := resp.Count - int64(i) - 1
						res.Remaining = &n
					}
				}
				return res, nil
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return res, nil
		}
		key = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// continueToken is upstream's format, so clients may keep tokens across
// API servers.
type continueToken struct {
	APIVersion      string `json:"v"`
	ResourceVersion int64  `json:"rv"`
	StartKey        string `json:"start"`
}

func encodeContinue(rev int64, nextKey, prefix string) string {
	data, _ := json.Marshal(continueToken{APIVersion: "meta.k8s.io/v1", ResourceVersion: rev, StartKey: strings.TrimPrefix(nextKey, prefix)})
	return base64.RawURLEncoding.EncodeToString(data)
}

func decodeContinue(token, prefix string) (int64, string, error) {
	bad := func(why string) (int64, string, error) {
		return 0, "", errInvalid(prefix, "continue key is not valid: "+why)
	}
	data, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return bad("incorrect encoding")
	}
	var t continueToken
	if err := json.Unmarshal(data, &t); err != nil {
		return bad("incorrect encoding")
	}
	if t.APIVersion != "meta.k8s.io/v1" {
		return bad("server does not recognize this encoding")
	}
	if t.ResourceVersion <= 0 {
		return bad("incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
	}
	if t.StartKey == "" || strings.HasPrefix(t.StartKey, "/") || strings.Contains(t.StartKey, "..") {
		return bad("invalid start key")
	}
	return t.ResourceVersion, prefix + t.StartKey, nil
}
