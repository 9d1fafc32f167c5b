// Package usage is what the node knows of the use of its datasets, as the
// COUNTER Code of Practice for Research Data (COUNTER Release 5.1) counts
// it: the usage event (a dataset investigated or requested, by whom in
// pseudonymous form, how and from where), its validation, the
// classification of clients (robots, scripted machine access, AI agents),
// the keyed hashing of session keys, and the Recorder through which the
// node's own pages emit events without ever slowing an answer.
//
// Events travel as JSON on the bus's usage stream; the analytics writer
// stores them in ClickHouse, where they are counted (package analytics).
// No raw IP address, user agent or client-given session string is ever
// put on the bus: sessions are hashed with the node's secret at intake, and
// the writer hashes whatever it receives once more.
package usage

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/panosc/fairway/pkg/metadata"
)

// Kind says what a usage event is, in COUNTER's terms.
type Kind string

// The kinds of usage events.
const (
	// Investigation is a view of what describes a dataset: its landing
	// page, its metadata in any format, an OAI-PMH GetRecord.
	Investigation Kind = "investigation"
	// Request is a retrieval of the data itself (a download). COUNTER
	// counts every request as an investigation too.
	Request Kind = "request"
)

// AccessMethod is COUNTER's Access_Method.
type AccessMethod string

// The access methods.
const (
	// Regular is access by a person through an interactive client.
	Regular AccessMethod = "regular"
	// Machine is scripted access: an API client, a command-line tool, a
	// workflow. It is counted, apart from Regular.
	Machine AccessMethod = "machine"
)

// Client says who is behind an event, beyond the access method.
type Client string

// The client kinds.
const (
	// Human is a person (through a browser or a script of theirs).
	Human Client = "human"
	// MachineClient is software acting on its own schedule (a harvester,
	// a pipeline).
	MachineClient Client = "machine"
	// Agent is an AI agent acting for a person (an assistant that fetches
	// a dataset while it answers, the node's MCP server): counted apart
	// from both, as COUNTER's guidance on such traffic asks.
	Agent Client = "agent"
)

// Bounds of an event's fields.
const (
	// MaxDatasetBytes bounds a dataset key or DOI (the normaliser's bound
	// on keys).
	MaxDatasetBytes = 2048
	// MaxIDBytes bounds a client-given event id.
	MaxIDBytes = 128
	// MaxSessionBytes bounds a client-given session or user key.
	MaxSessionBytes = 256
	// MaxSourceBytes bounds the source's name.
	MaxSourceBytes = 128
	// MaxUserAgentBytes bounds a user agent given for classification.
	MaxUserAgentBytes = 1024
	// MaxFuture is how far in the future an event's time may be (clock
	// skew between a facility and the node).
	MaxFuture = 5 * time.Minute
)

// Earliest is the earliest time an event may have.
var Earliest = time.Date(2000, time.January, 1, 0, 0, 0, 0, time.UTC)

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("usage: invalid event")

// Input is one event as a facility submits it (POST /api/v1/usage). Only
// Dataset, Time and Kind are required.
type Input struct {
	// ID identifies the event at its source; a resubmission with the same
	// id (from the same facility) is counted once. Without it, the id is
	// derived from the event's content, so that a batch sent twice counts
	// once.
	ID string `json:"id,omitempty"`
	// Dataset is a DOI (in any usual form) or a dataset key (doi:…, src:…).
	Dataset string `json:"dataset"`
	// Time the dataset was used.
	Time time.Time `json:"time"`
	// Kind is investigation or request.
	Kind Kind `json:"kind"`
	// Session is the client's session or user key, as opaque as the
	// facility can make it; the node hashes it with its secret and never
	// keeps or forwards it. Events without one each count as a session of
	// their own.
	Session string `json:"session,omitempty"`
	// AccessMethod is regular (default) or machine.
	AccessMethod AccessMethod `json:"access_method,omitempty"`
	// Country is where the client was, ISO 3166-1 alpha-2, when known.
	Country string `json:"country,omitempty"`
	// Client is human (default), machine or agent.
	Client Client `json:"client,omitempty"`
	// Status is the HTTP status the facility answered with (default 200);
	// only successful ones count.
	Status int `json:"status,omitempty"`
	// UserAgent, when given, is classified (robots, scripted access,
	// agents) and then dropped: it is never stored.
	UserAgent string `json:"user_agent,omitempty"`
}

// Event is one usage event as it travels on the bus and is stored.
type Event struct {
	// ID identifies the event (32 hexadecimal digits); it is the message
	// id on the bus and the key that makes a redelivery count once.
	ID string `json:"id"`
	// Dataset is the dataset key (doi:… or src:…).
	Dataset string `json:"dataset"`
	// Time of the use, UTC, to the second.
	Time time.Time `json:"time"`
	Kind Kind      `json:"kind"`
	// Session is a pseudonymous session key (a keyed hash); empty: the
	// event is a session of its own.
	Session      string       `json:"session,omitempty"`
	AccessMethod AccessMethod `json:"access_method"`
	Country      string       `json:"country,omitempty"`
	Client       Client       `json:"client"`
	// Robot marks a client found in the robots list: stored, never counted.
	Robot bool `json:"robot,omitempty"`
	// Status is the HTTP status of the answer (200 when unknown).
	Status int `json:"status"`
	// Source names where the event came from: "node" for the node's own
	// pages, "api:<facility>" or "api:operator" for the intake.
	Source string `json:"source"`
	// Facility that owns the dataset, when the intake knew it.
	Facility string `json:"facility,omitempty"`
}

// Counted reports whether the event can count at all: a successful answer
// (2xx, or 304 Not Modified) to a client that is not a robot.
func (e Event) Counted() bool {
	return !e.Robot && (e.Status >= 200 && e.Status < 300 || e.Status == 304)
}

// DatasetKey returns the dataset key s names: a DOI in any usual form
// gives "doi:" and the normalised DOI; "doi:…" and "src:facility:id" keys
// are kept in the pipeline's spelling.
func DatasetKey(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", fmt.Errorf("%w: dataset: missing", ErrInvalid)
	case len(s) > MaxDatasetBytes:
		return "", fmt.Errorf("%w: dataset: %d bytes, at most %d", ErrInvalid, len(s), MaxDatasetBytes)
	case !utf8.ValidString(s) || strings.ContainsFunc(s, isControl):
		return "", fmt.Errorf("%w: dataset: not printable UTF-8", ErrInvalid)
	case strings.HasPrefix(s, "src:"):
		facility, id, ok := strings.Cut(strings.TrimPrefix(s, "src:"), ":")
		if !ok || facility == "" || id == "" {
			return "", fmt.Errorf("%w: dataset: %.100q: a source key is src:facility:identifier", ErrInvalid, s)
		}
		return metadata.DatasetKey("", facility, id), nil
	}
	if doi, ok := metadata.NormaliseDOI(s); ok {
		return metadata.DatasetKey(doi, "", ""), nil
	}
	return "", fmt.Errorf("%w: dataset: %.100q is neither a DOI nor a dataset key", ErrInvalid, s)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// checkText bounds a free field and keeps it printable.
func checkText(field, s string, limit int) error {
	switch {
	case len(s) > limit:
		return fmt.Errorf("%w: %s: %d bytes, at most %d", ErrInvalid, field, len(s), limit)
	case !utf8.ValidString(s) || strings.ContainsFunc(s, isControl):
		return fmt.Errorf("%w: %s: not printable UTF-8", ErrInvalid, field)
	}
	return nil
}

// checkTime refuses times before Earliest or more than MaxFuture after now.
func checkTime(t, now time.Time) error {
	switch {
	case t.IsZero():
		return fmt.Errorf("%w: time: missing", ErrInvalid)
	case t.Before(Earliest):
		return fmt.Errorf("%w: time: %s is before %s", ErrInvalid, t.UTC().Format(time.RFC3339), Earliest.Format("2006-01-02"))
	case t.After(now.Add(MaxFuture)):
		return fmt.Errorf("%w: time: %s is in the future", ErrInvalid, t.UTC().Format(time.RFC3339))
	}
	return nil
}

func checkKind(k Kind) error {
	if k != Investigation && k != Request {
		return fmt.Errorf("%w: kind: %.40q: want investigation or request", ErrInvalid, string(k))
	}
	return nil
}

func accessMethod(m AccessMethod) (AccessMethod, error) {
	switch m {
	case "":
		return Regular, nil
	case Regular, Machine:
		return m, nil
	}
	return "", fmt.Errorf("%w: access_method: %.40q: want regular or machine", ErrInvalid, string(m))
}

func client(c Client) (Client, error) {
	switch c {
	case "":
		return Human, nil
	case Human, MachineClient, Agent:
		return c, nil
	}
	return "", fmt.Errorf("%w: client: %.40q: want human, machine or agent", ErrInvalid, string(c))
}

func status(s int) (int, error) {
	if s == 0 {
		return 200, nil
	}
	if s < 100 || s > 599 {
		return 0, fmt.Errorf("%w: status: %d is not an HTTP status", ErrInvalid, s)
	}
	return s, nil
}

// country returns the upper-case ISO 3166-1 alpha-2 code of c ("" stays
// "").
func country(c string) (string, error) {
	if c == "" {
		return "", nil
	}
	u := strings.ToUpper(c)
	if !IsCountry(u) {
		return "", fmt.Errorf("%w: country: %.20q is not an ISO 3166-1 alpha-2 code", ErrInvalid, c)
	}
	return u, nil
}

// Intake turns submitted inputs into events: it validates, classifies and
// pseudonymises. Its zero value is not usable: see NewIntake.
type Intake struct {
	hasher     *Hasher
	classifier *Classifier
	now        func() time.Time
}

// NewIntake returns the intake that hashes sessions with h and classifies
// user agents with c (nil: the default lists).
func NewIntake(h *Hasher, c *Classifier) *Intake {
	if c == nil {
		c = DefaultClassifier()
	}
	return &Intake{hasher: h, classifier: c, now: time.Now}
}

// Event validates in, submitted by source (the facility's name, or
// "operator"), and returns the event to publish. The error, wrapping
// ErrInvalid, names the field at fault.
func (in *Intake) Event(source string, e Input) (Event, error) {
	key, err := DatasetKey(e.Dataset)
	if err != nil {
		return Event{}, err
	}
	if err := checkTime(e.Time, in.now()); err != nil {
		return Event{}, err
	}
	if err := checkKind(e.Kind); err != nil {
		return Event{}, err
	}
	for _, f := range []struct {
		name, v string
		limit   int
	}{{"id", e.ID, MaxIDBytes}, {"session", e.Session, MaxSessionBytes}, {"user_agent", e.UserAgent, MaxUserAgentBytes}} {
		if err := checkText(f.name, f.v, f.limit); err != nil {
			return Event{}, err
		}
	}
	am, err := accessMethod(e.AccessMethod)
	if err != nil {
		return Event{}, err
	}
	cl, err := client(e.Client)
	if err != nil {
		return Event{}, err
	}
	st, err := status(e.Status)
	if err != nil {
		return Event{}, err
	}
	cc, err := country(e.Country)
	if err != nil {
		return Event{}, err
	}
	ev := Event{
		Dataset: key, Time: e.Time.UTC().Truncate(time.Second), Kind: e.Kind,
		AccessMethod: am, Country: cc, Client: cl, Status: st, Source: "api:" + source,
	}
	if e.UserAgent != "" {
		c := in.classifier.Classify(e.UserAgent)
		ev.Robot = c.Robot
		if c.Machine {
			ev.AccessMethod = Machine
		}
		if c.Agent {
			ev.Client = Agent
		}
	}
	if ev.Client == MachineClient {
		ev.AccessMethod = Machine // software on its own schedule is machine access
	}
	if e.Session != "" {
		ev.Session = in.hasher.Sum("api", source, e.Session)
	}
	if e.ID != "" {
		ev.ID = digest("id", source, e.ID)
	} else {
		ev.ID = digest("content", source, ev.Dataset, strconv.FormatInt(ev.Time.Unix(), 10), string(ev.Kind),
			ev.Session, string(ev.AccessMethod), string(ev.Client), ev.Country, strconv.Itoa(ev.Status))
	}
	return ev, nil
}

// Validate checks an event as the writer receives it from the bus (where
// a facility may also publish directly): every field known and bounded.
// It normalises the dataset key, the time and the defaults in place.
func (e *Event) Validate(now time.Time) error {
	if len(e.ID) == 0 || len(e.ID) > MaxIDBytes {
		return fmt.Errorf("%w: id: want 1 to %d bytes", ErrInvalid, MaxIDBytes)
	}
	if err := checkText("id", e.ID, MaxIDBytes); err != nil {
		return err
	}
	key, err := DatasetKey(e.Dataset)
	if err != nil {
		return err
	}
	e.Dataset = key
	if err := checkTime(e.Time, now); err != nil {
		return err
	}
	e.Time = e.Time.UTC().Truncate(time.Second)
	if err := checkKind(e.Kind); err != nil {
		return err
	}
	if e.AccessMethod, err = accessMethod(e.AccessMethod); err != nil {
		return err
	}
	if e.Client, err = client(e.Client); err != nil {
		return err
	}
	if e.Client == MachineClient {
		e.AccessMethod = Machine
	}
	if e.Status, err = status(e.Status); err != nil {
		return err
	}
	if e.Country, err = country(e.Country); err != nil {
		return err
	}
	for _, f := range []struct {
		name, v string
		limit   int
	}{{"session", e.Session, MaxSessionBytes}, {"source", e.Source, MaxSourceBytes}, {"facility", e.Facility, MaxSourceBytes}} {
		if err := checkText(f.name, f.v, f.limit); err != nil {
			return err
		}
	}
	return nil
}

// digest is the hexadecimal SHA-256 (first 128 bits) of the parts, each
// length-prefixed so that no two lists of parts collide.
func digest(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(strconv.Itoa(len(p))))
		h.Write([]byte{':'})
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// StoredSession is the session key the writer stores for what it got:
// a digest of it, so that even a facility that streams raw keys to the bus
// leaves none in the database. "" stays "".
func StoredSession(s string) string {
	if s == "" {
		return ""
	}
	return digest("session", s)
}

// randomID returns a fresh event id (128 random bits in hex).
func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
