// Package aai verifies the OpenID Connect access tokens of the federation's
// identity layer (EOSC AAI and other OpenID Providers) and maps their
// claims to the node's roles: operator, or facility manager of one named
// facility. Each issuer is discovered (go-oidc); its JWKS is fetched when a
// token names a key not held (at most once per DefaultMinKeyRefresh) and
// when the keys are older than DefaultMaxKeyAge; the issuer, the audience,
// the expiry (with a configured clock skew) and the signature are checked
// before any claim is read.
package aai

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/urlguard"
)

// ErrConfig wraps every problem with the sign-in configuration.
var ErrConfig = errors.New("aai: configuration")

// Defaults and bounds of the configuration.
const (
	// DefaultClockSkew is how far an issuer's clock may run ahead of or
	// behind the node's when ClockSkew is zero.
	DefaultClockSkew = 30 * time.Second
	// MaxClockSkew bounds ClockSkew: more would keep expired tokens alive.
	MaxClockSkew = 10 * time.Minute
	// DefaultHTTPTimeout bounds one request for an issuer's discovery
	// document or keys.
	DefaultHTTPTimeout = 10 * time.Second
	// SubjectPrefix marks, in a flag's rule value, a subject instead of an
	// entitlement ("sub:1234@egi.eu").
	SubjectPrefix = "sub:"
)

// DefaultClaims are the claims whose values are compared with the rules'
// entitlements when an issuer names none: the OIDC names of
// eduPersonEntitlement (EOSC AAI, MyAccessID, EGI Check-in) and the usual
// group claims.
var DefaultClaims = []string{"eduperson_entitlement", "entitlements", "groups"}

// Config is the node's sign-in configuration: the issuers whose tokens it
// accepts, each with its rules.
type Config struct {
	// Issuers are the accepted OpenID Providers. None: sign-in is off.
	Issuers []Issuer `yaml:"issuers" json:"issuers"`
	// HTTPTimeout bounds one request to an issuer (discovery, keys).
	// Default DefaultHTTPTimeout.
	HTTPTimeout time.Duration `yaml:"http_timeout,omitempty" json:"http_timeout,omitempty"`
}

// Issuer is one accepted OpenID Provider and how its tokens map to roles.
type Issuer struct {
	// URL is the issuer identifier, exactly as the provider writes it in
	// "iss" (discovery is at URL/.well-known/openid-configuration).
	// Required; https unless the host is a loopback address.
	URL string `yaml:"url" json:"url"`
	// Audience is the value the token's "aud" must hold: the node's
	// resource identifier at this issuer (its base URL), not a client id
	// (an ID token's audience is the client it was issued to). Required.
	Audience string `yaml:"audience" json:"audience"`
	// ClockSkew is how far the issuer's clock may run ahead of or behind
	// the node's when "exp" and "nbf" are checked. Default
	// DefaultClockSkew, at most MaxClockSkew.
	ClockSkew time.Duration `yaml:"clock_skew,omitempty" json:"clock_skew,omitempty"`
	// Claims name the token claims (a string or a list of strings) whose
	// values are compared with the rules' entitlements. Default
	// DefaultClaims.
	Claims []string `yaml:"claims,omitempty" json:"claims,omitempty"`
	// Operators is who may act as an operator.
	Operators Rule `yaml:"operators,omitempty" json:"operators,omitempty"`
	// Facilities maps a facility name (as in feeds' "facility") to who may
	// manage that facility's feeds and usage.
	Facilities map[string]Rule `yaml:"facilities,omitempty" json:"facilities,omitempty"`
}

// Rule says which tokens hold a role: a token whose claims hold one of the
// entitlements, or whose subject is listed.
type Rule struct {
	// Entitlements are claim values, compared exactly (for example the
	// AARC URN urn:geant:eosc-federation.eu:group:panosc:esrf:manager#aai.eosc.eu).
	Entitlements []string `yaml:"entitlements,omitempty" json:"entitlements,omitempty"`
	// Subjects are "sub" values of this issuer.
	Subjects []string `yaml:"subjects,omitempty" json:"subjects,omitempty"`
}

// Empty reports whether the rule matches no token.
func (r Rule) Empty() bool { return len(r.Entitlements) == 0 && len(r.Subjects) == 0 }

// Enabled reports whether some issuer is configured.
func (c Config) Enabled() bool { return len(c.Issuers) > 0 }

// Validate reports whether the configuration is usable; the error names
// the issuer and the field at fault.
func (c Config) Validate() error {
	if c.HTTPTimeout < 0 {
		return fmt.Errorf("%w: negative http_timeout", ErrConfig)
	}
	seen := map[string]bool{}
	for i, is := range c.Issuers {
		if err := is.validate(); err != nil {
			return fmt.Errorf("%w: issuer %d (%s): %w", ErrConfig, i+1, is.URL, err)
		}
		if seen[is.URL] {
			return fmt.Errorf("%w: issuer %s is configured twice", ErrConfig, is.URL)
		}
		seen[is.URL] = true
	}
	return nil
}

func (is Issuer) validate() error {
	u, err := url.Parse(is.URL)
	switch {
	case is.URL == "":
		return errors.New("url is required")
	case err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "":
		return errors.New("url: want an absolute URL without query or fragment")
	case u.Scheme != "https" && !(u.Scheme == "http" && urlguard.IsLoopback(u.Hostname())):
		return errors.New("url: want https (http only on a loopback address)")
	case strings.TrimSpace(is.Audience) == "":
		return errors.New("audience is required (the value of \"aud\" in the node's tokens)")
	case is.ClockSkew < 0 || is.ClockSkew > MaxClockSkew:
		return fmt.Errorf("clock_skew %s: want 0 to %s", is.ClockSkew, MaxClockSkew)
	case is.Operators.Empty() && len(is.Facilities) == 0:
		return errors.New("no role: give operators or facilities (else every token of this issuer is refused)")
	}
	for _, c := range is.Claims {
		if strings.TrimSpace(c) == "" {
			return errors.New("claims: an empty claim name")
		}
	}
	if err := is.Operators.validate(); err != nil {
		return fmt.Errorf("operators: %w", err)
	}
	for name, r := range is.Facilities {
		if err := feeds.ValidFacility(name); err != nil {
			return fmt.Errorf("facilities: %w", err)
		}
		if r.Empty() {
			return fmt.Errorf("facilities: %s: no entitlement and no subject", name)
		}
		if err := r.validate(); err != nil {
			return fmt.Errorf("facilities: %s: %w", name, err)
		}
	}
	return nil
}

func (r Rule) validate() error {
	for _, v := range slices.Concat(r.Entitlements, r.Subjects) {
		if strings.TrimSpace(v) == "" || v != strings.TrimSpace(v) {
			return fmt.Errorf("value %q: empty or with surrounding spaces", v)
		}
	}
	return nil
}

// LoadFile reads a sign-in configuration file (YAML or JSON: both are
// YAML); unknown keys are an error. An empty path yields an empty Config.
func LoadFile(path string) (Config, error) {
	var c Config
	if path == "" {
		return c, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("%w: %s: %w", ErrConfig, path, err)
	}
	return c, nil
}

// FlagIssuer is the one issuer that the node's flags can describe
// (--oidc-issuer and the flags beside it); more issuers need a file.
type FlagIssuer struct {
	// URL, Audience, ClockSkew and Claims are as in Issuer.
	URL, Audience string
	ClockSkew     time.Duration
	Claims        []string
	// Operators are entitlements, or subjects written "sub:SUBJECT".
	Operators []string
	// FacilityManagers are "FACILITY=ENTITLEMENT" or
	// "FACILITY=sub:SUBJECT".
	FacilityManagers []string
}

// Issuer returns the issuer the flags describe; ok is false when no
// --oidc-issuer is given (and then no other --oidc flag may be).
func (f FlagIssuer) Issuer() (is Issuer, ok bool, err error) {
	if f.URL == "" {
		if f.Audience != "" || f.ClockSkew != 0 || len(f.Claims) > 0 || len(f.Operators) > 0 || len(f.FacilityManagers) > 0 {
			return is, false, fmt.Errorf("%w: --oidc-audience, --oidc-clock-skew, --oidc-claims, --oidc-operators and --oidc-facility-managers need --oidc-issuer", ErrConfig)
		}
		return is, false, nil
	}
	is = Issuer{URL: f.URL, Audience: f.Audience, ClockSkew: f.ClockSkew, Claims: f.Claims}
	add := func(r *Rule, v string) {
		if s, ok := strings.CutPrefix(v, SubjectPrefix); ok {
			r.Subjects = append(r.Subjects, s)
		} else {
			r.Entitlements = append(r.Entitlements, v)
		}
	}
	for _, v := range f.Operators {
		add(&is.Operators, strings.TrimSpace(v))
	}
	for _, v := range f.FacilityManagers {
		name, val, found := strings.Cut(v, "=")
		name, val = strings.TrimSpace(name), strings.TrimSpace(val)
		if !found || name == "" || val == "" {
			return is, false, fmt.Errorf("%w: --oidc-facility-managers %q: want FACILITY=ENTITLEMENT or FACILITY=sub:SUBJECT", ErrConfig, v)
		}
		if is.Facilities == nil {
			is.Facilities = map[string]Rule{}
		}
		r := is.Facilities[name]
		add(&r, val)
		is.Facilities[name] = r
	}
	return is, true, nil
}
