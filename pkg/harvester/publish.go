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
	"github.com/panosc/fairway/pkg/oaipmh"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// publishPage writes one raw message per record of the page; the records
// whose identifier is in derived carry Provenance.DerivedIdentifier. The
// page's oversized records go to the dead letters.
func (s *oaiSource) publishPage(ctx context.Context, r *run, p *oaipmh.Page, derived map[string]bool, requestURL string) error {
	f, mark := r.feed, r.mark
	prov := r.provenance(requestURL)
	if !p.ResponseDate.IsZero() {
		prov.ResponseDate = timestamppb.New(p.ResponseDate)
	}
	var derivedProv *fairwayv1.Provenance
	if len(derived) > 0 {
		derivedProv = proto.CloneOf(prov)
		derivedProv.DerivedIdentifier = true
	}
	events := make([]bus.Event, 0, len(p.Records))
	for _, rec := range p.Records {
		raw := &fairwayv1.RawRecord{
			FeedId: f.ID, Facility: f.Facility, SourceKind: f.Kind, SourceIdentifier: rec.Identifier,
			Datestamp: rec.Datestamp, MetadataFormat: f.Format, Deleted: rec.Deleted, Payload: rec.Metadata,
			SetSpecs: rec.SetSpecs, Provenance: prov,
		}
		if derived[rec.Identifier] {
			raw.Provenance = derivedProv
		}
		b, err := proto.Marshal(raw)
		if err != nil {
			return fmt.Errorf("encode %s: %w", rec.Identifier, err)
		}
		events = append(events, r.rawEvent(rec.Identifier, rawHash(rec), b, false))
		if rec.Deleted {
			mark.Deleted++
		}
		mark.Records++
	}
	for _, o := range p.Oversized {
		mark.Rejected++
		reason := fmt.Sprintf("record %s is %d bytes, over the limit of %d (feed %s, %s)", shownID(o.Identifier), o.Size, r.h.cfg.MaxRecordBytes, f.ID, requestURL)
		r.h.log.Warn("record rejected", "feed", f.ID, "identifier", shownID(o.Identifier), "size", o.Size, "url", requestURL)
		stub, _ := proto.Marshal(&fairwayv1.RawRecord{FeedId: f.ID, Facility: f.Facility, SourceKind: f.Kind, SourceIdentifier: stubID(o.Identifier), MetadataFormat: f.Format, Provenance: prov})
		// The message id holds a digest of the identifier, never the
		// identifier itself.
		events = append(events, r.deadLetter(strconv.FormatInt(mark.Pages, 10)+".oversized."+bus.Digest(o.Identifier), stub, reason))
	}
	return r.h.bus.PublishBatch(ctx, Origin, events)
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
