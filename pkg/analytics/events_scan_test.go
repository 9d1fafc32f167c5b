package analytics

import (
	"cmp"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/panosc/fairway/pkg/bus"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// decodedEvent is the pipeline event of m as a full proto.Unmarshal of
// the dataset gives it: what PipelineEventFrom, which reads only the
// event's fields, must agree with.
func decodedEvent(s bus.Stream, m bus.StoredMessage) PipelineEventRow {
	r := PipelineEventRow{Stage: stageOfStream[s], Seq: m.Sequence, At: m.Time, Key: m.Header.Get(bus.HeaderKey), Outcome: OutcomeEmitted}
	var d *fairwayv1.Dataset
	if s == bus.Normalised {
		var v fairwayv1.Dataset
		if proto.Unmarshal(m.Data, &v) != nil {
			r.Outcome = OutcomeUnreadable
			return r
		}
		d = &v
	} else {
		var v fairwayv1.EnrichedDataset
		if proto.Unmarshal(m.Data, &v) != nil {
			r.Outcome = OutcomeUnreadable
			return r
		}
		d = v.GetDataset()
	}
	r.Key = cmp.Or(r.Key, d.GetKey())
	if d.GetDeleted() {
		r.Outcome = OutcomeDeleted
	}
	r.Facility, r.FeedID, r.RunID = d.GetFacility(), d.GetFeedId(), d.GetProvenance().GetRunId()
	r.HarvestedAt = timeOf(d.GetProvenance().GetHarvestedAt())
	if !r.HarvestedAt.IsZero() && !r.At.IsZero() {
		r.Latency = r.At.Sub(r.HarvestedAt)
	}
	return r
}

func TestPipelineEventReadsOnlyItsFieldsAsUnmarshalWould(t *testing.T) {
	at := harvested.Add(90 * time.Second)
	full := &fairwayv1.Dataset{Key: "doi:10.5072/a", Doi: "10.5072/a", Facility: "ESRF", FeedId: "esrf-oai", Title: "A",
		Creators:   []*fairwayv1.Person{{Name: "A"}},
		Provenance: &fairwayv1.Provenance{FeedId: "esrf-oai", RunId: "run-1", HarvestedAt: timestamppb.New(harvested), Page: 3}}
	marshal := func(m proto.Message) []byte { return mustMarshal(t, m) }
	enriched := func(d *fairwayv1.Dataset) []byte {
		return marshal(&fairwayv1.EnrichedDataset{Dataset: d, PanetVersion: "v1", QualityScore: 0.5,
			Techniques: []*fairwayv1.Technique{{Iri: PaNETNamespace + "PaNET01188", Label: "saxs"}}})
	}
	twice := append(marshal(&fairwayv1.Dataset{Key: "doi:10.5072/old", Facility: "ILL", Provenance: &fairwayv1.Provenance{RunId: "r0"}}),
		marshal(&fairwayv1.Dataset{Key: "doi:10.5072/new", Provenance: &fairwayv1.Provenance{HarvestedAt: timestamppb.New(harvested)}})...)
	cases := []struct {
		name   string
		stream bus.Stream
		data   []byte
		want   string // the outcome
	}{
		{"normalised", bus.Normalised, marshal(full), OutcomeEmitted},
		{"enriched", bus.Enriched, enriched(full), OutcomeEmitted},
		{"deleted", bus.Normalised, marshal(&fairwayv1.Dataset{Key: "doi:10.5072/d", Deleted: true, Facility: "PSI"}), OutcomeDeleted},
		{"enriched deleted", bus.Enriched, enriched(&fairwayv1.Dataset{Key: "doi:10.5072/d", Deleted: true}), OutcomeDeleted},
		{"no provenance", bus.Normalised, marshal(&fairwayv1.Dataset{Key: "k", Facility: "ILL"}), OutcomeEmitted},
		{"provenance without harvest time", bus.Enriched, enriched(&fairwayv1.Dataset{Key: "k", Provenance: &fairwayv1.Provenance{RunId: "r"}}), OutcomeEmitted},
		{"harvest time zero", bus.Normalised, marshal(&fairwayv1.Dataset{Key: "k", Provenance: &fairwayv1.Provenance{HarvestedAt: &timestamppb.Timestamp{}}}), OutcomeEmitted},
		{"harvest time invalid", bus.Normalised, marshal(&fairwayv1.Dataset{Key: "k", Provenance: &fairwayv1.Provenance{HarvestedAt: &timestamppb.Timestamp{Seconds: 1 << 60}}}), OutcomeEmitted},
		{"harvest time in the future", bus.Normalised, marshal(&fairwayv1.Dataset{Key: "k", Provenance: &fairwayv1.Provenance{HarvestedAt: timestamppb.New(at.Add(time.Hour))}}), OutcomeEmitted},
		{"a message given twice is merged", bus.Normalised, twice, OutcomeEmitted},
		{"no dataset", bus.Enriched, marshal(&fairwayv1.EnrichedDataset{PanetVersion: "v1"}), OutcomeEmitted},
		{"empty", bus.Normalised, nil, OutcomeEmitted},
		{"not protobuf", bus.Normalised, []byte("<record>not protobuf</record>"), OutcomeUnreadable},
		{"enriched not protobuf", bus.Enriched, []byte{0x0a, 0x05, 0xff, 0xff}, OutcomeUnreadable},
		{"truncated", bus.Normalised, marshal(full)[:20], OutcomeUnreadable},
		{"key not UTF-8", bus.Normalised, []byte{0x0a, 0x02, 0xc3, 0x28}, OutcomeUnreadable},
		{"run id not UTF-8", bus.Normalised, []byte{0xd2, 0x01, 0x04, 0x12, 0x02, 0xc3, 0x28}, OutcomeUnreadable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := bus.StoredMessage{Subject: bus.Subject(c.stream, "k"), Sequence: 7, Data: c.data, Time: at}
			got, want := PipelineEventFrom(c.stream, m), decodedEvent(c.stream, m)
			if got != want {
				t.Errorf("read\n%+v\nwant what a full decode gives\n%+v", got, want)
			}
			if got.Outcome != c.want {
				t.Errorf("outcome %q, want %q", got.Outcome, c.want)
			}
		})
	}
}

// TestPipelineEventOfUndecodedMessage: stored bytes that the bus could
// not decode give an unreadable event under the key their header names,
// even when they parse (here a whole dataset, marked compressed).
func TestPipelineEventOfUndecodedMessage(t *testing.T) {
	data := mustMarshal(t, &fairwayv1.Dataset{Key: "doi:10.5072/u", Facility: "ESRF"})
	for _, s := range []bus.Stream{bus.Normalised, bus.Enriched, bus.Catalogue} {
		m := bus.StoredMessage{Subject: bus.Subject(s, "k"), Sequence: 3, Data: data, Time: time.Now(),
			Header: map[string][]string{bus.HeaderKey: {"doi:10.5072/u"}, bus.HeaderEncoding: {bus.EncodingS2}}}
		if got := PipelineEventFrom(s, m); got.Outcome != OutcomeUnreadable || got.Key != "doi:10.5072/u" {
			t.Errorf("%s: %+v, want an unreadable event of doi:10.5072/u", s, got)
		}
	}
}

// BenchmarkPipelineEventFrom measures reading the pipeline event of one
// enriched dataset (the writer's normalised and enriched consumers).
func BenchmarkPipelineEventFrom(b *testing.B) {
	msgs := benchEntries(b, 1)
	var c fairwayv1.CatalogueEntry
	if err := proto.Unmarshal(msgs[0].Data, &c); err != nil {
		b.Fatal(err)
	}
	m := bus.StoredMessage{Sequence: 1, Data: mustMarshal(b, c.GetDataset()), Time: time.Now()}
	b.ReportAllocs()
	for b.Loop() {
		if r := PipelineEventFrom(bus.Enriched, m); r.Key == "" {
			b.Fatal("no key")
		}
	}
}
