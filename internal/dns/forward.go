package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// errOverloaded: too many questions are already upstream.
var errOverloaded = errors.New("too many concurrent forwards")

// forwarder asks the upstream resolvers, in order, through a cache,
// with at most a fixed number of questions in flight; identical
// questions in flight share one upstream exchange.
type forwarder struct {
	servers []string
	cache   *cache
	slots   chan struct{}
	metrics *metrics

	mu       sync.Mutex
	inflight map[cacheKey]*call
}

type call struct {
	done chan struct{}
	msg  *dns.Msg
	err  error
}

func newForwarder(servers []string, c *cache, maxConcurrent int, m *metrics) *forwarder {
	return &forwarder{servers: servers, cache: c, slots: make(chan struct{}, max(1, maxConcurrent)), metrics: m,
		inflight: make(map[cacheKey]*call)}
}

// Resolve answers q from the cache or upstream. The returned message is
// the caller's to modify.
func (f *forwarder) Resolve(ctx context.Context, q dns.Question) (*dns.Msg, error) {
	if m := f.cache.get(q); m != nil {
		f.metrics.cacheHit.Inc()
		return m, nil
	}
	f.metrics.cacheMiss.Inc()
	k := keyOf(q)
	f.mu.Lock()
	c, joined := f.inflight[k]
	if !joined {
		c = &call{done: make(chan struct{})}
		f.inflight[k] = c
	}
	f.mu.Unlock()
	if !joined {
		c.msg, c.err = f.exchangeBounded(ctx, q)
		if c.err == nil {
			f.cache.put(q, c.msg)
		}
		f.mu.Lock()
		delete(f.inflight, k)
		f.mu.Unlock()
		close(c.done)
	}
	select {
	case <-c.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if c.err != nil {
		return nil, c.err
	}
	return c.msg.Copy(), nil
}

func (f *forwarder) exchangeBounded(ctx context.Context, q dns.Question) (*dns.Msg, error) {
	select {
	case f.slots <- struct{}{}:
		defer func() { <-f.slots }()
	default:
		f.metrics.forwards.WithLabelValues("overload").Inc()
		return nil, errOverloaded
	}
	m, err := f.exchange(ctx, q)
	if err != nil {
		f.metrics.forwards.WithLabelValues("error").Inc()
		return nil, err
	}
	f.metrics.forwards.WithLabelValues("ok").Inc()
	return m, nil
}

// exchange tries each server in turn, over UDP and again over TCP when the
// answer was truncated.
func (f *forwarder) exchange(ctx context.Context, q dns.Question) (*dns.Msg, error) {
	if len(f.servers) == 0 {
		return nil, errors.New("no upstream resolvers")
	}
	req := new(dns.Msg)
	req.Id = dns.Id()
	req.RecursionDesired = true
	req.Question = []dns.Question{q}
	req.SetEdns0(maxUDPSize, false)
	var errs []error
	for _, server := range f.servers {
		if ctx.Err() != nil {
			break
		}
		m, err := f.exchangeOne(ctx, req, server)
		if err == nil {
			m.Id = 0
			return m, nil
		}
		errs = append(errs, err)
	}
	if ctx.Err() != nil {
		errs = append(errs, ctx.Err())
	}
	return nil, fmt.Errorf("forward %s %s: %w", q.Name, dns.TypeToString[q.Qtype], errors.Join(errs...))
}

func (f *forwarder) exchangeOne(ctx context.Context, req *dns.Msg, server string) (*dns.Msg, error) {
	timeout := 2 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	c := &dns.Client{Net: "udp", Timeout: timeout, UDPSize: maxUDPSize}
	m, _, err := c.ExchangeContext(ctx, req, server)
	if err == nil && m.Truncated {
		c.Net = "tcp"
		m, _, err = c.ExchangeContext(ctx, req, server)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", server, err)
	}
	if m.Id != req.Id || len(m.Question) != 1 || !namesEqual(m.Question[0].Name, req.Question[0].Name) {
		return nil, fmt.Errorf("%s: answer does not match the question", server)
	}
	return m, nil
}

func namesEqual(a, b string) bool { return dns.CanonicalName(a) == dns.CanonicalName(b) }

// upstreamsFromResolvConf reads the nameserver lines of a resolv.conf.
func upstreamsFromResolvConf(path string) ([]string, error) {
	cc, err := dns.ClientConfigFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("read upstream resolvers from %s: %w", path, err)
	}
	out := make([]string, 0, len(cc.Servers))
	for _, s := range cc.Servers {
		out = append(out, net.JoinHostPort(s, strconv.Itoa(53)))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("read upstream resolvers from %s: no nameserver lines", path)
	}
	return out, nil
}
