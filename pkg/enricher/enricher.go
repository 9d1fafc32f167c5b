// Package enricher is the stage that adds PaNET techniques and a FAIR
// quality score to canonical datasets.
package enricher

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/panet"
	"github.com/panosc/fairway/pkg/quality"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// DefaultPaNET is the official PaNET release the enricher loads when no
// other source is configured.
const DefaultPaNET = "https://raw.githubusercontent.com/ExPaNDS-eu/ExPaNDS-experimental-techniques-ontology/master/docs/_data/PaNET_reasoned.owl"

// Config configures the enricher stage.
type Config struct {
	// PaNET is the path or URL of the PaNET OWL file. With a bus, a release
	// given here becomes the node's release (see New); empty means the
	// node's release, else DefaultPaNET.
	PaNET string
	// Copy is a file where the ontology last fetched from a URL is kept;
	// when the URL cannot be fetched at start, the stage starts from that
	// copy with a warning. Empty keeps no copy.
	Copy string
	// Concurrency is how many datasets are enriched at once. Default 2.
	Concurrency int
	// Aliases are paths of alias dictionaries (JSON, in the shape of the
	// ESRF list PaNET-aliases.json: [{"iri": …, "names": […]}]) whose names
	// extend the synonyms of the classes they name. Empty: none. A file
	// that cannot be read stops New.
	Aliases []string
	// Watch is how often Run looks whether the node's release changed.
	// Default 2s.
	Watch time.Duration
	// Holder names this replica in its reports and replay leases. Default:
	// the host name, the process id and a random suffix.
	Holder string
}

func (c *Config) setDefaults() {
	if c.Concurrency == 0 {
		c.Concurrency = 2
	}
	if c.Watch == 0 {
		c.Watch = 2 * time.Second
	}
	if c.Holder == "" {
		host, _ := os.Hostname()
		var rnd [4]byte
		_, _ = rand.Read(rnd[:])
		c.Holder = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(rnd[:]))
	}
}

// Validate reports whether the configuration is usable.
func (c Config) Validate() error {
	if c.Concurrency < 0 || c.Watch < 0 {
		return errors.New("enricher: negative concurrency or watch interval")
	}
	for _, a := range c.Aliases {
		if a == "" {
			return errors.New("enricher: empty alias dictionary path")
		}
	}
	return nil
}

// Stage is the enricher.
type Stage struct {
	cfg     Config
	bus     *bus.Bus
	aliases []panet.Alias
	cur     atomic.Pointer[loaded]
	log     *slog.Logger
	now     func() time.Time

	refreshMu sync.Mutex // one Refresh at a time
	mu        sync.Mutex
	loadErr   string // why the node's release could not be loaded, if so
	badSeen   string // digest of the release that failed, not tried again
}

// loaded is the release the stage tags with, swapped whole.
type loaded struct {
	matcher  *panet.Matcher
	version  string
	release  Release
	loadedAt time.Time
}

// ErrNoOntology is returned by New when PaNET can be read neither from its
// source nor from the kept copy.
var ErrNoOntology = errors.New("enricher: no PaNET ontology")

// New loads the ontology and returns the enricher stage. With a bus, the
// node's release of record (bus.ObjectStorePaNET) decides: a release given
// in cfg.PaNET is loaded and becomes the node's release; without one, the
// stored release is loaded; with none stored, the official release
// (DefaultPaNET, or the kept copy when it cannot be fetched) is loaded and
// stored. Without a bus, cfg.PaNET (default DefaultPaNET) is loaded.
func New(ctx context.Context, cfg Config, b *bus.Bus, log *slog.Logger) (*Stage, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	aliases, err := panet.LoadAliases(cfg.Aliases...)
	if err != nil {
		return nil, fmt.Errorf("enricher: %w", err)
	}
	ont, rel, err := startRelease(ctx, cfg, b, log)
	if err != nil {
		return nil, err
	}
	log.Info("PaNET loaded", "source", rel.Source, "classes", ont.Len(), "version", ont.Version(), "digest", rel.Digest, "aliases", len(aliases))
	return newStage(cfg, b, ont, rel, aliases, log), nil
}

// startRelease loads the release the stage starts with (see New).
func startRelease(ctx context.Context, cfg Config, b *bus.Bus, log *slog.Logger) (*panet.Ontology, Release, error) {
	if b != nil && cfg.PaNET == "" {
		data, rel, err := ReleaseData(ctx, b)
		switch {
		case err == nil:
			ont, parsed, perr := ParseRelease(data, rel.Source)
			if perr == nil {
				parsed.StoredAt = rel.StoredAt
				return ont, parsed, nil
			}
			log.Error("the node's PaNET release cannot be read; loading the official release", "digest", rel.Digest, "err", perr)
		case !bus.IsNotFound(err):
			return nil, Release{}, fmt.Errorf("%w: the node's release: %w", ErrNoOntology, err)
		}
	}
	source := cfg.PaNET
	if source == "" {
		source = DefaultPaNET
	}
	data, err := loadData(ctx, source, cfg.Copy, log)
	if err != nil {
		return nil, Release{}, err
	}
	ont, rel, err := ParseRelease(data, source)
	if err != nil {
		return nil, Release{}, fmt.Errorf("%w: load from %s: %w (give a local copy with --panet PATH or FAIRWAY_PANET)", ErrNoOntology, source, err)
	}
	if b != nil {
		stored, err := PutRelease(ctx, b, data, source)
		if err != nil {
			return nil, Release{}, err
		}
		if stored.Digest == rel.Digest {
			rel = stored
		}
	}
	return ont, rel, nil
}

// loadData reads a release from its source. A release fetched from a URL
// is kept in copyPath; when the URL cannot be fetched (an offline machine,
// the release host down), the copy is read instead.
func loadData(ctx context.Context, source, copyPath string, log *slog.Logger) ([]byte, error) {
	if !panet.IsURL(source) || copyPath == "" {
		data, err := ReadSource(ctx, source)
		if err != nil {
			return nil, fmt.Errorf("%w: load from %s: %w (give a local copy with --panet PATH or FAIRWAY_PANET)", ErrNoOntology, source, err)
		}
		return data, nil
	}
	data, err := ReadSource(ctx, source)
	if err == nil {
		_, _, err = ParseRelease(data, source)
	}
	if err == nil {
		if werr := writeCopy(copyPath, data); werr != nil {
			log.Warn("cannot keep a copy of PaNET", "copy", copyPath, "err", werr)
		}
		return data, nil
	}
	kept, kerr := ReadSource(ctx, copyPath)
	if kerr == nil {
		_, _, kerr = ParseRelease(kept, copyPath)
	}
	if kerr != nil {
		return nil, fmt.Errorf("%w: load from %s: %w; no usable copy at %s (%w): give a local copy with --panet PATH or FAIRWAY_PANET",
			ErrNoOntology, source, err, copyPath, kerr)
	}
	log.Warn("PaNET release cannot be fetched: starting from the copy last loaded", "source", source, "copy", copyPath, "err", err)
	return kept, nil
}

// writeCopy replaces the file at path with b, atomically.
func writeCopy(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".panet-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// NewWithOntology returns the enricher stage over an ontology already
// loaded, with the alias dictionaries given (cfg.Aliases is not read).
func NewWithOntology(cfg Config, b *bus.Bus, ont *panet.Ontology, log *slog.Logger, aliases ...panet.Alias) *Stage {
	return newStage(cfg, b, ont, Release{Version: ont.Version(), Classes: ont.Len(), Techniques: panet.Techniques(ont)}, aliases, log)
}

func newStage(cfg Config, b *bus.Bus, ont *panet.Ontology, rel Release, aliases []panet.Alias, log *slog.Logger) *Stage {
	cfg.setDefaults()
	s := &Stage{cfg: cfg, bus: b, aliases: aliases, log: log, now: time.Now}
	s.swap(ont, rel)
	return s
}

// swap makes ont the release the next datasets are tagged with.
func (s *Stage) swap(ont *panet.Ontology, rel Release) {
	version := ont.Version()
	if len(s.aliases) > 0 {
		version += "+aliases:" + aliasDigest(s.aliases)
	}
	s.cur.Store(&loaded{matcher: panet.NewMatcher(ont, s.aliases...), version: version, release: rel, loadedAt: s.now().UTC()})
}

// Release describes the release the stage tags with.
func (s *Stage) Release() Release { return s.cur.Load().release }

// aliasDigest identifies a set of alias dictionaries, so that the version
// recorded on a dataset (and its hash) changes with them.
func aliasDigest(aliases []panet.Alias) string {
	h := sha256.New()
	for _, a := range aliases {
		h.Write([]byte(a.IRI))
		for _, n := range a.Names {
			h.Write([]byte{0})
			h.Write([]byte(n))
		}
		h.Write([]byte{1})
	}
	return hex.EncodeToString(h.Sum(nil)[:6])
}

// Run consumes canonical datasets until ctx ends. Meanwhile it follows
// the node's release (Watch), reports the release it uses in
// bus.BucketPresence, and runs the enricher's replays (bus.RunReplays) that
// no other replica runs.
func (s *Stage) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		s.watch(ctx)
	}()
	go func() {
		defer wg.Done()
		err := s.bus.RunReplays(ctx, bus.ReplayerConfig{
			Stage: bus.StageEnricher, Holder: s.cfg.Holder, Logger: s.log, Origin: Origin,
			// The release stored just before the replay was asked for is
			// the one it applies; one that cannot be read is reported and
			// the release in use stays.
			Prepare: func(ctx context.Context) error {
				if _, err := s.Refresh(ctx); err != nil {
					s.log.Warn("replay with the PaNET release in use", "err", err)
				}
				return nil
			},
		}, s.Handle)
		if err != nil {
			s.log.Error("replays", "err", err)
		}
	}()
	err := s.bus.Run(ctx, bus.RunConfig{Stage: bus.StageEnricher, Concurrency: s.cfg.Concurrency}, s.Handle)
	cancel()
	wg.Wait()
	return err
}

// Origin returns the feed and the facility of a canonical dataset ("" when
// it is not one), for the replays by feed or facility.
func Origin(m bus.StoredMessage) (feed, facility string) {
	var ds fairwayv1.Dataset
	if proto.Unmarshal(m.Data, &ds) != nil {
		return "", ""
	}
	return ds.GetProvenance().GetFeedId(), ds.GetFacility()
}

// Handle enriches one dataset. A tombstone passes through as a tombstone.
func (s *Stage) Handle(_ context.Context, m *bus.Message) ([]bus.Event, error) {
	var ds fairwayv1.Dataset
	if err := proto.Unmarshal(m.Payload, &ds); err != nil {
		return nil, bus.Permanent(fmt.Errorf("enricher: not a dataset: %w", err))
	}
	e := s.Enrich(&ds)
	b, err := proto.Marshal(e)
	if err != nil {
		return nil, bus.Permanent(fmt.Errorf("enricher: encode %s: %w", ds.Key, err))
	}
	return []bus.Event{{Stream: bus.Enriched, Key: ds.Key, Hash: Hash(e), Payload: b, SkipUnchanged: true, Metadata: bus.FeedMetadata(ds.GetProvenance().GetFeedId())}}, nil
}

// Enrich returns ds with its techniques, its quality score, the score of
// each quality dimension and what the metadata lacks (the failed checks).
func (s *Stage) Enrich(ds *fairwayv1.Dataset) *fairwayv1.EnrichedDataset {
	cur := s.cur.Load()
	e := &fairwayv1.EnrichedDataset{Dataset: ds, PanetVersion: cur.version, EnrichedAt: timestamppb.New(s.now().UTC())}
	if ds.Deleted {
		return e
	}
	e.Techniques = cur.matcher.MatchDataset(ds)
	score, checks := quality.Score(e)
	e.QualityScore, e.QualityGaps, e.QualityDimensions = score, quality.Gaps(checks), quality.Dimensions(checks)
	return e
}

// OutputVersion names the version of what the enricher adds to a dataset
// (version 2: every technique carries its broader techniques; version 3:
// techniques are found in the title, description and free keywords too,
// carry a confidence, and an ancestor found only in text gives way to its
// descendant; version 4: the quality gaps and the score of each
// dimension; version 5: free text is matched with the variants of names
// (probe qualifiers, acronyms with qualifiers, plurals and Greek letters of
// acronyms) and denials after a phrase). Hash covers it, so that a replay
// after a change emits every dataset again.
const OutputVersion = "5"

// Hash identifies an enriched dataset's content: the enricher's output
// version, the quality rubric's version, the dataset's content hash, the
// ontology version, and all the enricher adds: every technique (IRI, id,
// label, how it was matched, the text matched, its confidence, its broader
// techniques), the quality score, the gaps and the score of each dimension.
// A change of any of them, in the matcher or the rubric, gives another
// hash even without a new OutputVersion, so that a replay re-emits the
// datasets it changes. Every string is written with its length, so that
// no two outputs share a hash by moving bytes between fields.
func Hash(e *fairwayv1.EnrichedDataset) string {
	return hashWith(OutputVersion, quality.RubricVersion, e)
}

func hashWith(output, rubric string, e *fairwayv1.EnrichedDataset) string {
	h := sha256.New()
	var b []byte
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	num := func(f float64) { b = binary.BigEndian.AppendUint64(b, math.Float64bits(f)) }
	count := func(n int) { b = binary.AppendUvarint(b, uint64(n)) }
	flush := func() { h.Write(b); b = b[:0] }
	str(output)
	str(rubric)
	str(e.GetDataset().GetContentHash())
	str(e.GetPanetVersion())
	num(e.GetQualityScore())
	count(len(e.GetTechniques()))
	for _, t := range e.GetTechniques() {
		str(t.GetIri())
		str(t.GetId())
		str(t.GetLabel())
		str(t.GetMatchedBy())
		str(t.GetMatchedText())
		num(t.GetConfidence())
		count(len(t.GetBroader()))
		for _, br := range t.GetBroader() {
			str(br)
		}
		flush()
	}
	count(len(e.GetQualityGaps()))
	for _, g := range e.GetQualityGaps() {
		str(g.GetCheck())
		str(g.GetDimension())
		str(g.GetHint())
		num(g.GetWeight())
	}
	count(len(e.GetQualityDimensions()))
	for _, d := range e.GetQualityDimensions() {
		str(d.GetName())
		num(d.GetScore())
	}
	flush()
	return hex.EncodeToString(h.Sum(nil)[:16])
}
