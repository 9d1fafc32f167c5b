// Package urlguard decides which network addresses a feed URL may reach.
//
// A node fetches URLs that facilities register, so a feed must not be able
// to make the node talk to itself or to its private network (loopback,
// RFC 1918 and unique-local networks, link-local addresses such as a cloud
// metadata service), nor through IPv6 addresses that embed an IPv4 one
// (IPv4-compatible, 6to4, Teredo; NAT64 ones are checked as the IPv4
// address they embed). A Policy refuses those addresses unless told
// otherwise, three times over: when a URL is registered (CheckURL resolves
// its host), when a connection is made (the dialer of HTTPClient checks the
// address it actually connects to, so a name that resolves differently later
// — DNS rebinding — is still refused), and on every redirect.
package urlguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

var (
	// ErrForbiddenAddress is wrapped by every refusal of an address the
	// policy does not allow: by CheckAddr and CheckURL, and by the dialer
	// and the redirect check of HTTPClient, where it surfaces (through
	// *net.OpError and *url.Error) in the error of the request. A refusal is
	// permanent: retrying the request cannot change it (pkg/fetch does not
	// retry it; see Refused).
	ErrForbiddenAddress = errors.New("urlguard: forbidden address")
	// ErrUnsupportedURL is wrapped when a URL is not an absolute http or
	// https URL (a registered URL, or a redirect's).
	ErrUnsupportedURL = errors.New("urlguard: unsupported URL")
)

// forbidden lists the networks a feed may not reach unless the policy
// allows private addresses.
var forbidden = []struct {
	prefix netip.Prefix
	what   string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "this-network"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared (carrier-grade NAT)"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignments"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	// IPv4-compatible IPv6 (deprecated, RFC 4291): some stacks reach the
	// embedded IPv4 address. After :: and ::1, which keep their own reason.
	{netip.MustParsePrefix("::/96"), "IPv4-compatible IPv6 (deprecated)"},
	// 6to4 (RFC 3056) and Teredo (RFC 4380) addresses embed an IPv4
	// address (a relay may deliver to it): refused whole, whatever it is.
	{netip.MustParsePrefix("2002::/16"), "6to4 (embeds an IPv4 address)"},
	{netip.MustParsePrefix("2001::/32"), "Teredo (embeds an IPv4 address)"},
	{netip.MustParsePrefix("fc00::/7"), "unique-local (private)"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
}

// Refused reports whether err is (or wraps) a refusal by a Policy: a
// forbidden address (ErrForbiddenAddress) or a URL it does not accept
// (ErrUnsupportedURL), e.g. a redirect to another scheme. Retrying a
// refused request cannot succeed.
func Refused(err error) bool {
	return errors.Is(err, ErrForbiddenAddress) || errors.Is(err, ErrUnsupportedURL)
}

// nat64 is the well-known NAT64 prefix: its last 32 bits are an IPv4
// address, which is checked as such.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// Policy says which addresses feed URLs may reach. The zero value refuses
// loopback, private, link-local and other non-public addresses, and IPv6
// addresses that embed an IPv4 address: IPv4-compatible (::/96), 6to4
// (2002::/16) and Teredo (2001::/32); a NAT64 address (64:ff9b::/96) is
// checked as the IPv4 address it embeds.
type Policy struct {
	// AllowPrivate allows every address (a demo, a test, or a node whose
	// facilities are on its own private network).
	AllowPrivate bool
	// Allow lists networks that are allowed even though they are not
	// public (e.g. a facility's address inside a private network).
	Allow []netip.Prefix
	// Resolver resolves host names for CheckURL and for the connections of
	// HTTPClient. Default net.DefaultResolver.
	Resolver *net.Resolver
}

// CheckAddr returns nil when the policy allows connecting to ip, and an
// error wrapping ErrForbiddenAddress that says why not otherwise.
func (p Policy) CheckAddr(ip netip.Addr) error {
	if !ip.IsValid() {
		return fmt.Errorf("%w: invalid address", ErrForbiddenAddress)
	}
	if p.AllowPrivate {
		return nil
	}
	ip = ip.Unmap().WithZone("")
	for _, a := range p.Allow {
		if a.Contains(ip) {
			return nil
		}
	}
	check := ip
	if nat64.Contains(ip) {
		b := ip.As16()
		check = netip.AddrFrom4([4]byte(b[12:16]))
	}
	for _, f := range forbidden {
		if f.prefix.Contains(check) {
			return fmt.Errorf("%w: %s is a %s address", ErrForbiddenAddress, ip, f.what)
		}
	}
	return nil
}

// CheckURL checks that raw is an absolute http or https URL and that every
// address its host resolves to is allowed. A host that resolves to one
// allowed and one forbidden address is refused.
func (p Policy) CheckURL(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnsupportedURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: %q is not an absolute http or https URL", ErrUnsupportedURL, raw)
	}
	if u.User != nil {
		return fmt.Errorf("%w: %s: credentials in a URL are not accepted", ErrUnsupportedURL, u.Redacted())
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil {
		return p.CheckAddr(ip)
	}
	r := p.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return fmt.Errorf("urlguard: resolve %s: %w", host, err)
	}
	if len(addrs) == 0 {
		return fmt.Errorf("urlguard: resolve %s: no address", host)
	}
	for _, a := range addrs {
		if err := p.CheckAddr(a); err != nil {
			return fmt.Errorf("%s resolves to %w", host, err)
		}
	}
	return nil
}

// maxRedirects is how many redirects a guarded client follows when its
// base client has no CheckRedirect of its own.
const maxRedirects = 10

// HTTPClient returns a copy of base (nil: http.DefaultClient) whose
// connections only reach allowed addresses: its dialer checks the address
// of every connection it makes, after name resolution, and every redirect is
// checked with CheckURL before it is followed (then base's CheckRedirect, if
// any, applies). A connection fails with a refusal (ErrForbiddenAddress)
// only when every address of the host that the dialer tried was refused: a
// host with an allowed address that could not be reached fails with a
// connection error, which may be retried, whatever its other addresses.
//
// The returned client's transport is a clone of base's *http.Transport (or
// of http.DefaultTransport when base has no transport or a transport of
// another type, which is then not used) with its dialer replaced and
// without a proxy: the guard must see the address it connects to.
func (p Policy) HTTPClient(base *http.Client) *http.Client {
	if base == nil {
		base = http.DefaultClient
	}
	c := *base
	var t *http.Transport
	if bt, ok := base.Transport.(*http.Transport); ok {
		t = bt.Clone()
	} else {
		t = http.DefaultTransport.(*http.Transport).Clone()
	}
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Resolver: p.Resolver, ControlContext: p.control}
	t.Proxy = nil
	t.DialContext = dialContext(d)
	// A TLS dialer of base's would bypass the guard: TLS goes over
	// DialContext's connections instead.
	t.DialTLSContext = nil
	t.DialTLS = nil
	c.Transport = t
	next := base.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if err := p.CheckURL(req.Context(), req.URL.String()); err != nil {
			return fmt.Errorf("redirect to %s refused: %w", req.URL.Redacted(), err)
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		return nil
	}
	return &c
}

// dialTrace records, for one dial, the addresses the guard let through.
type dialTrace struct {
	mu      sync.Mutex
	allowed []string
}

type dialTraceKey struct{}

// dialContext dials with d (whose ControlContext is Policy.control) and
// tells a host whose every address tried was refused (the refusal) from
// one with an allowed address that could not be reached: the dialer reports
// the error of the first address it tried, which may be a refused one
// although the real failure is the allowed one's.
func dialContext(d *net.Dialer) func(ctx context.Context, network, address string) (net.Conn, error) {
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		tr := &dialTrace{}
		conn, err := d.DialContext(context.WithValue(ctx, dialTraceKey{}, tr), network, address)
		if err == nil || !errors.Is(err, ErrForbiddenAddress) {
			return conn, err
		}
		tr.mu.Lock()
		allowed := slices.Clone(tr.allowed)
		tr.mu.Unlock()
		if len(allowed) == 0 {
			return nil, err // every address was refused
		}
		// Not wrapped: the refusal is not why the connection failed.
		return nil, &net.OpError{Op: "dial", Net: network, Err: fmt.Errorf(
			"%s: the connection to its allowed address %s failed (the dialer reports only the refusal of another address: %v)",
			address, strings.Join(allowed, ", "), err)}
	}
}

// control runs before every connection the guarded dialer makes, with the
// resolved address, and records in the dial's trace the addresses it lets
// through.
func (p Policy) control(ctx context.Context, _, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot read address %q", ErrForbiddenAddress, address)
	}
	if err := p.CheckAddr(ap.Addr()); err != nil {
		return fmt.Errorf("connect to %s: %w", address, err)
	}
	if tr, ok := ctx.Value(dialTraceKey{}).(*dialTrace); ok {
		tr.mu.Lock()
		tr.allowed = append(tr.allowed, address)
		tr.mu.Unlock()
	}
	return nil
}

// ErrOffsiteRedirect is returned for a redirect SameHostRedirects refuses.
var ErrOffsiteRedirect = errors.New("redirect to another host refused")

// SameHostRedirects returns a copy of c that follows a redirect only to the
// host it started at, and never from https to http: a client that sends a
// credential in a header of its own (an API key) or in a body (a login)
// must not hand it to another host. The APIs the node pushes to need no
// redirect elsewhere.
func SameHostRedirects(c *http.Client) *http.Client {
	if c == nil {
		c = http.DefaultClient
	}
	out := *c
	next := c.CheckRedirect
	out.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		first := via[0].URL
		if !strings.EqualFold(req.URL.Host, first.Host) || (first.Scheme == "https" && req.URL.Scheme != "https") {
			return fmt.Errorf("%w: %s to %s", ErrOffsiteRedirect, first.Redacted(), req.URL.Redacted())
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		return nil
	}
	return &out
}

// IsLoopback reports whether host (a host name or IP literal, with or
// without a port or IPv6 brackets) is this machine: an address of the
// loopback network (an IPv4-mapped one included, a zoned one not) or
// "localhost". A name that merely starts like one ("127.evil.example",
// "localhost.example") is not, nor is an empty host (every interface).
func IsLoopback(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Zone() == "" && ip.Unmap().IsLoopback()
}
