package harness

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"time"
)

// CPUProfile records the server's CPU for d and writes the profile to
// path, for `go tool pprof`. It returns after d (and the download).
func (s *Server) CPUProfile(ctx context.Context, d time.Duration, path string) error {
	secs := max(1, int(d.Round(time.Second)/time.Second))
	q := url.Values{"seconds": {strconv.Itoa(secs)}}
	return s.Profile(ctx, "profile", q, time.Duration(secs)*time.Second+time.Minute, path)
}

// HeapProfile writes the server's heap profile to path, after a garbage
// collection so that its in-use figures are current.
func (s *Server) HeapProfile(ctx context.Context, path string) error {
	return s.Profile(ctx, "heap", url.Values{"gc": {"1"}}, time.Minute, path)
}

// Profile fetches /debug/pprof/<name>?<query> with the admin
// credentials and writes it to path.
func (s *Server) Profile(ctx context.Context, name string, query url.Values, timeout time.Duration, path string) error {
	p := "/debug/pprof/" + name
	if len(query) > 0 {
		p += "?" + query.Encode()
	}
	body, err := s.get(ctx, p, timeout)
	if err != nil {
		return fmt.Errorf("profile %s: %w", name, err)
	}
	if err := os.WriteFile(path, body, 0o644); err != nil {
		return fmt.Errorf("profile %s: %w", name, err)
	}
	return nil
}
