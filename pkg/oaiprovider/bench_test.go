package oaiprovider_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/panosc/fairway/pkg/oaiprovider"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// BenchmarkListRecords100 answers a ListRecords page of 100 records
// (oai_datacite, oai_dc, dcat_ap) from the middle of a real read model of
// 2,000 datasets (from= the datestamp of dataset 1,000): the cost of one
// harvest page, from the request to the last byte.
func BenchmarkListRecords100(b *testing.B) {
	n := newNode(b, oaiprovider.Config{PageSize: 100})
	const size = 2000
	entries := make([]*fairwayv1.CatalogueEntry, 0, size)
	for i := range size {
		entries = append(entries, entry(b, dataset(i), epoch.Add(time.Duration(i)*time.Second)))
	}
	n.publish(entries...)
	for _, prefix := range []string{"oai_datacite", "oai_dc", "dcat_ap"} {
		b.Run(prefix, func(b *testing.B) {
			first := "verb=ListRecords&metadataPrefix=" + prefix + "&from=2026-03-01T12:16:40Z"
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, "/oai?"+first, nil)
				w := httptest.NewRecorder()
				n.prov.ServeHTTP(w, req)
				if w.Code != http.StatusOK || w.Body.Len() < 100*500 {
					b.Fatalf("status %d, %d bytes", w.Code, w.Body.Len())
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/page")
		})
	}
}
