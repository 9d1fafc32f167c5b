package fetch_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/panosc/fairway/pkg/fetch"
)

func TestLimitedReader(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		limit    int64
		wantErr  bool
		exceeded bool
	}{
		{"under", "abc", 5, false, false},
		{"exactly", "abcde", 5, false, false},
		{"over by one", "abcdef", 5, true, true},
		{"far over", strings.Repeat("x", 10000), 100, true, true},
		{"no limit", strings.Repeat("x", 10000), 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lr := &fetch.LimitedReader{R: strings.NewReader(tt.body), N: tt.limit}
			b, err := io.ReadAll(lr)
			if tt.wantErr != errors.Is(err, fetch.ErrPageTooLarge) {
				t.Fatalf("err = %v, want too large: %v", err, tt.wantErr)
			}
			if !tt.wantErr && string(b) != tt.body {
				t.Fatalf("read %d bytes of %d", len(b), len(tt.body))
			}
			if lr.Exceeded() != tt.exceeded {
				t.Fatalf("Exceeded() = %v", lr.Exceeded())
			}
		})
	}
}

func TestPacer(t *testing.T) {
	p := &fetch.Pacer{Interval: 40 * time.Millisecond}
	ctx := context.Background()
	start := time.Now()
	for range 3 {
		if err := p.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Three requests: the second and third wait one interval each.
	if d := time.Since(start); d < 80*time.Millisecond {
		t.Fatalf("three paced requests took %s, want at least 80ms", d)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := p.Wait(cctx); !errors.Is(err, context.Canceled) {
		// The slot after three requests is in the future: a cancelled wait fails.
		t.Fatalf("cancelled wait: %v", err)
	}
	var zero fetch.Pacer
	if err := zero.Wait(cctx); err != nil {
		t.Fatalf("zero pacer: %v", err)
	}
}
