package piveau_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/piveautest"
	"github.com/panosc/fairway/pkg/piveau"
)

// BenchmarkPut pushes distinct datasets to a hub that answers in 20 ms,
// with a bounded number of pushes in flight; it reports pushes per second.
func BenchmarkPut(b *testing.B) {
	for _, inFlight := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("inflight=%d", inFlight), func(b *testing.B) {
			srv := piveautest.Start(piveautest.Config{APIKey: key, Catalogues: []string{"panosc"}, Latency: 20 * time.Millisecond})
			defer srv.Close()
			tr := http.DefaultTransport.(*http.Transport).Clone()
			tr.MaxIdleConnsPerHost = inFlight
			c, _ := newClient(b, srv, func(c *piveau.Config) { c.HTTPClient = &http.Client{Transport: tr} })
			bodies := make([][]byte, b.N)
			for i := range bodies {
				bodies[i] = turtle(fmt.Sprintf("ds-%d", i), "Title")
			}
			var next atomic.Int64
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			var failed atomic.Int64
			for range inFlight {
				wg.Go(func() {
					for {
						i := int(next.Add(1)) - 1
						if i >= b.N {
							return
						}
						if _, err := c.Put(context.Background(), fmt.Sprintf("ds-%d", i), bodies[i]); err != nil {
							failed.Add(1)
						}
					}
				})
			}
			wg.Wait()
			if n := failed.Load(); n > 0 {
				b.Fatalf("%d pushes failed", n)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pushes/s")
		})
	}
}
