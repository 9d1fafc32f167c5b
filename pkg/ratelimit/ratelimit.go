// Package ratelimit limits how often each client may call an HTTP endpoint:
// a token bucket per client key (golang.org/x/time/rate), kept in a map
// whose size is bounded, answering 429 with Retry-After beyond the limit.
//
// A client's bucket is forgotten once it has been idle long enough to have
// refilled (Burst/Rate), so that forgetting it gives the client nothing it
// would not have had anyway. When the map holds MaxClients buckets that are
// all in use, a new client shares one overflow bucket with every other new
// client until some bucket is forgotten: a flood of distinct addresses
// cannot grow memory, and together it gets one client's rate.
package ratelimit

import (
	"container/list"
	"errors"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Defaults of Config.
const (
	// DefaultRate is the requests per second a client may make.
	DefaultRate = 10
	// DefaultBurst is how many requests a client may make at once.
	DefaultBurst = 20
	// DefaultMaxClients bounds the buckets kept.
	DefaultMaxClients = 10000
)

// Config configures a Limiter (zero fields take their defaults).
type Config struct {
	// Rate is how many requests per second each client may make, on
	// average. Default DefaultRate.
	Rate float64
	// Burst is how many requests a client may make at once (the bucket's
	// size). Default DefaultBurst.
	Burst int
	// MaxClients bounds how many clients' buckets are kept. Default
	// DefaultMaxClients.
	MaxClients int
}

// Validate reports whether the configuration is usable.
func (c Config) Validate() error {
	if c.Rate < 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0) || c.Burst < 0 || c.MaxClients < 0 {
		return errors.New("ratelimit: negative (or not finite) rate, burst or client bound")
	}
	return nil
}

// WithDefaults returns c with its zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	c.setDefaults()
	return c
}

func (c *Config) setDefaults() {
	if c.Rate == 0 {
		c.Rate = DefaultRate
	}
	if c.Burst == 0 {
		c.Burst = DefaultBurst
	}
	if c.MaxClients == 0 {
		c.MaxClients = DefaultMaxClients
	}
}

// KeyFunc names the client of a request: requests with the same key share
// a bucket.
type KeyFunc func(*http.Request) string

// Limiter keeps one token bucket per client. It is safe for concurrent
// use.
type Limiter struct {
	cfg Config
	key KeyFunc
	// idle is how long a bucket takes to refill from empty: one unused
	// that long is full and may be forgotten.
	idle time.Duration
	now  func() time.Time

	mu sync.Mutex
	// clients maps a key to its element in lru.
	clients map[string]*list.Element
	// lru holds *client, the least recently used first.
	lru *list.List
	// overflow is the bucket of the clients that found the map full.
	overflow *rate.Limiter
}

type client struct {
	key  string
	lim  *rate.Limiter
	last time.Time
}

// New returns a Limiter of cfg (defaults for the fields left zero) whose
// clients key names.
func New(cfg Config, key KeyFunc) (*Limiter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if key == nil {
		return nil, errors.New("ratelimit: a key function is required")
	}
	cfg.setDefaults()
	idle := time.Duration(float64(cfg.Burst) / cfg.Rate * float64(time.Second))
	return &Limiter{
		cfg: cfg, key: key, idle: max(idle, time.Millisecond), now: time.Now,
		clients:  map[string]*list.Element{},
		lru:      list.New(),
		overflow: rate.NewLimiter(rate.Limit(cfg.Rate), cfg.Burst),
	}, nil
}

// Config returns the limiter's configuration, defaults applied.
func (l *Limiter) Config() Config { return l.cfg }

// Allow takes one token from key's bucket: it reports whether the request
// may go on and, when it may not, how long until a token is there.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	lim := l.bucket(key, now)
	r := lim.ReserveN(now, 1)
	l.mu.Unlock()
	if !r.OK() {
		// Only for n > burst, which cannot be (burst >= 1).
		return false, time.Second
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// bucket returns key's bucket, made (or the overflow bucket) if it has
// none; l.mu is held.
func (l *Limiter) bucket(key string, now time.Time) *rate.Limiter {
	if e, ok := l.clients[key]; ok {
		c := e.Value.(*client)
		c.last = now
		l.lru.MoveToBack(e)
		return c.lim
	}
	l.forgetIdle(now)
	if l.lru.Len() >= l.cfg.MaxClients {
		return l.overflow
	}
	c := &client{key: key, lim: rate.NewLimiter(rate.Limit(l.cfg.Rate), l.cfg.Burst), last: now}
	l.clients[key] = l.lru.PushBack(c)
	return c.lim
}

// forgetIdle drops the buckets unused for l.idle or longer (full again);
// l.mu is held.
func (l *Limiter) forgetIdle(now time.Time) {
	for e := l.lru.Front(); e != nil; e = l.lru.Front() {
		c := e.Value.(*client)
		if now.Sub(c.last) < l.idle {
			return
		}
		l.lru.Remove(e)
		delete(l.clients, c.key)
	}
}

// Clients returns how many clients' buckets are kept.
func (l *Limiter) Clients() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lru.Len()
}

// Handler decorates next: a request beyond its client's limit is answered
// 429 Too Many Requests with Retry-After (whole seconds, at least 1) and
// does not reach next.
func (l *Limiter) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok, wait := l.Allow(l.key(r))
		if !ok {
			w.Header().Set("Retry-After", strconv.FormatInt(int64(math.Ceil(max(wait, time.Second).Seconds())), 10))
			http.Error(w, "too many requests from this client; retry later", http.StatusTooManyRequests)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ClientAddress is a KeyFunc: the address the request came from
// (RemoteAddr, without its port), an IPv6 address cut to its /64 network
// (one host usually holds a whole /64). Headers such as X-Forwarded-For
// are not read: any client can write them.
func ClientAddress(r *http.Request) string {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return addressKey(ap.Addr())
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return addressKey(a)
	}
	return host
}

func addressKey(a netip.Addr) string {
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, err := a.WithZone("").Prefix(64)
	if err != nil {
		return a.String()
	}
	return p.String()
}
