package harvester

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/oaipmh"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// publishPage writes one raw message per record of the page; the records
// whose identifier is in derived carry Provenance.DerivedIdentifier. The
// page's oversized records go to the dead letters.
func (h *Harvester) publishPage(ctx context.Context, f feeds.Feed, mark *RunMark, p *oaipmh.Page, derived map[string]bool, requestURL string) error {
	prov := &fairwayv1.Provenance{
		FeedId: f.ID, RunId: mark.RunID, RequestUrl: requestURL,
		HarvestedAt: timestamppb.New(h.now().UTC()), Page: int32(mark.Pages),
	}
	if !p.ResponseDate.IsZero() {
		prov.ResponseDate = timestamppb.New(p.ResponseDate)
	}
	var derivedProv *fairwayv1.Provenance
	if len(derived) > 0 {
		derivedProv = proto.CloneOf(prov)
		derivedProv.DerivedIdentifier = true
	}
	events := make([]bus.Event, 0, len(p.Records))
	for _, r := range p.Records {
		raw := &fairwayv1.RawRecord{
			FeedId: f.ID, Facility: f.Facility, SourceKind: f.Kind, SourceIdentifier: r.Identifier,
			Datestamp: r.Datestamp, MetadataFormat: f.Format, Deleted: r.Deleted, Payload: r.Metadata,
			SetSpecs: r.SetSpecs, Provenance: prov,
		}
		if derived[r.Identifier] {
			raw.Provenance = derivedProv
		}
		b, err := proto.Marshal(raw)
		if err != nil {
			return fmt.Errorf("encode %s: %w", r.Identifier, err)
		}
		events = append(events, bus.Event{
			Stream: bus.Raw, Key: f.ID + ":" + r.Identifier, Hash: rawHash(r), Payload: b,
			Metadata: map[string]string{bus.HeaderCorrelation: mark.RunID},
		})
		if r.Deleted {
			mark.Deleted++
		}
		mark.Records++
	}
	for _, o := range p.Oversized {
		mark.Rejected++
		reason := fmt.Sprintf("record %s is %d bytes, over the limit of %d (feed %s, %s)", shownID(o.Identifier), o.Size, h.cfg.MaxRecordBytes, f.ID, requestURL)
		h.log.Warn("record rejected", "feed", f.ID, "identifier", shownID(o.Identifier), "size", o.Size, "url", requestURL)
		stub, _ := proto.Marshal(&fairwayv1.RawRecord{FeedId: f.ID, Facility: f.Facility, SourceKind: f.Kind, SourceIdentifier: stubID(o.Identifier), MetadataFormat: f.Format, Provenance: prov})
		events = append(events, bus.Event{
			// The message id holds a digest of the identifier, never the
			// identifier itself.
			Stream: bus.DeadLetters, Key: Origin, Hash: strconv.FormatInt(mark.Pages, 10) + ".oversized." + bus.Digest(o.Identifier), Payload: stub,
			Metadata: map[string]string{bus.HeaderReason: reason, bus.HeaderStage: Origin, bus.HeaderCorrelation: mark.RunID},
		})
	}
	return h.bus.PublishBatch(ctx, Origin, events)
}

// rawHash identifies a record's content as received.
func rawHash(r oaipmh.Record) string {
	s := sha256.New()
	s.Write([]byte(r.Datestamp))
	if r.Deleted {
		s.Write([]byte{1})
	}
	s.Write(r.Metadata)
	return hex.EncodeToString(s.Sum(nil)[:16])
}
