package oaiprovider_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/panosc/fairway/pkg/datacite"
	"github.com/panosc/fairway/pkg/dublincore"
	"github.com/panosc/fairway/pkg/fetch"
	"github.com/panosc/fairway/pkg/oaipmh"
	"github.com/panosc/fairway/pkg/oaiprovider"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// TestOwnHarvester harvests the provider with Fairway's own OAI-PMH client
// and reads the payloads with the normaliser's readers, as a second node
// would: what went in comes out (DOI, title, description, creators,
// licence, access), and deletions come out as deleted.
func TestOwnHarvester(t *testing.T) {
	n := newNode(t, oaiprovider.Config{PageSize: 4})
	sets := n.corpus(10, 4)
	byID := map[string]*fairwayv1.Dataset{}
	for _, e := range sets {
		byID[n.prov.Identifier(e.Dataset.Key)] = e.Dataset
	}
	now := time.Now()
	for _, prefix := range []string{"oai_datacite", "datacite", "oai_dc"} {
		t.Run(prefix, func(t *testing.T) {
			c, err := oaipmh.NewClient(oaipmh.Config{BaseURL: n.srv.URL + "/oai", MetadataPrefix: prefix,
				Transport: fetch.Transport{PageTimeout: 10 * time.Second}}, oaipmh.WithLogger(slog.New(slog.DiscardHandler)))
			if err != nil {
				t.Fatal(err)
			}
			seen := 0
			err = c.ListRecords(context.Background(), oaipmh.ListRequest{}, func(_ context.Context, p *oaipmh.Page, _ string) error {
				for _, r := range p.Records {
					seen++
					want := byID[r.Identifier]
					if want == nil {
						t.Errorf("unknown identifier %q", r.Identifier)
						continue
					}
					if r.Deleted != (want == sets[4].Dataset) {
						t.Errorf("%s: deleted %v", r.Identifier, r.Deleted)
					}
					if r.Deleted {
						continue
					}
					var got *fairwayv1.Dataset
					if prefix == "oai_dc" {
						rec, err := dublincore.Parse(r.MetadataWithNamespaces())
						if err != nil {
							t.Fatalf("%s: %v", r.Identifier, err)
						}
						got = rec.ToDataset(now)
					} else {
						rec, err := datacite.Parse(r.MetadataWithNamespaces())
						if err != nil {
							t.Fatalf("%s: %v", r.Identifier, err)
						}
						got = rec.ToDataset(now)
					}
					if got.Doi != want.Doi || got.Title != want.Title || got.Description != want.Description ||
						got.License != want.License || got.AccessRights != want.AccessRights || got.PublicationYear != want.PublicationYear ||
						len(got.Creators) != 1 || got.Creators[0].Name != want.Creators[0].Name {
						t.Errorf("%s: read back %+v\nwant %+v", r.Identifier, got, want)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if seen != len(sets) {
				t.Errorf("harvested %d records, want %d", seen, len(sets))
			}
		})
	}
}
