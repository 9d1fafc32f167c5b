// Package enricher is the stage that adds PaNET techniques and a FAIR
// quality score to canonical datasets.
package enricher

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
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
	// PaNET is the path or URL of the PaNET OWL file. Default DefaultPaNET.
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
}

func (c *Config) setDefaults() {
	if c.PaNET == "" {
		c.PaNET = DefaultPaNET
	}
	if c.Concurrency == 0 {
		c.Concurrency = 2
	}
}

// Validate reports whether the configuration is usable.
func (c Config) Validate() error {
	if c.Concurrency < 0 {
		return errors.New("enricher: negative concurrency")
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
	matcher *panet.Matcher
	version string
	log     *slog.Logger
	now     func() time.Time
}

// ErrNoOntology is returned by New when PaNET can be read neither from its
// source nor from the kept copy.
var ErrNoOntology = errors.New("enricher: no PaNET ontology")

// New loads the ontology and returns the enricher stage.
func New(ctx context.Context, cfg Config, b *bus.Bus, log *slog.Logger) (*Stage, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	ont, err := loadOntology(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	aliases, err := panet.LoadAliases(cfg.Aliases...)
	if err != nil {
		return nil, fmt.Errorf("enricher: %w", err)
	}
	log.Info("PaNET loaded", "source", cfg.PaNET, "classes", ont.Len(), "version", ont.Version(), "aliases", len(aliases))
	return newStage(cfg, b, ont, aliases, log), nil
}

// loadOntology reads PaNET from its source. An ontology fetched from a URL
// is kept in cfg.Copy; when the URL cannot be fetched (an offline machine,
// the release host down), the stage starts from that copy.
func loadOntology(ctx context.Context, cfg Config, log *slog.Logger) (*panet.Ontology, error) {
	if !panet.IsURL(cfg.PaNET) || cfg.Copy == "" {
		ont, err := panet.Load(ctx, cfg.PaNET)
		if err != nil {
			return nil, fmt.Errorf("%w: load from %s: %w (give a local copy with --panet PATH or FAIRWAY_PANET)", ErrNoOntology, cfg.PaNET, err)
		}
		return ont, nil
	}
	b, err := panet.Fetch(ctx, cfg.PaNET)
	var ont *panet.Ontology
	if err == nil {
		ont, err = panet.Parse(bytes.NewReader(b))
	}
	if err == nil {
		if werr := writeCopy(cfg.Copy, b); werr != nil {
			log.Warn("cannot keep a copy of PaNET", "copy", cfg.Copy, "err", werr)
		}
		return ont, nil
	}
	kept, kerr := panet.Load(ctx, cfg.Copy)
	if kerr != nil {
		return nil, fmt.Errorf("%w: load from %s: %w; no usable copy at %s (%w): give a local copy with --panet PATH or FAIRWAY_PANET",
			ErrNoOntology, cfg.PaNET, err, cfg.Copy, kerr)
	}
	log.Warn("PaNET release cannot be fetched: starting from the copy last loaded", "source", cfg.PaNET, "copy", cfg.Copy, "version", kept.Version(), "err", err)
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
	return newStage(cfg, b, ont, aliases, log)
}

func newStage(cfg Config, b *bus.Bus, ont *panet.Ontology, aliases []panet.Alias, log *slog.Logger) *Stage {
	cfg.setDefaults()
	version := ont.Version()
	if len(aliases) > 0 {
		version += "+aliases:" + aliasDigest(aliases)
	}
	return &Stage{cfg: cfg, bus: b, matcher: panet.NewMatcher(ont, aliases...), version: version, log: log, now: time.Now}
}

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

// Run consumes canonical datasets until ctx ends.
func (s *Stage) Run(ctx context.Context) error {
	return s.bus.Run(ctx, bus.RunConfig{Stage: bus.StageEnricher, Concurrency: s.cfg.Concurrency}, s.Handle)
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
	return []bus.Event{{Stream: bus.Enriched, Key: ds.Key, Hash: Hash(e), Payload: b, SkipUnchanged: true}}, nil
}

// Enrich returns ds with its techniques, its quality score, the score of
// each quality dimension and what the metadata lacks (the failed checks).
func (s *Stage) Enrich(ds *fairwayv1.Dataset) *fairwayv1.EnrichedDataset {
	e := &fairwayv1.EnrichedDataset{Dataset: ds, PanetVersion: s.version, EnrichedAt: timestamppb.New(s.now().UTC())}
	if ds.Deleted {
		return e
	}
	e.Techniques = s.matcher.MatchDataset(ds)
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
