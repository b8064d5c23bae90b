package storage

import (
	"context"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// compactKey records the last compaction so that several API servers on
// one etcd compact once per interval between them, as upstream does.
const compactKey = "compact_rev_key"

// RunCompactor compacts etcd's history every interval, to the revision
// seen one interval earlier: watches and continue tokens stay valid for at
// least one interval, and the database does not grow without bound.
func (s *Store) RunCompactor(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var version, target int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		v, rev, err := s.compactOnce(ctx, version, target)
		if err != nil {
			s.log.Warn("compact etcd", "err", err)
			continue
		}
		version, target = v, rev
	}
}

// compactOnce compacts to target if no other server did since version,
// and returns the new version and the revision to compact to next time.
func (s *Store) compactOnce(ctx context.Context, version, target int64) (int64, int64, error) {
	resp, err := s.client.Txn(ctx).
		If(clientv3.Compare(clientv3.Version(compactKey), "=", version)).
		Then(clientv3.OpPut(compactKey, "")).
		Else(clientv3.OpGet(compactKey)).
		Commit()
	if err != nil {
		return version, target, err
	}
	current := resp.Header.Revision
	if !resp.Succeeded {
		// Another server compacted; follow its schedule.
		kvs := resp.Responses[0].GetResponseRange().Kvs
		if len(kvs) > 0 {
			return kvs[0].Version, current, nil
		}
		return version, current, nil
	}
	if target > 0 {
		if _, err := s.client.Compact(ctx, target); err != nil {
			return version + 1, current, err
		}
		s.log.Debug("compacted etcd", "rev", target)
	}
	return version + 1, current, nil
}
