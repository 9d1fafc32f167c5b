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
// at MCPPath and the PaNOSC search API) and how often.
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
	fs.Float64Var(&q.RateLimit.Rate, "query-rate", 0, fmt.Sprintf("requests per second each client may make to /mcp and to /panosc-api, each apart (default %d; beyond: 429 with Retry-After)", ratelimit.DefaultRate))
	fs.IntVar(&q.RateLimit.Burst, "query-burst", 0, fmt.Sprintf("requests each client may make at once to /mcp and to /panosc-api, beyond --query-rate (default %d)", ratelimit.DefaultBurst))
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

// queryHandlers returns the decorators of the query endpoints: mcp for
// /mcp, panosc for the PaNOSC search API. Each endpoint has its own rate
// limit and at most maxInFlight requests running at once; /mcp, under
// MCPAuthToken, authenticates before the rate limit (so that a client with
// a token is counted by its subject, one without by its address) and
// refuses a request without a valid token after it (so that failed
// attempts are rate limited too).
func queryHandlers(q QueryEndpoints, feedAPI *api.Server) (mcp, panosc func(http.Handler) http.Handler, err error) {
	if err := q.Validate(); err != nil {
		return nil, nil, err
	}
	var gate *api.ReadGate
	if q.MCPAuth == MCPAuthToken {
		if gate, err = feedAPI.ReadGate(); err != nil {
			return nil, nil, fmt.Errorf("node: --mcp-auth token: %w", err)
		}
	}
	mcpLimit, err := ratelimit.New(q.RateLimit, queryKey)
	if err != nil {
		return nil, nil, err
	}
	panoscLimit, err := ratelimit.New(q.RateLimit, queryKey)
	if err != nil {
		return nil, nil, err
	}
	mcp = func(h http.Handler) http.Handler {
		h = boundedQueries(h, maxInFlight, maxQueryBody)
		if gate == nil {
			return mcpLimit.Handler(h)
		}
		return gate.Identify(mcpLimit.Handler(gate.Require(h)))
	}
	panosc = func(h http.Handler) http.Handler {
		return panoscLimit.Handler(boundedQueries(h, maxInFlight, maxQueryBody))
	}
	return mcp, panosc, nil
}
