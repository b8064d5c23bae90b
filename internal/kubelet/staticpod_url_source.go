package kubelet

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// manifestURLTimeout bounds one fetch of the manifest URL (upstream's
// client timeout): a fetch that hangs is a failed one, tried again.
const manifestURLTimeout = 10 * time.Second

// urlSource fetches the static pods of the manifest URL (upstream's
// --manifest-url). Only the goroutine that polls it uses it (the
// kubelet's first read happens before that goroutine starts).
type urlSource struct {
	url    string
	header http.Header
	client *http.Client
	last   []byte // the body last applied
	failed string // the error last logged, "" when the last fetch worked
}

func newURLSource(o Options) (*urlSource, error) {
	u, err := url.Parse(o.ManifestURL)
	if err != nil {
		return nil, fmt.Errorf("manifest URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("manifest URL %s: want an http or https URL", u.Redacted())
	}
	if o.HTTPCheckFrequency <= 0 {
		return nil, fmt.Errorf("HTTP check frequency %s: must be greater than 0", o.HTTPCheckFrequency)
	}
	header := http.Header{}
	for k, vs := range o.ManifestURLHeader {
		for _, v := range vs {
			header.Add(k, v)
		}
	}
	return &urlSource{url: o.ManifestURL, header: header, client: &http.Client{Timeout: manifestURLTimeout}}, nil
}

// fetch GETs the URL with the configured headers: the body of a 200
// answer, or an error.
func (u *urlSource) fetch(ctx context.Context) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.url, nil)
	if err != nil {
		return nil, fmt.Errorf("manifest URL: %w", err)
	}
	req.Header = u.header.Clone()
	resp, err := u.client.Do(req)
	if err != nil {
		return nil, err // names the URL, without its password
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", redacted(u.url), resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxManifestBody+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", redacted(u.url), err)
	}
	if len(body) > maxManifestBody {
		return nil, fmt.Errorf("%s: body larger than %d bytes", redacted(u.url), maxManifestBody)
	}
	return body, nil
}

// loadURL fetches the URL and makes its pods the URL source's set. As
// upstream: a failed fetch, an answer other than 200 or a body that is
// not pods keeps the last good set; an empty body is an empty set (and
// an error); an unchanged body changes nothing.
func (s *staticPods) loadURL(ctx context.Context) {
	u := s.url
	body, err := u.fetch(ctx)
	if err == nil && len(body) == 0 {
		u.last = nil
		s.apply(sourceHTTP, nil, nil)
		err = fmt.Errorf("zero-length data received from %s", redacted(u.url))
	}
	if err == nil && !bytes.Equal(body, u.last) {
		var pods []*corev1.Pod
		if pods, err = URLPods(body, u.url, s.k.opts.NodeName); err == nil {
			want, origin := s.distinctURLPods(pods)
			u.last = body
			s.apply(sourceHTTP, want, origin)
		}
	}
	switch {
	case err != nil && ctx.Err() != nil:
		// Shutting down: not the URL's fault.
	case err != nil:
		if err.Error() != u.failed {
			u.failed = err.Error()
			s.k.log.Error("read static pods from URL", "url", redacted(u.url), "err", err)
		}
	case u.failed != "":
		u.failed = ""
		s.k.log.Info("read static pods from URL again", "url", redacted(u.url))
	}
}

// distinctURLPods is the URL's pods by UID; of pods with the same
// namespace/name the first is kept, as upstream keeps it.
func (s *staticPods) distinctURLPods(pods []*corev1.Pod) (map[types.UID]*corev1.Pod, map[types.UID]string) {
	want, origin := map[types.UID]*corev1.Pod{}, map[types.UID]string{}
	names := map[string]bool{}
	from := redacted(s.url.url)
	for i, p := range pods {
		key := p.Namespace + "/" + p.Name
		if names[key] {
			s.k.log.Warn("static pod skipped: an earlier pod of the URL has its name", "pod", key, "index", i, "url", from)
			continue
		}
		names[key] = true
		p = s.known(sourceHTTP, p)
		want[p.UID], origin[p.UID] = p, from
	}
	return want, origin
}

// pollURL fetches the URL every HTTPCheckFrequency until ctx ends.
func (s *staticPods) pollURL(ctx context.Context) {
	t := time.NewTicker(s.k.opts.HTTPCheckFrequency)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.loadURL(ctx)
		}
	}
}

// headerKeys are the names of the headers sent, for the log: their
// values may be credentials.
func headerKeys(h http.Header) []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
