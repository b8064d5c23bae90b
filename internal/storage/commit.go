package storage

import (
	"context"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// commitIf writes then if cmp holds, else reads els. A ctx already over
// (the request's deadline passed, its client left) writes nothing: the
// embedded etcd's client hands a proposal to raft whatever its context,
// so a write asked for late would still land behind the caller's error.
func (s *Store) commitIf(ctx context.Context, cmp clientv3.Cmp, then clientv3.Op, els ...clientv3.Op) (*clientv3.TxnResponse, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.client.Txn(ctx).If(cmp).Then(then).Else(els...).Commit()
}
