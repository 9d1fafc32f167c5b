package oaipmh

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestGetRecordTooLarge(t *testing.T) {
	big := `<OAI-PMH><GetRecord><record><header><identifier>oai:x:big</identifier><datestamp>2024-01-02</datestamp></header>` +
		`<metadata><m>` + strings.Repeat("x", 300) + `</m></metadata></record></GetRecord></OAI-PMH>`
	srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(big)) })
	c := testClient(t, srv.URL+"/oai", func(c *Config) { c.MaxRecordBytes = 100 })
	_, err := c.GetRecord(context.Background(), "oai:x:big")
	var tooLarge *RecordTooLargeError
	if !errors.Is(err, ErrRecordTooLarge) || !errors.As(err, &tooLarge) {
		t.Fatalf("err = %v, want a *RecordTooLargeError", err)
	}
	if tooLarge.Identifier != "oai:x:big" || tooLarge.Datestamp != "2024-01-02" || tooLarge.Size != int64(len("<m></m>")+300) ||
		!strings.HasPrefix(tooLarge.URL, srv.URL+"/oai?") || !strings.Contains(err.Error(), "oai:x:big") {
		t.Errorf("error %+v (%v)", tooLarge, err)
	}
	rec, err := testClient(t, srv.URL+"/oai", nil).GetRecord(context.Background(), "oai:x:big")
	if err != nil || rec.Identifier != "oai:x:big" || len(rec.Metadata) != 307 {
		t.Errorf("without a small limit: %v, %v", rec, err)
	}
}
