package node

import (
	"fmt"
	"net/http"

	"github.com/spf13/pflag"

	"github.com/panosc/fairway/pkg/api"
	"github.com/panosc/fairway/pkg/ratelimit"
)

// Who may call /mcp (QueryEndpoints.MCPAuth).
const (
	// MCPAuthOpen lets anyone call /mcp, as the node's other reads.
	MCPAuthOpen = "open"
	// MCPAuthToken lets through only the requests with a bearer token the
	// feed API accepts (operator, facility or sign-in token).
	MCPAuthToken = "token"
)

// QueryEndpoints configures who may call the node's query endpoints (MCP
// at MCPPath, the PaNOSC search API and the node page's /search) and how
// often (the token requirement is MCP's alone).
type QueryEndpoints struct {
	// MCPAuth is MCPAuthOpen or MCPAuthToken. Default MCPAuthOpen.
	MCPAuth string
	// RateLimit bounds the requests of each client, on each endpoint
	// apart: a client is the subject of its token when /mcp requires one,
	// else its address. Zero fields take ratelimit's defaults (10
	// requests/s, bursts of 20).
	RateLimit ratelimit.Config
}

// Validate reports whether the configuration is usable.
func (q QueryEndpoints) Validate() error {
	switch q.MCPAuth {
	case "", MCPAuthOpen, MCPAuthToken:
	default:
		return fmt.Errorf("node: --mcp-auth %q: want %s or %s", q.MCPAuth, MCPAuthOpen, MCPAuthToken)
	}
	if err := q.RateLimit.Validate(); err != nil {
		return fmt.Errorf("node: query rate limit: %w", err)
	}
	return nil
}

// bindQueryFlags registers the flags of q on fs.
func bindQueryFlags(fs *pflag.FlagSet, q *QueryEndpoints) {
	fs.StringVar(&q.MCPAuth, "mcp-auth", MCPAuthOpen, "who may call /mcp: open (anyone) or token (a bearer token the feed API accepts: operator, facility or sign-in token; 401 without one)")
	fs.Float64Var(&q.RateLimit.Rate, "query-rate", 0, fmt.Sprintf("requests per second each client may make to /mcp, to /panosc-api and to the page's /search, each apart (default %d; beyond: 429 with Retry-After)", ratelimit.DefaultRate))
	fs.IntVar(&q.RateLimit.Burst, "query-burst", 0, fmt.Sprintf("requests each client may make at once to /mcp, to /panosc-api and to /search, beyond --query-rate (default %d)", ratelimit.DefaultBurst))
}

// queryKey names the client of a query for its rate limit: the subject
// (and issuer) of the token the request authenticated with, else the
// address it came from.
func queryKey(r *http.Request) string {
	if p, ok := api.PrincipalFrom(r.Context()); ok {
		return "token " + p.Issuer + " " + p.Subject
	}
	return "addr " + ratelimit.ClientAddress(r)
}

// queryDecorators wrap the query endpoints: MCP, the PaNOSC search API
// and the search page, each with its own rate limit per client and at
// most maxInFlight requests running at once.
type queryDecorators struct {
	mcp, panosc, searchPage func(http.Handler) http.Handler
}

// queryHandlers returns the decorators of the query endpoints. /mcp,
// under MCPAuthToken, is first limited per address with room for a few
// clients behind one address (addressSlack times the burst), so that a
// flood of forged tokens costs no signature checks; it then authenticates
// (so that a client with a token is counted by its subject, one without
// by its address) and refuses a request without a valid token after the
// rate limit (so that failed attempts are rate limited too).
func queryHandlers(q QueryEndpoints, feedAPI *api.Server) (queryDecorators, error) {
	var d queryDecorators
	if err := q.Validate(); err != nil {
		return d, err
	}
	var gate *api.ReadGate
	if q.MCPAuth == MCPAuthToken {
		var err error
		if gate, err = feedAPI.ReadGate(); err != nil {
			return d, fmt.Errorf("node: --mcp-auth token: %w", err)
		}
	}
	limiter := func(cfg ratelimit.Config, key func(*http.Request) string) (func(http.Handler) http.Handler, error) {
		l, err := ratelimit.New(cfg, key)
		if err != nil {
			return nil, err
		}
		return l.Handler, nil
	}
	mcpLimit, err := limiter(q.RateLimit, queryKey)
	if err != nil {
		return d, err
	}
	panoscLimit, err := limiter(q.RateLimit, queryKey)
	if err != nil {
		return d, err
	}
	pageLimit, err := limiter(q.RateLimit, queryKey)
	if err != nil {
		return d, err
	}
	d.mcp = func(h http.Handler) http.Handler {
		h = boundedQueries(h, maxInFlight, maxQueryBody)
		if gate == nil {
			return mcpLimit(h)
		}
		return h
	}
	if gate != nil {
		perAddress := q.RateLimit.WithDefaults()
		perAddress.Rate *= addressSlack
		perAddress.Burst *= addressSlack
		addrLimit, err := limiter(perAddress, func(r *http.Request) string { return ratelimit.ClientAddress(r) })
		if err != nil {
			return d, err
		}
		d.mcp = func(h http.Handler) http.Handler {
			return addrLimit(gate.Identify(mcpLimit(gate.Require(boundedQueries(h, maxInFlight, maxQueryBody)))))
		}
	}
	d.panosc = func(h http.Handler) http.Handler {
		return panoscLimit(boundedQueries(h, maxInFlight, maxQueryBody))
	}
	d.searchPage = func(h http.Handler) http.Handler {
		return pageLimit(boundedQueries(h, maxInFlight, maxQueryBody))
	}
	return d, nil
}

// addressSlack is how many clients with tokens of their own one address
// may carry, under MCPAuthToken, before the address's own limit refuses
// (a NAT, a laboratory's proxy).
const addressSlack = 4
