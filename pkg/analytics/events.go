package analytics

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/panosc/fairway/pkg/bus"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// maxText bounds the free texts (reasons, errors) and maxName the names
// (keys, facilities, stages, subjects) the writer stores from a message: a
// hostile one cannot grow a row.
const (
	maxText = 1024
	maxName = 512
)

// Outcomes of a pipeline event.
const (
	// OutcomeEmitted: the stage emitted the dataset.
	OutcomeEmitted = "emitted"
	// OutcomeDeleted: the stage emitted the dataset's withdrawal.
	OutcomeDeleted = "deleted"
	// OutcomeUnreadable: the writer could not read the message.
	OutcomeUnreadable = "unreadable"
)

// PipelineEventRow is one message a stage emitted (a row of
// pipeline_events).
type PipelineEventRow struct {
	// Stage that emitted it: normaliser, enricher or publisher.
	Stage string
	// Seq is its sequence in the stage's output stream; with Stage it
	// identifies the message.
	Seq     uint64
	Outcome string
	Key     string
	// Facility, FeedID and RunID say where the dataset was harvested.
	Facility, FeedID, RunID string
	// HarvestedAt is when the harvester received the record (zero when
	// the message does not say).
	HarvestedAt time.Time
	// At is when the stream stored the message.
	At time.Time
	// Latency is At - HarvestedAt, 0 when unknown (or negative: clocks).
	Latency time.Duration
}

const pipelineEventColumns = "stage, seq, outcome, key, facility, feed_id, run_id, harvested_at, at, latency_ms"

// pipelineEventColumnsOf returns the rows' values column by column, in the
// order of pipelineEventColumns.
func pipelineEventColumnsOf(rows []PipelineEventRow) []any {
	n := len(rows)
	stage, outcome, key, facility, feed, run := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	seq, latency := make([]uint64, n), make([]uint64, n)
	harvestedAt, at := make([]time.Time, n), make([]time.Time, n)
	for i, r := range rows {
		stage[i], seq[i], outcome[i] = r.Stage, r.Seq, r.Outcome
		key[i], facility[i], feed[i], run[i] = bound(r.Key, maxName), bound(r.Facility, maxName), bound(r.FeedID, maxName), bound(r.RunID, maxName)
		harvestedAt[i], at[i], latency[i] = storedTime(r.HarvestedAt), storedTime(r.At), uint64(max(r.Latency, 0).Milliseconds())
	}
	return []any{stage, seq, outcome, key, facility, feed, run, harvestedAt, at, latency}
}

// stageOfStream is the stage whose output each stream is.
var stageOfStream = map[bus.Stream]string{
	bus.Normalised: "normaliser",
	bus.Enriched:   "enricher",
	bus.Catalogue:  "publisher",
}

// PipelineEventFrom reads the pipeline event of message m of stream s
// (Normalised, Enriched or Catalogue). A message it cannot read still gives
// a row, with OutcomeUnreadable and the key its headers name.
func PipelineEventFrom(s bus.Stream, m bus.StoredMessage) PipelineEventRow {
	r := PipelineEventRow{Stage: cmp.Or(stageOfStream[s], string(s)), Seq: m.Sequence, At: m.Time, Key: m.Header.Get(bus.HeaderKey), Outcome: OutcomeEmitted}
	if bus.Undecoded(m) { // stored bytes that could not be decoded: not read, even if they parse
		r.Outcome = OutcomeUnreadable
		return r
	}
	var (
		d       *fairwayv1.Dataset
		deleted bool
	)
	switch s {
	case bus.Normalised, bus.Enriched:
		// Only the few fields of the event are read, without decoding
		// the whole dataset (the writer's busiest consumers).
		var f eventFields
		data := m.Data
		ok := true
		if s == bus.Enriched {
			ok = scanMessage(data, func(num protowire.Number, typ protowire.Type, v []byte) bool {
				if num == 1 && typ == protowire.BytesType {
					return f.scanDataset(v)
				}
				return true
			})
		} else {
			ok = f.scanDataset(data)
		}
		if !ok {
			r.Outcome = OutcomeUnreadable
			return r
		}
		r.Key = cmp.Or(r.Key, f.key)
		if f.deleted {
			r.Outcome = OutcomeDeleted
		}
		r.Facility, r.FeedID, r.RunID = f.facility, f.feed, f.run
		r.HarvestedAt = f.harvestedAt()
		if !r.HarvestedAt.IsZero() && !r.At.IsZero() {
			r.Latency = r.At.Sub(r.HarvestedAt)
		}
		return r
	case bus.Catalogue:
		var v fairwayv1.CatalogueEntry
		if proto.Unmarshal(m.Data, &v) != nil {
			r.Outcome = OutcomeUnreadable
			return r
		}
		return catalogueEvent(m, &v)
	}
	return datasetEvent(r, d, deleted)
}

// catalogueEvent is the pipeline event of catalogue message m, whose entry
// e the caller decoded already (the writer's catalogue consumer decodes
// each entry once for both of its rows).
func catalogueEvent(m bus.StoredMessage, e *fairwayv1.CatalogueEntry) PipelineEventRow {
	r := PipelineEventRow{Stage: stageOfStream[bus.Catalogue], Seq: m.Sequence, At: m.Time, Key: m.Header.Get(bus.HeaderKey), Outcome: OutcomeEmitted}
	r.Key = cmp.Or(e.GetKey(), r.Key)
	return datasetEvent(r, e.GetDataset().GetDataset(), e.GetDeleted())
}

// datasetEvent completes r with what dataset d says.
func datasetEvent(r PipelineEventRow, d *fairwayv1.Dataset, deleted bool) PipelineEventRow {
	r.Key = cmp.Or(r.Key, d.GetKey())
	if deleted || d.GetDeleted() {
		r.Outcome = OutcomeDeleted
	}
	r.Facility, r.FeedID = d.GetFacility(), d.GetFeedId()
	r.RunID = d.GetProvenance().GetRunId()
	r.HarvestedAt = timeOf(d.GetProvenance().GetHarvestedAt())
	if !r.HarvestedAt.IsZero() && !r.At.IsZero() {
		r.Latency = r.At.Sub(r.HarvestedAt)
	}
	return r
}

// eventFields is what a pipeline event reads of a wire-format Dataset
// (proto/fairway/v1/events.proto): key (1), facility (4), feed_id (5),
// deleted (23) and provenance (26: run_id 2, harvested_at 5). As in
// proto.Unmarshal, the last value of a field wins and a message given
// twice is merged; a field of another wire type than its own is skipped.
type eventFields struct {
	key, facility, feed, run string
	deleted, harvested       bool
	secs                     int64
	nanos                    int32
}

// scanDataset reads the event's fields of Dataset b into f; it reports
// false when b is not wire format or a string read is not UTF-8.
func (f *eventFields) scanDataset(b []byte) bool {
	return scanMessage(b, func(num protowire.Number, typ protowire.Type, v []byte) bool {
		switch {
		case typ == protowire.BytesType && (num == 1 || num == 4 || num == 5):
			if !utf8.Valid(v) {
				return false
			}
			switch num {
			case 1:
				f.key = string(v)
			case 4:
				f.facility = string(v)
			default:
				f.feed = string(v)
			}
		case typ == protowire.VarintType && num == 23:
			x, n := protowire.ConsumeVarint(v)
			f.deleted = n > 0 && x != 0
		case typ == protowire.BytesType && num == 26:
			return scanMessage(v, func(num protowire.Number, typ protowire.Type, v []byte) bool {
				switch {
				case typ == protowire.BytesType && num == 2:
					if !utf8.Valid(v) {
						return false
					}
					f.run = string(v)
				case typ == protowire.BytesType && num == 5:
					f.harvested = true
					return scanMessage(v, func(num protowire.Number, typ protowire.Type, v []byte) bool {
						if typ != protowire.VarintType {
							return true
						}
						x, _ := protowire.ConsumeVarint(v)
						switch num {
						case 1:
							f.secs = int64(x)
						case 2:
							f.nanos = int32(x)
						}
						return true
					})
				}
				return true
			})
		}
		return true
	})
}

// harvestedAt is the provenance's harvest time, zero when unknown or not
// a valid timestamp.
func (f *eventFields) harvestedAt() time.Time {
	if !f.harvested {
		return time.Time{}
	}
	return timeOf(&timestamppb.Timestamp{Seconds: f.secs, Nanos: f.nanos})
}

// scanMessage calls field with the number, type and value of every field
// of wire-format message b, in order: the bytes of a length-delimited
// field, the varint of a varint field (other types: their raw bytes). It
// reports false when b is not wire format or field returned false.
func scanMessage(b []byte, field func(num protowire.Number, typ protowire.Type, v []byte) bool) bool {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return false
		}
		b = b[n:]
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return false
		}
		v := b[:m]
		if typ == protowire.BytesType {
			var k int
			v, k = protowire.ConsumeBytes(b)
			if k < 0 {
				return false
			}
		}
		if !field(num, typ, v) {
			return false
		}
		b = b[m:]
	}
	return true
}

// DeadLetterRow is one message of the dead-letter stream (a row of
// dead_letters).
type DeadLetterRow struct {
	// Seq is its sequence in the dead-letter stream.
	Seq uint64
	// Stage that gave up, and why.
	Stage, Reason string
	// Key of the dataset, when the dead letter names it.
	Key string
	// FeedID and Facility, when the original message says.
	FeedID, Facility string
	// Subject the original message was read from.
	Subject  string
	Attempts uint32
	// At is when it was dead-lettered.
	At time.Time
}

const deadLetterColumns = "seq, stage, reason, key, feed_id, facility, subject, attempts, at"

func (r DeadLetterRow) values() []any {
	return []any{
		r.Seq, bound(r.Stage, maxName), bound(r.Reason, maxText), bound(r.Key, maxName), bound(r.FeedID, maxName),
		bound(r.Facility, maxName), bound(r.Subject, maxName), r.Attempts, storedTime(r.At),
	}
}

// DeadLetterFrom reads the row of a dead-letter stream message. Whatever
// the message holds it gives a row: the original payload is read as what
// the stage that gave up consumes, for its feed and facility, and left
// alone when it is not that.
func DeadLetterFrom(m bus.StoredMessage) DeadLetterRow {
	h := m.Header
	r := DeadLetterRow{
		Seq: m.Sequence, Stage: h.Get(bus.HeaderStage), Reason: h.Get(bus.HeaderReason), At: m.Time,
		Subject: cmp.Or(h.Get(bus.HeaderSubject), h.Get(bus.HeaderSourceSubject)),
		Key:     h.Get(bus.HeaderDatasetKey),
	}
	if k := h.Get(bus.HeaderKey); r.Key == "" && k != r.Stage {
		r.Key = k
	}
	if n, err := strconv.ParseUint(h.Get(bus.HeaderAttempts), 10, 32); err == nil {
		r.Attempts = uint32(n)
	}
	var d *fairwayv1.Dataset
	switch {
	case r.Stage == "harvester" || r.Stage == "normaliser":
		var v fairwayv1.RawRecord
		if proto.Unmarshal(m.Data, &v) == nil {
			r.FeedID, r.Facility = v.GetFeedId(), v.GetFacility()
		}
	case r.Stage == "enricher":
		var v fairwayv1.Dataset
		if proto.Unmarshal(m.Data, &v) == nil {
			d = &v
		}
	case r.Stage == "publisher":
		var v fairwayv1.EnrichedDataset
		if proto.Unmarshal(m.Data, &v) == nil {
			d = v.GetDataset()
		}
	case r.Stage == string(bus.StageAnalytics) || strings.HasPrefix(r.Stage, "push:"):
		var v fairwayv1.CatalogueEntry
		if proto.Unmarshal(m.Data, &v) == nil {
			d = v.GetDataset().GetDataset()
			r.Key = cmp.Or(r.Key, v.GetKey())
		}
	}
	if d != nil {
		r.FeedID, r.Facility = d.GetFeedId(), d.GetFacility()
		r.Key = cmp.Or(r.Key, d.GetKey())
	}
	return r
}

// DeliveryRow is one outcome of delivering a dataset to a push destination
// (a row of deliveries).
type DeliveryRow struct {
	// Seq is the report's sequence in the ops stream.
	Seq                        uint64
	Destination, Key, Facility string
	Outcome                    string
	Attempts                   uint32
	Error                      string
	CatalogueSeq               uint64
	At                         time.Time
}

const deliveryColumns = "seq, destination, key, facility, outcome, attempts, error, catalogue_seq, at"

func (r DeliveryRow) values() []any {
	return []any{
		r.Seq, bound(r.Destination, maxName), bound(r.Key, maxName), bound(r.Facility, maxName), bound(r.Outcome, maxName),
		r.Attempts, bound(r.Error, maxText), r.CatalogueSeq, storedTime(r.At),
	}
}

// DeliveryFrom reads the row of a delivery report on the ops stream; the
// error wraps ErrInvalidRow when the message is not one.
func DeliveryFrom(m bus.StoredMessage) (DeliveryRow, error) {
	var v fairwayv1.DeliveryEvent
	if err := proto.Unmarshal(m.Data, &v); err != nil {
		return DeliveryRow{}, fmt.Errorf("%w: delivery report %d: %w", ErrInvalidRow, m.Sequence, err)
	}
	if v.GetDestination() == "" || v.GetOutcome() == "" {
		return DeliveryRow{}, fmt.Errorf("%w: delivery report %d without destination or outcome", ErrInvalidRow, m.Sequence)
	}
	at := timeOf(v.GetAt())
	if at.IsZero() {
		at = m.Time
	}
	return DeliveryRow{
		Seq: m.Sequence, Destination: v.GetDestination(), Key: v.GetKey(), Facility: v.GetFacility(),
		Outcome: v.GetOutcome(), Attempts: uint32(max(v.GetAttempts(), 0)), Error: v.GetError(),
		CatalogueSeq: v.GetCatalogueSeq(), At: at,
	}, nil
}

// bound cuts s to at most n bytes, on a character boundary.
func bound(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
