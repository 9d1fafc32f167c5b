package oaiprovider

import (
	"bufio"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/panosc/fairway/pkg/readmodel"
)

// OAI-PMH error codes.
const (
	BadArgument             = "badArgument"
	BadResumptionToken      = "badResumptionToken"
	BadVerb                 = "badVerb"
	CannotDisseminateFormat = "cannotDisseminateFormat"
	IDDoesNotExist          = "idDoesNotExist"
	NoRecordsMatch          = "noRecordsMatch"
	NoMetadataFormats       = "noMetadataFormats"
	NoSetHierarchy          = "noSetHierarchy"
)

// Granularity is the datestamp granularity of the repository.
const Granularity = "YYYY-MM-DDThh:mm:ssZ"

const (
	oaiNamespace    = "http://www.openarchives.org/OAI/2.0/"
	oaiSchema       = "http://www.openarchives.org/OAI/2.0/ http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
	xsiNamespace    = "http://www.w3.org/2001/XMLSchema-instance"
	secondsLayout   = "2006-01-02T15:04:05Z"
	protocolVersion = "2.0"
)

// verbs and the arguments each takes: required ones, optional ones, and
// whether a resumptionToken (exclusive) is allowed.
var verbs = map[string]struct {
	required, optional []string
	token              bool
}{
	"Identify":            {},
	"ListMetadataFormats": {optional: []string{"identifier"}},
	"ListSets":            {token: true},
	"GetRecord":           {required: []string{"identifier", "metadataPrefix"}},
	"ListIdentifiers":     {required: []string{"metadataPrefix"}, optional: []string{"from", "until", "set"}, token: true},
	"ListRecords":         {required: []string{"metadataPrefix"}, optional: []string{"from", "until", "set"}, token: true},
}

// maxProblems bounds the problems one badArgument message lists.
const maxProblems = 8

// argumentOrder is the order the request element echoes arguments in.
var argumentOrder = []string{"verb", "identifier", "metadataPrefix", "from", "until", "set", "resumptionToken"}

// response is one OAI-PMH response.
type response struct {
	Env envelope
	// unavailable is set when the source failed: the answer is 503.
	unavailable error
}

type envelope struct {
	// viewed is the record a GetRecord disseminated (not deleted), for
	// Config.Viewed; encoding/xml skips it.
	viewed              *readmodel.Record
	XMLName             xml.Name             `xml:"http://www.openarchives.org/OAI/2.0/ OAI-PMH"`
	XSI                 string               `xml:"xmlns:xsi,attr"`
	SchemaLocation      string               `xml:"xsi:schemaLocation,attr"`
	ResponseDate        string               `xml:"responseDate"`
	Request             request              `xml:"request"`
	Errors              []oaiError           `xml:"error"`
	Identify            *identifyBody        `xml:"Identify"`
	ListMetadataFormats *listFormatsBody     `xml:"ListMetadataFormats"`
	ListSets            *listSetsBody        `xml:"ListSets"`
	GetRecord           *getRecordBody       `xml:"GetRecord"`
	ListIdentifiers     *listIdentifiersBody `xml:"ListIdentifiers"`
	ListRecords         *listRecordsBody     `xml:"ListRecords"`
}

type request struct {
	Attrs []xml.Attr `xml:",any,attr"`
	URL   string     `xml:",chardata"`
}

type oaiError struct {
	Code    string `xml:"code,attr"`
	Message string `xml:",chardata"`
}

type identifyBody struct {
	RepositoryName    string         `xml:"repositoryName"`
	BaseURL           string         `xml:"baseURL"`
	ProtocolVersion   string         `xml:"protocolVersion"`
	AdminEmail        string         `xml:"adminEmail"`
	EarliestDatestamp string         `xml:"earliestDatestamp"`
	DeletedRecord     string         `xml:"deletedRecord"`
	Granularity       string         `xml:"granularity"`
	Descriptions      []oaiIDDescrip `xml:"description"`
}

type oaiIDDescrip struct {
	ID struct {
		XMLName              xml.Name `xml:"http://www.openarchives.org/OAI/2.0/oai-identifier oai-identifier"`
		SchemaLocation       string   `xml:"xsi:schemaLocation,attr"`
		Scheme               string   `xml:"scheme"`
		RepositoryIdentifier string   `xml:"repositoryIdentifier"`
		Delimiter            string   `xml:"delimiter"`
		SampleIdentifier     string   `xml:"sampleIdentifier"`
	}
}

type listFormatsBody struct {
	Formats []metadataFormat `xml:"metadataFormat"`
}

type metadataFormat struct {
	Prefix    string `xml:"metadataPrefix"`
	Schema    string `xml:"schema"`
	Namespace string `xml:"metadataNamespace"`
}

type listSetsBody struct {
	Sets []set `xml:"set"`
}

type set struct {
	Spec string `xml:"setSpec"`
	Name string `xml:"setName"`
}

type header struct {
	Status     string   `xml:"status,attr,omitempty"`
	Identifier string   `xml:"identifier"`
	Datestamp  string   `xml:"datestamp"`
	SetSpecs   []string `xml:"setSpec"`
}

type record struct {
	Header   header    `xml:"header"`
	Metadata *innerXML `xml:"metadata"`
}

type innerXML struct {
	XML string `xml:",innerxml"`
}

type getRecordBody struct {
	Record record `xml:"record"`
}

type resumptionToken struct {
	Value            string `xml:",chardata"`
	ExpirationDate   string `xml:"expirationDate,attr,omitempty"`
	CompleteListSize uint64 `xml:"completeListSize,attr"`
	Cursor           int    `xml:"cursor,attr"`
}

type listIdentifiersBody struct {
	Headers []header         `xml:"header"`
	Token   *resumptionToken `xml:"resumptionToken"`
}

type listRecordsBody struct {
	Records []record         `xml:"record"`
	Token   *resumptionToken `xml:"resumptionToken"`
}

func (r *response) write(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	if _, err := bw.WriteString(xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(bw)
	if err := enc.Encode(r.Env); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

// protocolError is an OAI-PMH error condition.
type protocolError struct{ code, message string }

func (e *protocolError) Error() string { return e.code + ": " + e.message }

func fail(code, format string, args ...any) *protocolError {
	return &protocolError{code: code, message: fmt.Sprintf(format, args...)}
}

// responseDate returns the responseDate of an answer at now: at most the
// source's horizon less the render lag. Harvesters take it as the next
// from; an entry rendered before it but not in the read model yet (stored
// a moment after its rendering, applied a moment after that) is then
// still listed by the next harvest.
func (p *Provider) responseDate(ctx context.Context, now time.Time) time.Time {
	stamp := now.Add(-p.cfg.RenderLag)
	if h, ok := p.src.(Horizon); ok {
		t, err := h.Horizon(ctx)
		if err != nil {
			p.log.Debug("oai-pmh: read model horizon", "err", err)
		} else if t = t.Add(-p.cfg.RenderLag); t.Before(stamp) {
			stamp = t
		}
	}
	return stamp.UTC().Truncate(time.Second)
}

// respond answers the request whose arguments are raw (a query string).
func (p *Provider) respond(ctx context.Context, raw string) *response {
	now := p.cfg.Now().UTC()
	resp := &response{Env: envelope{
		XSI: xsiNamespace, SchemaLocation: oaiSchema, ResponseDate: p.responseDate(ctx, now).Format(secondsLayout),
		Request: request{URL: p.baseURL},
	}}
	args, perr := parseArgs(raw)
	if perr == nil {
		// Arguments are echoed unless they are bad (badVerb, badArgument).
		for _, name := range argumentOrder {
			if v, ok := args[name]; ok {
				resp.Env.Request.Attrs = append(resp.Env.Request.Attrs, xml.Attr{Name: xml.Name{Local: name}, Value: v})
			}
		}
		perr = p.dispatch(ctx, args, now, &resp.Env)
	}
	if perr == nil {
		return resp
	}
	var pe *protocolError
	if !errors.As(perr, &pe) {
		resp.unavailable = perr
		return resp
	}
	if pe.code == BadVerb || pe.code == BadArgument {
		resp.Env.Request.Attrs = nil
	}
	resp.Env.Identify, resp.Env.ListMetadataFormats, resp.Env.ListSets = nil, nil, nil
	resp.Env.GetRecord, resp.Env.ListIdentifiers, resp.Env.ListRecords = nil, nil, nil
	resp.Env.Errors = []oaiError{{Code: pe.code, Message: pe.message}}
	return resp
}

// parseArgs reads and checks the arguments: the verb, then that every
// argument is the verb's, given once, not empty, within bounds, and the
// required ones there (or the resumption token alone).
func parseArgs(raw string) (map[string]string, error) {
	if len(raw) > maxRequest {
		return nil, fail(BadArgument, "the request is longer than %d bytes", maxRequest)
	}
	values, err := url.ParseQuery(raw)
	if err != nil {
		if vs := values["verb"]; len(vs) != 1 || !knownVerb(vs[0]) {
			return nil, fail(BadVerb, "the request's arguments cannot be read: %v", err)
		}
		return nil, fail(BadArgument, "the request's arguments cannot be read: %v", err)
	}
	vs := values["verb"]
	switch {
	case len(vs) == 0:
		return nil, fail(BadVerb, "the verb argument is missing")
	case len(vs) > 1:
		return nil, fail(BadVerb, "the verb argument is repeated")
	case !knownVerb(vs[0]):
		return nil, fail(BadVerb, "%q is not an OAI-PMH verb", clip(vs[0]))
	}
	verb := vs[0]
	spec := verbs[verb]
	args := map[string]string{"verb": verb}
	var problems []string
	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if name == "verb" {
			continue
		}
		v := values[name]
		allowed := slices.Contains(spec.required, name) || slices.Contains(spec.optional, name) || (spec.token && name == "resumptionToken")
		limit := maxArgument
		switch name {
		case "resumptionToken":
			limit = MaxTokenLength
		case "identifier":
			limit = maxIdentifier
		}
		switch {
		case !allowed:
			problems = append(problems, fmt.Sprintf("%s takes no argument %q", verb, clip(name)))
		case len(v) > 1:
			problems = append(problems, fmt.Sprintf("the argument %s is repeated", name))
		case v[0] == "":
			problems = append(problems, fmt.Sprintf("the argument %s is empty", name))
		case len(v[0]) > limit:
			problems = append(problems, fmt.Sprintf("the argument %s is longer than %d bytes", name, limit))
		default:
			args[name] = v[0]
		}
	}
	if _, ok := args["resumptionToken"]; ok {
		if len(args) > 2 {
			problems = append(problems, "resumptionToken is an exclusive argument: give it alone")
		}
	} else {
		for _, name := range spec.required {
			if _, ok := values[name]; !ok {
				problems = append(problems, fmt.Sprintf("%s needs the argument %s", verb, name))
			}
		}
	}
	if len(problems) > maxProblems {
		problems = append(problems[:maxProblems], fmt.Sprintf("and %d more", len(problems)-maxProblems))
	}
	if len(problems) > 0 {
		return nil, fail(BadArgument, "%s", strings.Join(problems, "; "))
	}
	return args, nil
}

func knownVerb(v string) bool { _, ok := verbs[v]; return ok }

// clip shortens a value quoted in an error message.
func clip(s string) string {
	if len(s) > 64 {
		return strings.ToValidUTF8(s[:64], "") + "…"
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

func (p *Provider) dispatch(ctx context.Context, args map[string]string, now time.Time, env *envelope) error {
	switch args["verb"] {
	case "Identify":
		return p.identify(ctx, env)
	case "ListMetadataFormats":
		return p.listMetadataFormats(ctx, args, env)
	case "ListSets":
		return p.listSets(ctx, args, env)
	case "GetRecord":
		return p.getRecord(ctx, args, env)
	default:
		return p.list(ctx, args, now, env)
	}
}

func (p *Provider) identify(ctx context.Context, env *envelope) error {
	earliest, err := p.src.Earliest(ctx)
	if err != nil {
		return fmt.Errorf("earliest datestamp: %w", err)
	}
	if earliest.IsZero() {
		earliest = time.Unix(0, 0)
	}
	b := &identifyBody{
		RepositoryName: p.cfg.RepositoryName, BaseURL: p.baseURL, ProtocolVersion: protocolVersion,
		AdminEmail: p.cfg.AdminEmail, EarliestDatestamp: earliest.UTC().Format(secondsLayout),
		DeletedRecord: "persistent", Granularity: Granularity,
	}
	if repositoryIdentifier.MatchString(p.host) {
		var d oaiIDDescrip
		d.ID.SchemaLocation = "http://www.openarchives.org/OAI/2.0/oai-identifier http://www.openarchives.org/OAI/2.0/oai-identifier.xsd"
		d.ID.Scheme, d.ID.RepositoryIdentifier, d.ID.Delimiter = "oai", p.host, ":"
		d.ID.SampleIdentifier = p.identifier("doi:10.1234/example")
		b.Descriptions = append(b.Descriptions, d)
	}
	env.Identify = b
	return nil
}

// lookup returns the record an identifier names, or idDoesNotExist.
func (p *Provider) lookup(ctx context.Context, id string) (readmodel.Record, error) {
	key, ok := p.datasetKey(id)
	if !ok {
		return readmodel.Record{}, fail(IDDoesNotExist, "%q is not an identifier of this repository (oai:%s:…)", clip(id), p.host)
	}
	rec, err := p.src.Get(ctx, key)
	if errors.Is(err, readmodel.ErrNotFound) {
		return rec, fail(IDDoesNotExist, "no record %q", clip(id))
	}
	if err != nil {
		return rec, fmt.Errorf("record %s: %w", key, err)
	}
	return rec, nil
}

func (p *Provider) listMetadataFormats(ctx context.Context, args map[string]string, env *envelope) error {
	b := &listFormatsBody{}
	id, ok := args["identifier"]
	if !ok {
		for _, f := range formats {
			b.Formats = append(b.Formats, metadataFormat{f.prefix, f.schema, f.namespace})
		}
		env.ListMetadataFormats = b
		return nil
	}
	rec, err := p.lookup(ctx, id)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	for _, f := range formats {
		// A deleted record has a header in every format.
		if !rec.Deleted {
			buf.Reset()
			if err := f.render(p, &rec, &buf); err != nil {
				continue
			}
		}
		b.Formats = append(b.Formats, metadataFormat{f.prefix, f.schema, f.namespace})
	}
	if len(b.Formats) == 0 {
		return fail(NoMetadataFormats, "no metadata format is available for %q", clip(id))
	}
	env.ListMetadataFormats = b
	return nil
}

func (p *Provider) getRecord(ctx context.Context, args map[string]string, env *envelope) error {
	f, ok := formatOf(args["metadataPrefix"])
	if !ok {
		return fail(CannotDisseminateFormat, "%q is not a metadata format of this repository", clip(args["metadataPrefix"]))
	}
	rec, err := p.lookup(ctx, args["identifier"])
	if err != nil {
		return err
	}
	r, err := p.record(&rec, f)
	if err != nil {
		p.log.Warn("oai-pmh: record cannot be disseminated", "key", rec.Key, "format", f.prefix, "err", err)
		return fail(CannotDisseminateFormat, "%q is not available as %s", clip(args["identifier"]), f.prefix)
	}
	env.GetRecord = &getRecordBody{Record: r}
	if !rec.Deleted {
		env.viewed = &rec
	}
	return nil
}

// header returns the header of a record.
func (p *Provider) header(rec *readmodel.Record) header {
	h := header{Identifier: p.identifier(rec.Key), Datestamp: rec.Datestamp.UTC().Format(secondsLayout)}
	if rec.Deleted {
		h.Status = "deleted"
	}
	h.SetSpecs = append(h.SetSpecs, SetOpenAIRE)
	if rec.Facility != "" {
		h.SetSpecs = append(h.SetSpecs, facilitySet(rec.Facility))
	}
	for _, iri := range rec.Techniques {
		if s, ok := techniqueSet(iri); ok && !slices.Contains(h.SetSpecs, s) {
			h.SetSpecs = append(h.SetSpecs, s)
		}
	}
	return h
}

// record returns a record in format f: a deleted one as its header alone.
func (p *Provider) record(rec *readmodel.Record, f *format) (record, error) {
	r := record{Header: p.header(rec)}
	if rec.Deleted {
		return r, nil
	}
	var buf bytes.Buffer
	if err := f.render(p, rec, &buf); err != nil {
		return r, err
	}
	r.Metadata = &innerXML{XML: buf.String()}
	return r, nil
}
