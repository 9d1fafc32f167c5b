package api

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/panosc/fairway/pkg/urlguard"
)

// LocalHostsOnly returns next behind a check of the Host header, for a
// node whose API is open (the demo on loopback): a request is served only
// when its Host (with or without a port) is a loopback address
// (127.0.0.0/8, ::1), "localhost", or the host of baseURL (the node's
// public URL; may be empty). Any other request is answered 421 Misdirected
// Request with a JSON error naming the host.
//
// This stops DNS rebinding: a web page whose name is made to resolve to
// 127.0.0.1 gets its browser to send the node requests, but the browser
// still sends the page's name as Host.
func LocalHostsOnly(next http.Handler, baseURL string, log *slog.Logger) (http.Handler, error) {
	var base string
	if baseURL != "" {
		u, err := url.Parse(baseURL)
		if err != nil || u.Hostname() == "" {
			return nil, fmt.Errorf("api: base URL %q: no host", baseURL)
		}
		base = canonicalHost(u.Hostname())
	}
	if log == nil {
		log = slog.Default()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if localHost(r.Host, base) {
			next.ServeHTTP(w, r)
			return
		}
		log.Warn("request for another host refused (open node)", "host", r.Host, "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
		allowed := "loopback addresses and localhost"
		if base != "" {
			allowed += " and " + base
		}
		msg := fmt.Sprintf("host %q is not served by this node: an open node answers only %s", r.Host, allowed)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusMisdirectedRequest)
		_ = json.NewEncoder(w).Encode(errorBody{Error: msg})
	}), nil
}

// localHost reports whether the Host header hostport names a loopback
// address, localhost or base (a canonical host name, or "").
func localHost(hostport, base string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	} else {
		// No port: an IPv6 literal keeps its brackets.
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	}
	if host == "" {
		return false
	}
	if urlguard.IsLoopback(host) {
		return true
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return base != "" && ip.String() == base
	}
	name := canonicalHost(host)
	return name == "localhost" || base != "" && name == base
}

// canonicalHost lowers a host name and drops its final dot; an IP literal
// is written in its usual form.
func canonicalHost(h string) string {
	if ip, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")); err == nil {
		return ip.String()
	}
	return strings.TrimSuffix(strings.ToLower(h), ".")
}
