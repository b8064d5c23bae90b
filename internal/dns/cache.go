package dns

import (
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

const (
	maxPositiveTTL = time.Hour
	maxNegativeTTL = 30 * time.Minute
	// failureTTL keeps a SERVFAIL from upstream for a moment so a retry
	// storm does not reach it (RFC 2308 §7 allows up to 5 minutes).
	failureTTL = 5 * time.Second
)

// cache holds upstream answers for their TTL (positive) or the SOA
// minimum (negative, RFC 2308), up to a bounded number of entries.
type cache struct {
	mu      sync.Mutex
	max     int
	entries map[cacheKey]cacheEntry
	now     func() time.Time
}

type cacheKey struct {
	name  string
	qtype uint16
}

type cacheEntry struct {
	msg     *dns.Msg
	stored  time.Time
	expires time.Time
}

func newCache(size int, now func() time.Time) *cache {
	return &cache{max: size, entries: make(map[cacheKey]cacheEntry), now: now}
}

func keyOf(q dns.Question) cacheKey {
	return cacheKey{strings.ToLower(q.Name), q.Qtype}
}

// get returns a copy of the cached answer with its TTLs aged, or nil.
func (c *cache) get(q dns.Question) *dns.Msg {
	if c.max <= 0 {
		return nil
	}
	k := keyOf(q)
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[k]
	if ok && !now.Before(e.expires) {
		delete(c.entries, k)
		ok = false
	}
	c.mu.Unlock()
	if !ok {
		return nil
	}
	m := e.msg.Copy()
	age := uint32(now.Sub(e.stored) / time.Second)
	for _, sec := range [][]dns.RR{m.Answer, m.Ns, m.Extra} {
		for _, rr := range sec {
			if h := rr.Header(); h.Rrtype != dns.TypeOPT {
				h.Ttl -= min(h.Ttl, age)
			}
		}
	}
	return m
}

// put stores m for q if it is cacheable; it evicts an arbitrary entry
// when full (Go's map order is random enough for a bound, not an LRU).
func (c *cache) put(q dns.Question, m *dns.Msg) {
	ttl, ok := cacheTTL(m)
	if !ok || ttl <= 0 || c.max <= 0 {
		return
	}
	now := c.now()
	k := keyOf(q)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, exists := c.entries[k]; !exists && len(c.entries) >= c.max {
		for old := range c.entries {
			delete(c.entries, old)
			break
		}
	}
	c.entries[k] = cacheEntry{msg: m, stored: now, expires: now.Add(ttl)}
}

func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// cacheTTL is how long m may be kept: the smallest TTL of its answer for
// a positive answer; for NXDOMAIN and NODATA the SOA's TTL capped by its
// minimum; a short while for SERVFAIL. Truncated answers are not kept.
func cacheTTL(m *dns.Msg) (time.Duration, bool) {
	if m.Truncated {
		return 0, false
	}
	switch {
	case m.Rcode == dns.RcodeServerFailure:
		return failureTTL, true
	case m.Rcode == dns.RcodeSuccess && len(m.Answer) > 0:
		ttl := ^uint32(0)
		for _, rr := range m.Answer {
			ttl = min(ttl, rr.Header().Ttl)
		}
		return min(time.Duration(ttl)*time.Second, maxPositiveTTL), true
	case m.Rcode == dns.RcodeNameError || m.Rcode == dns.RcodeSuccess:
		for _, rr := range m.Ns {
			if soa, ok := rr.(*dns.SOA); ok {
				ttl := min(soa.Hdr.Ttl, soa.Minttl)
				return min(time.Duration(ttl)*time.Second, maxNegativeTTL), true
			}
		}
		return 0, false // no SOA: not cacheable (RFC 2308 §5)
	}
	return 0, false
}
