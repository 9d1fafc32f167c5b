package oaipmh

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestTokenHistoryIsBounded adds many distinct tokens, large ones too: the
// history keeps at most its size, finds a repeat of a recent token and has
// forgotten the oldest.
func TestTokenHistoryIsBounded(t *testing.T) {
	h := newTokenHistory(8)
	big := strings.Repeat("x", 64<<10)
	for i := range 1000 {
		if h.add(big + strconv.Itoa(i)) {
			t.Fatalf("token %d taken for a repeat", i)
		}
		if h.len() > 8 || len(h.ring) > 8 {
			t.Fatalf("after %d tokens the history holds %d digests (ring %d), want at most 8", i+1, h.len(), len(h.ring))
		}
	}
	if !h.add(big+"999") || !h.add(big+"992") {
		t.Error("a token among the last 8 is not found")
	}
	if h.add(big + "991") {
		t.Error("the 9th last token is still remembered")
	}
}

// TestClientTokenHistory walks a list whose tokens cycle: a cycle within
// the history is a loop; a list of fresh tokens far longer than the
// history is not.
func TestClientTokenHistory(t *testing.T) {
	tests := []struct {
		name    string
		history int
		period  int // tokens repeat after this many pages; 0: never
		pages   int // the list ends after this many pages
		loop    bool
	}{
		{name: "cycle within the history", history: 4, period: 3, pages: 100, loop: true},
		{name: "fresh tokens past the history", history: 4, pages: 60},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
				n := 0
				if tok := r.URL.Query().Get("resumptionToken"); tok != "" {
					n, _ = strconv.Atoi(strings.TrimPrefix(tok, "t"))
				}
				next := ""
				if n+1 < tt.pages {
					k := n + 1
					if tt.period > 0 {
						k = (n+1)%tt.period + 1
					}
					next = fmt.Sprintf("t%d", k)
				}
				_, _ = w.Write(listPage(1, next, ""))
			})
			c := testClient(t, srv.URL, func(c *Config) { c.TokenHistory = tt.history })
			var got collected
			err := c.ListRecords(context.Background(), ListRequest{}, got.fn)
			if tt.loop != errors.Is(err, ErrTokenLoop) || (!tt.loop && err != nil) {
				t.Fatalf("err = %v after %d pages, want loop %v", err, len(got.pages), tt.loop)
			}
			if !tt.loop && len(got.pages) != tt.pages {
				t.Errorf("%d pages, want %d", len(got.pages), tt.pages)
			}
		})
	}
}
