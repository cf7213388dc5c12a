package serve

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// KeyLimits are one API key's own limits; 0 means the server's default.
type KeyLimits struct {
	// ReqLimit is the key's requests per minute.
	ReqLimit int
	// CharLimit is the most characters of one text for the key.
	CharLimit int
}

// KeyTable holds the API keys a server accepts, each with its limits. It is
// read-only after ParseKeys.
type KeyTable struct {
	keys map[string]KeyLimits
}

// LoadKeys reads an API keys file (see ParseKeys).
func LoadKeys(path string) (*KeyTable, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("serve: API keys: %w", err)
	}
	defer f.Close()
	k, err := ParseKeys(f)
	if err != nil {
		return nil, fmt.Errorf("serve: API keys file %s: %w", path, err)
	}
	return k, nil
}

// ParseKeys reads API keys, one per line: the key, then optionally its
// requests per minute and its character limit per text, separated by
// spaces or tabs. Blank lines and lines starting with # are skipped.
//
//	# key                                  req/min  chars
//	3f0c9a6e-2f6b-4c1e-9d52-6a0e3b1f7c11  120      10000
//	team-b                                 30
func ParseKeys(r io.Reader) (*KeyTable, error) {
	k := &KeyTable{keys: map[string]KeyLimits{}}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) > 3 {
			return nil, fmt.Errorf("line %d: %d fields (want: KEY [REQ-PER-MINUTE [CHAR-LIMIT]])", n, len(f))
		}
		var lim KeyLimits
		for i, dst := range []*int{&lim.ReqLimit, &lim.CharLimit}[:len(f)-1] {
			v, err := strconv.Atoi(f[i+1])
			if err != nil || v < 1 {
				return nil, fmt.Errorf("line %d: limit %q is not a positive whole number", n, f[i+1])
			}
			*dst = v
		}
		if _, dup := k.keys[f[0]]; dup {
			return nil, fmt.Errorf("line %d: key %q listed twice", n, f[0])
		}
		k.keys[f[0]] = lim
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return k, nil
}

// Lookup returns key's limits and whether the key is known.
func (k *KeyTable) Lookup(key string) (KeyLimits, bool) {
	lim, ok := k.keys[key]
	return lim, ok
}

// Len returns the number of keys.
func (k *KeyTable) Len() int { return len(k.keys) }

// rateLimiter counts requests per client (an API key or an IP address)
// over a sliding period with two fixed windows: the estimate is this
// window's count plus the previous window's count weighted by the part of
// it still inside the sliding period. Memory is one small entry per client
// seen in the last two periods; older entries are pruned once a period.
type rateLimiter struct {
	mu        sync.Mutex
	period    time.Duration
	now       func() time.Time
	clients   map[string]*window
	lastPrune time.Time
}

type window struct {
	start     time.Time
	cur, prev int
}

func newRateLimiter(period time.Duration) *rateLimiter {
	return &rateLimiter{period: period, now: time.Now, clients: map[string]*window{}}
}

// allow charges cost to client if its estimated count over the last period
// stays within limit, and reports whether it did.
func (l *rateLimiter) allow(client string, cost, limit int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.lastPrune) > l.period {
		for c, w := range l.clients {
			if now.Sub(w.start) > 2*l.period {
				delete(l.clients, c)
			}
		}
		l.lastPrune = now
	}
	start := now.Truncate(l.period)
	w := l.clients[client]
	switch {
	case w == nil:
		w = &window{start: start}
		l.clients[client] = w
	case start.Sub(w.start) == l.period:
		w.start, w.prev, w.cur = start, w.cur, 0
	case start.Sub(w.start) > l.period:
		w.start, w.prev, w.cur = start, 0, 0
	}
	inPrev := 1 - float64(now.Sub(w.start))/float64(l.period)
	if float64(w.prev)*inPrev+float64(w.cur+cost) > float64(limit) {
		return false
	}
	w.cur += cost
	return true
}
