package urlguard_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/panosc/fairway/pkg/urlguard"
)

func TestCheckAddr(t *testing.T) {
	tests := []struct {
		addr    string
		public  bool // allowed by the zero policy
		comment string
	}{
		{"93.184.215.14", true, "public IPv4"},
		{"2606:2800:21f:cb07:6820:80da:af6b:8b2c", true, "public IPv6"},
		{"127.0.0.1", false, "loopback"},
		{"127.8.9.10", false, "loopback /8"},
		{"::1", false, "IPv6 loopback"},
		{"::ffff:127.0.0.1", false, "IPv4-mapped loopback"},
		{"10.1.2.3", false, "RFC 1918"},
		{"172.16.0.1", false, "RFC 1918"},
		{"172.31.255.255", false, "RFC 1918"},
		{"172.32.0.1", true, "just outside 172.16/12"},
		{"192.168.1.1", false, "RFC 1918"},
		{"169.254.169.254", false, "link-local: cloud metadata"},
		{"fe80::1", false, "IPv6 link-local"},
		{"fe80::1%eth0", false, "IPv6 link-local with zone"},
		{"fd00::1", false, "unique-local"},
		{"100.64.0.1", false, "carrier-grade NAT"},
		{"0.0.0.0", false, "unspecified"},
		{"::", false, "IPv6 unspecified"},
		{"::127.0.0.1", false, "IPv4-compatible loopback"},
		{"::10.1.2.3", false, "IPv4-compatible private"},
		{"::93.184.215.14", false, "IPv4-compatible public: deprecated, refused too"},
		{"::2", false, "IPv4-compatible 0.0.0.2"},
		{"224.0.0.1", false, "multicast"},
		{"64:ff9b::a00:1", false, "NAT64 of 10.0.0.1"},
		{"64:ff9b::5db8:d70e", true, "NAT64 of a public address"},
		{"2002:7f00:1::1", false, "6to4 of 127.0.0.1"},
		{"2002:5db8:d70e::1", false, "6to4 of a public address: refused too"},
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", false, "Teredo"},
		{"2001:1::1", true, "just outside Teredo's 2001::/32"},
		{"2003::1", true, "just outside 6to4's 2002::/16"},
		{"2001:4860:4860::8888", true, "public IPv6 under 2001::/16"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			ip := netip.MustParseAddr(tt.addr)
			err := urlguard.Policy{}.CheckAddr(ip)
			if tt.public != (err == nil) {
				t.Fatalf("%s (%s): CheckAddr = %v, want allowed=%v", tt.addr, tt.comment, err, tt.public)
			}
			if err != nil && !errors.Is(err, urlguard.ErrForbiddenAddress) {
				t.Fatalf("error %v does not wrap ErrForbiddenAddress", err)
			}
			if err := (urlguard.Policy{AllowPrivate: true}).CheckAddr(ip); err != nil {
				t.Fatalf("AllowPrivate: %v", err)
			}
		})
	}
	p := urlguard.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16")}}
	if err := p.CheckAddr(netip.MustParseAddr("10.20.3.4")); err != nil {
		t.Errorf("allowed network refused: %v", err)
	}
	if err := p.CheckAddr(netip.MustParseAddr("10.21.3.4")); !errors.Is(err, urlguard.ErrForbiddenAddress) {
		t.Errorf("address outside the allowed network: %v", err)
	}
}

// TestCheckAddrReasons checks that each refusal names the right kind of
// address: :: and ::1 keep theirs inside the IPv4-compatible range.
func TestCheckAddrReasons(t *testing.T) {
	for addr, want := range map[string]string{
		"::":              "unspecified",
		"::1":             "loopback",
		"::127.0.0.1":     "IPv4-compatible",
		"::93.184.215.14": "IPv4-compatible",
		"127.0.0.1":       "loopback",
		"2002:a00:1::1":   "6to4",
		"2001::1":         "Teredo",
	} {
		err := urlguard.Policy{}.CheckAddr(netip.MustParseAddr(addr))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want a refusal naming %q", addr, err, want)
		}
		if !urlguard.Refused(err) {
			t.Errorf("%s: Refused(%v) = false", addr, err)
		}
	}
	if urlguard.Refused(errors.New("connection refused")) || urlguard.Refused(nil) {
		t.Error("Refused is true for an error of another kind")
	}
}

func TestCheckURL(t *testing.T) {
	tests := []struct {
		url     string
		private bool  // policy
		want    error // nil: allowed
	}{
		{"https://93.184.215.14/oai", false, nil},
		{"http://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:8080/oai", false, nil},
		{"http://127.0.0.1:8080/oai", false, urlguard.ErrForbiddenAddress},
		{"http://127.0.0.1:8080/oai", true, nil},
		{"http://localhost/oai", false, urlguard.ErrForbiddenAddress},
		{"http://localhost/oai", true, nil},
		{"http://[::1]/oai", false, urlguard.ErrForbiddenAddress},
		{"http://169.254.169.254/latest/meta-data", false, urlguard.ErrForbiddenAddress},
		{"http://10.0.0.5/oai", false, urlguard.ErrForbiddenAddress},
		{"ftp://93.184.215.14/oai", true, urlguard.ErrUnsupportedURL},
		{"file:///etc/passwd", true, urlguard.ErrUnsupportedURL},
		{"/oai", true, urlguard.ErrUnsupportedURL},
		{"http://user:pw@93.184.215.14/oai", true, urlguard.ErrUnsupportedURL},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			err := urlguard.Policy{AllowPrivate: tt.private}.CheckURL(context.Background(), tt.url)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("CheckURL = %v, want %v", err, tt.want)
			}
		})
	}
}

// serve starts an HTTP server on addr (a loopback address) that answers
// "ok" or redirects to redirect when it is not empty.
func serve(t *testing.T, addr, redirect string) string {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if redirect != "" {
			http.Redirect(w, r, redirect, http.StatusFound)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	s.Listener.Close()
	s.Listener = ln
	s.Start()
	t.Cleanup(s.Close)
	return s.URL
}

func get(c *http.Client, u string) (string, error) {
	resp, err := c.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// TestHTTPClient checks the guard at connect time and on redirects. The
// policies allow 127.0.0.1 only, so that 127.0.0.2 stands for a forbidden
// address that a loopback test can still reach.
func TestHTTPClient(t *testing.T) {
	only1 := urlguard.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	target := serve(t, "127.0.0.2:0", "")
	redirecting := serve(t, "127.0.0.1:0", target+"/elsewhere")
	plain := serve(t, "127.0.0.1:0", "")

	tests := []struct {
		name   string
		policy urlguard.Policy
		url    string
		want   error
	}{
		{"allowed address", only1, plain, nil},
		{"forbidden address, refused at connect time", only1, target, urlguard.ErrForbiddenAddress},
		{"redirect to a forbidden address", only1, redirecting, urlguard.ErrForbiddenAddress},
		{"zero policy refuses loopback", urlguard.Policy{}, plain, urlguard.ErrForbiddenAddress},
		{"private allowed: redirect followed", urlguard.Policy{AllowPrivate: true}, redirecting, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := get(tt.policy.HTTPClient(nil), tt.url)
			if tt.want == nil {
				if err != nil || body != "ok" {
					t.Fatalf("GET %s = %q, %v", tt.url, body, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("GET %s = %q, %v; want %v", tt.url, body, err, tt.want)
			}
		})
	}
}

// TestHTTPClientKeepsBase checks that the guarded client keeps base's
// settings and its redirect rule, and does not change base.
func TestHTTPClientKeepsBase(t *testing.T) {
	target := serve(t, "127.0.0.1:0", "")
	redirecting := serve(t, "127.0.0.1:0", target)
	stop := errors.New("no redirects")
	base := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return stop }}
	c := urlguard.Policy{AllowPrivate: true}.HTTPClient(base)
	if _, err := get(c, redirecting); !errors.Is(err, stop) {
		t.Fatalf("base's CheckRedirect not applied: %v", err)
	}
	if base.Transport != nil {
		t.Fatal("base client changed")
	}
}

// dnsServer answers every A query on a loopback UDP port with the IPv4
// addresses of a, and every other query with no answer; it returns a
// resolver that asks it.
func dnsServer(t *testing.T, a ...string) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if resp := dnsAnswer(buf[:n], a); resp != nil {
				_, _ = pc.WriteTo(resp, from)
			}
		}
	}()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", pc.LocalAddr().String())
	}}
}

// dnsAnswer builds the response to a DNS query: its question, and one A
// record per address of a when it asks for A records.
func dnsAnswer(q []byte, a []string) []byte {
	if len(q) < 12 {
		return nil
	}
	end := 12
	for end < len(q) && q[end] != 0 {
		end += int(q[end]) + 1
	}
	end += 5 // the root label, QTYPE, QCLASS
	if end > len(q) {
		return nil
	}
	var answers [][4]byte
	if binary.BigEndian.Uint16(q[end-4:]) == 1 { // A
		for _, s := range a {
			answers = append(answers, netip.MustParseAddr(s).As4())
		}
	}
	resp := append([]byte(nil), q[:2]...) // ID
	resp = append(resp, 0x81, 0x80, 0, 1) // a response, recursion available, no error; 1 question
	resp = binary.BigEndian.AppendUint16(resp, uint16(len(answers)))
	resp = append(resp, 0, 0, 0, 0) // no authority, no additional records
	resp = append(resp, q[12:end]...)
	for _, ip := range answers {
		resp = append(resp, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4) // the question's name, A, IN, TTL 60 s, 4 bytes
		resp = append(resp, ip[:]...)
	}
	return resp
}

// TestHTTPClientHostWithForbiddenAndAllowedAddresses checks a host that
// resolves to a forbidden address first and an allowed one second: the
// allowed one is used; when it cannot be reached the error is a connection
// error (retried), not a refusal; a host whose every address is forbidden
// is refused. The policy allows 127.0.0.1 only.
func TestHTTPClientHostWithForbiddenAndAllowedAddresses(t *testing.T) {
	only1 := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	up := serve(t, "127.0.0.1:0", "")
	_, upPort, _ := net.SplitHostPort(strings.TrimPrefix(up, "http://"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, downPort, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close() // nothing listens there any more

	tests := []struct {
		name    string
		addrs   []string
		port    string
		refused bool   // a refusal, else a connection error; "" want: success
		want    string // in the error
	}{
		{name: "the allowed address answers", addrs: []string{"127.0.0.2", "127.0.0.1"}, port: upPort},
		{name: "the allowed address cannot be reached", addrs: []string{"127.0.0.2", "127.0.0.1"}, port: downPort,
			want: "127.0.0.1:" + downPort},
		{name: "every address is forbidden", addrs: []string{"127.0.0.2", "127.0.0.3"}, port: upPort, refused: true,
			want: "127.0.0.2 is a loopback address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := urlguard.Policy{Allow: only1, Resolver: dnsServer(t, tt.addrs...)}
			body, err := get(p.HTTPClient(nil), "http://feeds.example.test:"+tt.port+"/oai")
			if tt.want == "" {
				if err != nil || body != "ok" {
					t.Fatalf("GET = %q, %v", body, err)
				}
				return
			}
			if err == nil || urlguard.Refused(err) != tt.refused || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("GET: %v; want refused %v, naming %q", err, tt.refused, tt.want)
			}
		})
	}
}

func TestSameHostRedirects(t *testing.T) {
	var sawKey atomic.Bool
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-API-Key") != "" {
			sawKey.Store(true)
		}
	}))
	defer other.Close()
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, other.URL+"/steal", http.StatusTemporaryRedirect)
		case "/here":
			http.Redirect(w, r, srv.URL+"/done", http.StatusTemporaryRedirect)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	defer srv.Close()
	c := urlguard.SameHostRedirects(urlguard.Policy{AllowPrivate: true}.HTTPClient(nil))
	for _, tc := range []struct {
		path    string
		refused bool
	}{{"/away", true}, {"/here", false}} {
		req, _ := http.NewRequest(http.MethodPut, srv.URL+tc.path, strings.NewReader("x"))
		req.Header.Set("X-API-Key", "secret")
		resp, err := c.Do(req)
		if resp != nil {
			resp.Body.Close()
		}
		if got := errors.Is(err, urlguard.ErrOffsiteRedirect); got != tc.refused {
			t.Errorf("%s: err %v, refused %v, want %v", tc.path, err, got, tc.refused)
		}
		if !tc.refused && (err != nil || resp.StatusCode != http.StatusNoContent) {
			t.Errorf("%s: a redirect on the same host: %v", tc.path, err)
		}
	}
	if sawKey.Load() {
		t.Error("the API key reached another host")
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1": true, "127.0.0.1:8080": true, "127.1.2.3": true, "::1": true, "[::1]:80": true, "[::1]": true,
		"::ffff:127.0.0.1": true, "localhost": true, "LocalHost:9": true, "localhost.": true,
		"127.evil.example": false, "127.0.0.1.evil.example": false, "localhost.example": false,
		"": false, ":8080": false, "0.0.0.0": false, "::": false, "fe80::1%lo": false, "example.org": false, "10.0.0.1": false,
	} {
		if got := urlguard.IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}
