package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// DefaultRequestTimeout is upstream's --request-timeout: how long a
// request that is not long-running may take.
const DefaultRequestTimeout = 60 * time.Second

// invalidTimeoutInURL is upstream's message for a bad ?timeout=.
const invalidTimeoutInURL = "invalid timeout specified in the request URL"

// writeTimeoutUpperBound is upstream's bound on creates, patches and
// deletes of one object, whatever --request-timeout says.
const writeTimeoutUpperBound = 34 * time.Second

// requestTimeout is how long a request of verb may take: the ?timeout=
// it asks for when that is positive and shorter than limit, else limit;
// creates, patches and deletes at most writeTimeoutUpperBound. A value
// that is not a Go duration is upstream's 400.
func requestTimeout(timeout, verb string, limit time.Duration) (time.Duration, error) {
	switch verb {
	case "create", "patch", "delete":
		limit = min(limit, writeTimeoutUpperBound)
	}
	if timeout == "" {
		return limit, nil
	}
	d, err := time.ParseDuration(timeout)
	if err != nil {
		return 0, apierrors.NewBadRequest(fmt.Sprintf("%s - %v", invalidTimeoutInURL, err))
	}
	if d > 0 && d < limit {
		return d, nil
	}
	return limit, nil
}

// isLongRunning says which requests have no deadline, as upstream's
// kube-apiserver: watches, proxies, attach, exec, port-forward and
// logs, and profiles (which take ?seconds=). info is nil for paths
// that are not resource requests.
func isLongRunning(path string, info *requestInfo) bool {
	if info == nil {
		return strings.HasPrefix(path, "/debug/pprof/")
	}
	switch info.Verb {
	case "watch", "proxy":
		return true
	}
	switch info.Subresource {
	case "attach", "exec", "proxy", "log", "portforward":
		return true
	}
	return false
}

// withRequestDeadline gives a request that is not long-running its
// deadline, counted from when it was received; cancel releases it.
func (s *Server) withRequestDeadline(r *http.Request, info *requestInfo, received time.Time) (_ *http.Request, cancel context.CancelFunc, _ error) {
	if isLongRunning(r.URL.Path, info) {
		return r, func() {}, nil
	}
	verb := ""
	if info != nil {
		verb = info.Verb
	}
	timeout, err := requestTimeout(r.URL.Query().Get("timeout"), verb, s.requestTimeout)
	if err != nil {
		return r, func() {}, err
	}
	ctx, cancel := context.WithDeadline(r.Context(), received.Add(timeout))
	return r.WithContext(ctx), cancel, nil
}

// timedOut is upstream's answer once a request's deadline has passed,
// whatever the work behind it failed with meanwhile (a webhook call, an
// etcd request cut short).
func timedOut(ctx context.Context) *apierrors.StatusError {
	return apierrors.NewTimeoutError(fmt.Sprintf("request did not complete within requested timeout - %v", ctx.Err()), 0)
}

// deadlinePassed says whether ctx, a request's deadline, is over.
func deadlinePassed(ctx context.Context) bool {
	return ctx != nil && errors.Is(ctx.Err(), context.DeadlineExceeded)
}
