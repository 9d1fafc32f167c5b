package scicatpush_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/panosc/fairway/pkg/scicatpush"
	"github.com/panosc/fairway/proto/fairwayv1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// TestMappingDemoCorpus pushes the demo corpus: the test server validates
// every required field as SciCat does, and the fields come from the
// dataset.
func TestMappingDemoCorpus(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	ds, ts := corpus(t, 40)
	for i, d := range ds {
		if out, err := f.client.Upsert(ctx, d, ts[i]); err != nil || out != scicatpush.Created {
			t.Fatalf("%s: Upsert = %q, %v", d.GetKey(), out, err)
		}
		got := f.srv.Dataset(f.client.PID(d.GetKey()))
		if got == nil {
			t.Fatalf("%s: not stored", d.GetKey())
		}
		if got["datasetName"] != d.GetTitle() || got["ownerGroup"] != "daphne" || got["type"] != "raw" || got["isPublished"] != true {
			t.Errorf("%s: name %v, group %v, type %v, published %v", d.GetKey(), got["datasetName"], got["ownerGroup"], got["type"], got["isPublished"])
		}
		if !strings.HasPrefix(d.GetKey(), "doi:") || got["pid"] != d.GetDoi() {
			t.Errorf("%s: pid %v, want the DOI", d.GetKey(), got["pid"])
		}
		if got["description"] != d.GetDescription() {
			t.Errorf("%s: description %v", d.GetKey(), got["description"])
		}
		if want := d.GetInstrument(); want != "" && got["creationLocation"] != want {
			t.Errorf("%s: creationLocation %v, want %q", d.GetKey(), got["creationLocation"], want)
		}
		if len(d.GetCreators()) > 0 && got["principalInvestigator"] == "" {
			t.Errorf("%s: no principalInvestigator", d.GetKey())
		}
		if sf, _ := got["sourceFolder"].(string); !strings.HasPrefix(sf, "/fairway/") {
			t.Errorf("%s: sourceFolder %q", d.GetKey(), sf)
		}
		kw := strings.Join(toStrings(got["keywords"]), "|")
		for _, tc := range ts[i] {
			if !strings.Contains(kw, tc.GetLabel()) {
				t.Errorf("%s: keywords %q lack technique %q", d.GetKey(), kw, tc.GetLabel())
			}
		}
		sm, _ := got["scientificMetadata"].(map[string]any)
		if sm["dcatIri"] != "https://doi.org/"+d.GetDoi() || sm["fairwayKey"] != d.GetKey() {
			t.Errorf("%s: scientificMetadata %v", d.GetKey(), sm)
		}
		if iris := toStrings(sm["panetTechniques"]); len(iris) != len(ts[i]) || !strings.HasPrefix(iris[0], "http://purl.org/pan-science/PaNET/PaNET") {
			t.Errorf("%s: panetTechniques %v", d.GetKey(), iris)
		}
		techs, _ := got["techniques"].([]any)
		if len(techs) != len(ts[i]) {
			t.Errorf("%s: techniques %v", d.GetKey(), techs)
		}
	}
}

func toStrings(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func TestMappingFields(t *testing.T) {
	f := newFixture(t, func(c *scicatpush.Config) { c.ContactEmail = "help@daphne.example.eu" })
	end := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		ds    *fairwayv1.Dataset
		check func(t *testing.T, d scicatpush.Document)
	}{
		{"bare", &fairwayv1.Dataset{Key: "src:PSI:42", Facility: "PSI"}, func(t *testing.T, d scicatpush.Document) {
			if d.DatasetName != "src:PSI:42" || d.Owner != "PSI" || d.ContactEmail != "help@daphne.example.eu" ||
				d.CreationTime != "1970-01-01T00:00:00Z" || d.CreationLocation != "PSI" || d.PrincipalInvestigator != "PSI" ||
				d.SourceFolder != "/fairway/psi" || !strings.HasPrefix(d.PID, "fairway/") {
				t.Errorf("%+v", d)
			}
			if d.ScientificMetadata["dcatIri"] != "https://node.example/datasets/src:PSI:42" {
				t.Errorf("dcatIri %v", d.ScientificMetadata["dcatIri"])
			}
		}},
		{"contacts and collection", &fairwayv1.Dataset{
			Key: "doi:10.5/x", Doi: "10.5/x", Facility: "MAX IV", Title: "T", Instrument: "BioMAX",
			Contacts:      []*fairwayv1.Contact{{Name: "Desk", Email: "not an address"}, {Email: "desk@maxiv.example"}},
			Creators:      []*fairwayv1.Person{{GivenName: "Ada", FamilyName: "Lovelace", Orcid: "0000-0002-1825-0097"}},
			CollectedEnd:  timestamppb.New(end),
			ProposalId:    "MX-123",
			InstrumentPid: "https://hdl.handle.net/21.11157/biomax",
			Distributions: []*fairwayv1.Distribution{{DownloadUrl: "https://x/a.h5", ByteSize: 10}, {AccessUrl: "https://x/", ByteSize: 5}},
		}, func(t *testing.T, d scicatpush.Document) {
			if d.Owner != "Desk" || d.ContactEmail != "desk@maxiv.example" || d.PrincipalInvestigator != "Ada Lovelace" ||
				d.CreationTime != "2025-03-04T05:06:07Z" || d.EndTime != d.CreationTime || d.CreationLocation != "BioMAX" ||
				d.Size != 15 || d.NumberFiles != 2 || d.SourceFolder != "/fairway/max-iv" || d.PID != "10.5/x" {
				t.Errorf("%+v", d)
			}
			m := d.ScientificMetadata
			if m["proposalId"] != "MX-123" || m["instrumentPid"] != "https://hdl.handle.net/21.11157/biomax" || m["collectedEnd"] != "2025-03-04T05:06:07Z" {
				t.Errorf("scientificMetadata %v", m)
			}
		}},
		{"derived", &fairwayv1.Dataset{Key: "src:ESS:d", Facility: "ESS", Creators: []*fairwayv1.Person{{Name: "Bo"}},
			Related: []*fairwayv1.RelatedIdentifier{{Identifier: "10.1/raw", Type: "DOI", Relation: "IsDerivedFrom"}, {Identifier: "10.1/paper", Relation: "IsCitedBy"}}},
			func(t *testing.T, d scicatpush.Document) {
				if d.Type != "derived" || d.Investigator != "Bo" || len(d.InputDatasets) != 1 || d.InputDatasets[0] != "10.1/raw" ||
					len(d.UsedSoftware) != 1 || d.PrincipalInvestigator != "" || d.CreationLocation != "" {
					t.Errorf("%+v", d)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := f.client.Document(tc.ds, nil)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, d)
			// And SciCat accepts it.
			if out, err := f.client.Upsert(context.Background(), tc.ds, nil); err != nil || out != scicatpush.Created {
				t.Errorf("Upsert = %q, %v", out, err)
			}
		})
	}
	if _, err := f.client.Upsert(context.Background(), &fairwayv1.Dataset{}, nil); err == nil {
		t.Error("a dataset without a key was pushed")
	}
}

// BenchmarkUpsert pushes datasets to a test server that answers in 20 ms,
// 32 in flight: new datasets (one POST each) and datasets SciCat holds
// already (POST 409, then PATCH).
func BenchmarkUpsert(b *testing.B) {
	for _, mode := range []string{"create", "update"} {
		b.Run(mode, func(b *testing.B) {
			f := newFixture(b, nil)
			ds, ts := corpus(b, 200)
			if err := f.client.Check(context.Background()); err != nil {
				b.Fatal(err)
			}
			if mode == "update" {
				for i := range ds {
					if _, err := f.client.Upsert(context.Background(), ds[i], ts[i]); err != nil {
						b.Fatal(err)
					}
				}
			}
			f.srv.SetLatency(20 * time.Millisecond)
			const inFlight = 32
			var next atomic.Int64
			b.ResetTimer()
			var wg sync.WaitGroup
			for range inFlight {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := int(next.Add(1)) - 1
						if i >= b.N {
							return
						}
						d := ds[i%len(ds)]
						if mode == "create" {
							d = proto.Clone(d).(*fairwayv1.Dataset)
							d.Key = fmt.Sprintf("src:bench:%d", i)
							d.Doi = ""
						}
						if _, err := f.client.Upsert(context.Background(), d, ts[i%len(ds)]); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pushes/s")
		})
	}
}
