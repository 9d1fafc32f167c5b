package oaipmh

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/panosc/fairway/pkg/fetch"
)

// OAI-PMH verbs.
const (
	VerbIdentify            = "Identify"
	VerbListMetadataFormats = "ListMetadataFormats"
	VerbListSets            = "ListSets"
	VerbListIdentifiers     = "ListIdentifiers"
	VerbListRecords         = "ListRecords"
	VerbGetRecord           = "GetRecord"
)

// Page is one parsed OAI-PMH response.
type Page struct {
	// ResponseDate is ResponseDateRaw parsed with ParseDate; zero when missing
	// or unparseable.
	ResponseDate time.Time
	// ResponseDateRaw is the text of <responseDate>, trimmed.
	ResponseDateRaw string
	// Verb is the local name of the verb element of the response
	// (e.g. "ListRecords"); for an error response, which has none, the verb
	// attribute of <request>.
	Verb string
	// Request is the <request> element echoed by the repository.
	Request Request
	// Records are the records (ListRecords, GetRecord) or headers
	// (ListIdentifiers, with nil Metadata) of the page, in document order,
	// except the oversized ones.
	Records []Record
	// Oversized lists the records whose metadata exceeded the size limit given
	// to ParsePage; they are not in Records.
	Oversized []OversizedRecord
	// Token is the resumption token; nil when the element is absent, a Value of
	// "" when present but empty (the list is complete).
	Token *ResumptionToken
	// Errors are the <error> elements of the response.
	Errors []ProtocolError
	// Identify is set for an Identify response.
	Identify *Identify
	// MetadataFormats is set for a ListMetadataFormats response.
	MetadataFormats []MetadataFormat
	// Sets is set for a ListSets response.
	Sets []Set
	// Repairs counts the repairs made to the response while reading it:
	// characters illegal in XML 1.0, invalid UTF-8 and references to illegal
	// characters replaced by U+FFFD, and bare "&" escaped as "&amp;".
	Repairs int
	// Bytes is the size of the response body as read (after
	// decompression); set by the Client.
	Bytes int64
	// Retries counts the failed requests for this page before the one that
	// answered; set by the Client.
	Retries int
}

// Err returns nil when the page has no protocol error, the ProtocolError when
// it has one, and all of them joined when it has several.
func (p *Page) Err() error {
	switch len(p.Errors) {
	case 0:
		return nil
	case 1:
		return p.Errors[0]
	}
	errs := make([]error, len(p.Errors))
	for i, e := range p.Errors {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// Request is the <request> element of a response.
type Request struct {
	// BaseURL is the element's text, trimmed.
	BaseURL string
	// Params are its attributes (verb, metadataPrefix, resumptionToken, ...).
	Params map[string]string
}

// Record is a record of ListRecords or GetRecord, or a header of ListIdentifiers.
type Record struct {
	// Identifier is the OAI identifier from the header.
	Identifier string
	// Datestamp is the header's datestamp as given; parse it with ParseDate.
	Datestamp string
	// Deleted is true for a header with status="deleted".
	Deleted bool
	// SetSpecs are the header's setSpec values.
	SetSpecs []string
	// Metadata is the child element of <metadata> byte for byte as it appears
	// in the response (after the repairs described on ParsePage, and in UTF-8),
	// from its "<" to the end of its end tag. It is nil for deleted records and
	// headers. The payload may use namespace prefixes declared on ancestors
	// (e.g. xsi on the OAI-PMH root): see InheritedNamespaces and
	// MetadataWithNamespaces.
	Metadata []byte
	// InheritedNamespaces are the namespace declarations in scope at <metadata>
	// (declared on it or its ancestors), prefix → URI, "" for the default
	// namespace. Records of one page may share the map: treat it as read-only.
	InheritedNamespaces map[string]string
}

// MetadataWithNamespaces returns Metadata with the inherited namespace
// declarations that the payload's root element does not declare itself added
// to that root element, so that the payload parses on its own with the same
// meaning as in the response. It returns Metadata unchanged when nothing is
// missing, and nil when Metadata is nil.
func (r *Record) MetadataWithNamespaces() []byte {
	if r.Metadata == nil || len(r.InheritedNamespaces) == 0 {
		return r.Metadata
	}
	d := xml.NewDecoder(bytes.NewReader(r.Metadata))
	d.Strict = false
	tok, err := d.RawToken()
	if err != nil {
		return r.Metadata
	}
	start, ok := tok.(xml.StartElement)
	if !ok {
		return r.Metadata
	}
	own := map[string]bool{}
	for _, a := range start.Attr {
		switch {
		case a.Name.Space == "xmlns":
			own[a.Name.Local] = true
		case a.Name.Space == "" && a.Name.Local == "xmlns":
			own[""] = true
		}
	}
	prefixes := make([]string, 0, len(r.InheritedNamespaces))
	for p := range r.InheritedNamespaces {
		if !own[p] {
			prefixes = append(prefixes, p)
		}
	}
	if len(prefixes) == 0 {
		return r.Metadata
	}
	sort.Strings(prefixes)
	// The element name ends at the first whitespace, '/' or '>' after '<'.
	end := bytes.IndexAny(r.Metadata, " \t\r\n/>")
	if end < 0 {
		return r.Metadata
	}
	var b bytes.Buffer
	b.Grow(len(r.Metadata) + 64*len(prefixes))
	b.Write(r.Metadata[:end])
	for _, p := range prefixes {
		if p == "" {
			b.WriteString(` xmlns="`)
		} else {
			b.WriteString(` xmlns:` + p + `="`)
		}
		_ = xml.EscapeText(&b, []byte(r.InheritedNamespaces[p]))
		b.WriteByte('"')
	}
	b.Write(r.Metadata[end:])
	return b.Bytes()
}

// OversizedRecord is a record left out of Page.Records because its metadata
// exceeded the size limit.
type OversizedRecord struct {
	// Identifier is the record's OAI identifier.
	Identifier string
	// Datestamp is the record's datestamp as given.
	Datestamp string
	// Size is the size of the metadata payload in bytes.
	Size int64
}

// ResumptionToken is a <resumptionToken> element.
type ResumptionToken struct {
	// Value is the token, trimmed, exactly as given (some repositories hand
	// out URL-encoded tokens: they must be sent back URL-encoded once more,
	// which the Client does). Empty means the list is complete.
	Value string
	// CompleteListSize is the completeListSize attribute, -1 when absent or
	// not a number.
	CompleteListSize int
	// Cursor is the cursor attribute, -1 when absent or not a number.
	Cursor int
	// ExpirationDate is the expirationDate attribute; zero when absent or
	// unparseable.
	ExpirationDate time.Time
}

// Identify is the body of an Identify response.
type Identify struct {
	// RepositoryName is the repository's human-readable name.
	RepositoryName string
	// BaseURL is the base URL the repository announces for itself.
	BaseURL string
	// ProtocolVersion is "2.0" for OAI-PMH 2.0.
	ProtocolVersion string
	// AdminEmails are the administrators' e-mail addresses.
	AdminEmails []string
	// EarliestDatestamp is the lower bound of all datestamps, as given.
	EarliestDatestamp string
	// DeletedRecord is "no", "transient" or "persistent".
	DeletedRecord string
	// Granularity is GranularityDay or GranularitySeconds.
	Granularity string
	// Compression lists the content encodings offered (e.g. "gzip").
	Compression []string
}

// MetadataFormat is an entry of a ListMetadataFormats response.
type MetadataFormat struct {
	// MetadataPrefix is the value to send as metadataPrefix, e.g. "oai_dc".
	MetadataPrefix string
	// Schema is the URL of the format's XML schema.
	Schema string
	// MetadataNamespace is the namespace URI of the format's root element.
	MetadataNamespace string
}

// Set is an entry of a ListSets response (setDescription is not kept).
type Set struct {
	// SetSpec is the value to send as set, e.g. "DATACITE.DATACITE".
	SetSpec string
	// SetName is the set's human-readable name.
	SetName string
}

// ParsePage parses one OAI-PMH response from r with a streaming decoder.
//
// Elements are matched by local name only; their namespaces are ignored.
// Unknown elements are skipped. The input is repaired where real feeds
// commonly break XML (counted in Page.Repairs): characters that are illegal in
// XML 1.0, invalid UTF-8 and character references to illegal characters
// become U+FFFD, and a bare "&" (as in "R&D", outside CDATA) becomes "&amp;".
// Documents declared as ISO-8859-1 or windows-1252 are converted to UTF-8.
// HTML entities such as &nbsp; are accepted.
//
// A record whose metadata payload is larger than maxRecordBytes (<= 0: no
// limit) is reported in Page.Oversized instead of Page.Records, and parsing
// goes on. Memory use is bounded by the largest kept payload, not by the page.
//
// Protocol errors are returned in Page.Errors, not as the error. The error is
// non-nil when the input is not a well-formed OAI-PMH response (it then wraps
// fetch.ErrMalformedResponse) or when reading r fails (it then wraps that error).
func ParsePage(r io.Reader, maxRecordBytes int) (*Page, error) {
	in, err := newInput(r)
	if err != nil {
		return nil, err
	}
	d := xml.NewDecoder(in)
	d.Strict = true
	d.Entity = xml.HTMLEntity
	d.CharsetReader = charsetReader
	p := &parser{d: d, in: in, page: &Page{}, maxRecord: maxRecordBytes}
	if err := p.run(); err != nil {
		return nil, p.classify(err)
	}
	p.page.Repairs = in.repairs
	return p.page, nil
}

type nsFrame struct {
	depth int
	decls map[string]string
}

type recState struct {
	rec        Record
	size       int64
	oversized  bool
	standalone bool // a ListIdentifiers header: the record ends with the header
}

type parser struct {
	d         *xml.Decoder
	in        *input
	page      *Page
	maxRecord int

	stack []string // local names of the open container elements
	ns    []nsFrame
	nsGen int
	// cached in-scope namespace map, valid while nsGen == nsCacheGen
	nsCache    map[string]string
	nsCacheGen int

	rec    *recState
	set    *Set
	format *MetadataFormat
}

func (p *parser) classify(err error) error {
	if errors.Is(err, fetch.ErrMalformedResponse) {
		return err
	}
	if p.in.err != nil && p.in.err != io.EOF && errors.Is(err, p.in.err) {
		return fmt.Errorf("oaipmh: reading response: %w", err)
	}
	line, col := p.d.InputPos()
	return malformed("line %d, column %d: %v", line, col, err)
}

func (p *parser) top() string {
	if len(p.stack) == 0 {
		return ""
	}
	return p.stack[len(p.stack)-1]
}

func (p *parser) run() error {
	sawRoot := false
	for {
		startOff := p.d.InputOffset()
		tok, err := p.d.Token()
		if err == io.EOF {
			if !sawRoot {
				return malformed("no root element")
			}
			return malformed("unexpected end of input")
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			sawRoot = true
			if err := p.start(t, startOff); err != nil {
				return err
			}
		case xml.EndElement:
			p.end()
			if len(p.stack) == 0 {
				return nil // root closed; whatever follows is ignored
			}
		case xml.CharData:
			if !sawRoot && len(bytes.TrimSpace(t)) > 0 {
				return malformed("text before the root element")
			}
		}
	}
}

func (p *parser) push(t xml.StartElement) {
	p.stack = append(p.stack, t.Name.Local)
	p.pushNS(t, len(p.stack))
}

func (p *parser) pushNS(t xml.StartElement, depth int) {
	var decls map[string]string
	for _, a := range t.Attr {
		prefix, ok := "", false
		switch {
		case a.Name.Space == "xmlns":
			prefix, ok = a.Name.Local, true
		case a.Name.Space == "" && a.Name.Local == "xmlns":
			ok = true
		}
		if ok {
			if decls == nil {
				decls = map[string]string{}
			}
			decls[prefix] = a.Value
		}
	}
	if decls != nil {
		p.ns = append(p.ns, nsFrame{depth: depth, decls: decls})
		p.nsGen++
	}
}

func (p *parser) popNS(depth int) {
	if n := len(p.ns); n > 0 && p.ns[n-1].depth == depth {
		p.ns = p.ns[:n-1]
		p.nsGen++
	}
}

// nsMap returns the namespace declarations in scope, nil when there are none.
func (p *parser) nsMap() map[string]string {
	if len(p.ns) == 0 {
		return nil
	}
	if p.nsCache != nil && p.nsCacheGen == p.nsGen {
		return p.nsCache
	}
	m := map[string]string{}
	for _, f := range p.ns {
		maps.Copy(m, f.decls)
	}
	p.nsCache, p.nsCacheGen = m, p.nsGen
	return m
}

func attr(t xml.StartElement, local string) (string, bool) {
	for _, a := range t.Attr {
		if a.Name.Local == local && a.Name.Space != "xmlns" {
			return a.Value, true
		}
	}
	return "", false
}

// text reads the character data of the element just started, up to and
// including its end tag; child elements are skipped.
func (p *parser) text() (string, error) {
	var b strings.Builder
	for {
		tok, err := p.d.Token()
		if err != nil {
			if err == io.EOF {
				return "", malformed("unexpected end of input")
			}
			return "", err
		}
		switch t := tok.(type) {
		case xml.CharData:
			b.Write(t)
		case xml.StartElement:
			if err := p.d.Skip(); err != nil {
				return "", err
			}
		case xml.EndElement:
			return b.String(), nil
		}
	}
}

func (p *parser) trimmedText() (string, error) {
	s, err := p.text()
	return strings.TrimSpace(s), err
}

func isVerb(name string) bool {
	switch name {
	case VerbIdentify, VerbListMetadataFormats, VerbListSets, VerbListIdentifiers, VerbListRecords, VerbGetRecord:
		return true
	}
	return false
}

func (p *parser) start(t xml.StartElement, startOff int64) error {
	name := t.Name.Local
	parent := p.top()
	var err error
	switch {
	case len(p.stack) == 0:
		if name != "OAI-PMH" {
			return malformed("root element is <%s>, not <OAI-PMH>", name)
		}
		p.push(t)
		return nil

	case parent == "OAI-PMH":
		switch {
		case name == "responseDate":
			var s string
			if s, err = p.trimmedText(); err == nil {
				p.page.ResponseDateRaw = s
				if ts, perr := ParseDate(s); perr == nil {
					p.page.ResponseDate = ts
				}
			}
		case name == "request":
			params := map[string]string{}
			for _, a := range t.Attr {
				if a.Name.Space != "xmlns" && !(a.Name.Space == "" && a.Name.Local == "xmlns") {
					params[a.Name.Local] = a.Value
				}
			}
			p.page.Request.Params = params
			p.page.Request.BaseURL, err = p.trimmedText()
			if p.page.Verb == "" {
				p.page.Verb = params["verb"]
			}
		case name == "error":
			code, _ := attr(t, "code")
			var msg string
			if msg, err = p.text(); err == nil {
				p.page.Errors = append(p.page.Errors, ProtocolError{
					Code:    strings.TrimSpace(code),
					Message: strings.Join(strings.Fields(msg), " "),
				})
			}
		case isVerb(name):
			p.page.Verb = name
			if name == VerbIdentify && p.page.Identify == nil {
				p.page.Identify = &Identify{}
			}
			p.push(t)
		default:
			err = p.d.Skip()
		}

	case parent == VerbIdentify:
		err = p.identifyField(t)

	case isVerb(parent):
		switch {
		case name == "resumptionToken" && (parent == VerbListRecords || parent == VerbListIdentifiers || parent == VerbListSets):
			err = p.resumptionToken(t)
		case name == "record" && (parent == VerbListRecords || parent == VerbGetRecord):
			p.rec = &recState{}
			p.push(t)
		case name == "header" && parent == VerbListIdentifiers:
			p.rec = &recState{standalone: true}
			p.headerStatus(t)
			p.push(t)
		case name == "set" && parent == VerbListSets:
			p.set = &Set{}
			p.push(t)
		case name == "metadataFormat" && parent == VerbListMetadataFormats:
			p.format = &MetadataFormat{}
			p.push(t)
		default:
			err = p.d.Skip()
		}

	case parent == "record" && p.rec != nil:
		switch name {
		case "header":
			p.headerStatus(t)
			p.push(t)
		case "metadata":
			err = p.metadata(t)
		default: // about, and anything else
			err = p.d.Skip()
		}

	case parent == "header" && p.rec != nil:
		var s string
		switch name {
		case "identifier":
			if s, err = p.trimmedText(); err == nil {
				p.rec.rec.Identifier = s
			}
		case "datestamp":
			if s, err = p.trimmedText(); err == nil {
				p.rec.rec.Datestamp = s
			}
		case "setSpec":
			if s, err = p.trimmedText(); err == nil {
				p.rec.rec.SetSpecs = append(p.rec.rec.SetSpecs, s)
			}
		default:
			err = p.d.Skip()
		}

	case parent == "set" && p.set != nil:
		switch name {
		case "setSpec":
			p.set.SetSpec, err = p.trimmedText()
		case "setName":
			p.set.SetName, err = p.trimmedText()
		default:
			err = p.d.Skip()
		}

	case parent == "metadataFormat" && p.format != nil:
		switch name {
		case "metadataPrefix":
			p.format.MetadataPrefix, err = p.trimmedText()
		case "schema":
			p.format.Schema, err = p.trimmedText()
		case "metadataNamespace":
			p.format.MetadataNamespace, err = p.trimmedText()
		default:
			err = p.d.Skip()
		}

	default:
		err = p.d.Skip()
	}
	return err
}

func (p *parser) headerStatus(t xml.StartElement) {
	if status, ok := attr(t, "status"); ok && strings.EqualFold(strings.TrimSpace(status), "deleted") {
		p.rec.rec.Deleted = true
	}
}

func (p *parser) end() {
	if len(p.stack) == 0 {
		return
	}
	name := p.top()
	depth := len(p.stack)
	p.stack = p.stack[:depth-1]
	p.popNS(depth)
	switch name {
	case "record":
		p.finishRecord()
	case "header":
		if p.rec != nil && p.rec.standalone {
			p.finishRecord()
		}
	case "set":
		if p.set != nil {
			p.page.Sets = append(p.page.Sets, *p.set)
			p.set = nil
		}
	case "metadataFormat":
		if p.format != nil {
			p.page.MetadataFormats = append(p.page.MetadataFormats, *p.format)
			p.format = nil
		}
	}
}

func (p *parser) finishRecord() {
	if p.rec == nil {
		return
	}
	if p.rec.oversized {
		p.page.Oversized = append(p.page.Oversized, OversizedRecord{
			Identifier: p.rec.rec.Identifier,
			Datestamp:  p.rec.rec.Datestamp,
			Size:       p.rec.size,
		})
	} else {
		p.page.Records = append(p.page.Records, p.rec.rec)
	}
	p.rec = nil
}

// metadata handles a <metadata> element whose start tag t was just read: it
// keeps the raw bytes of its first child element and consumes everything up to
// and including </metadata>.
func (p *parser) metadata(t xml.StartElement) error {
	depth := len(p.stack) + 1
	p.pushNS(t, depth)
	defer p.popNS(depth)
	// Slack for the whitespace between <metadata> and the payload.
	const slack = 64 << 10
	limit := -1
	if p.maxRecord > 0 && p.maxRecord <= math.MaxInt-slack {
		limit = p.maxRecord + slack
	}
	p.in.startCapture(p.d.InputOffset(), limit)
	defer p.in.stopCapture()
	found := false
	for {
		off := p.d.InputOffset()
		tok, err := p.d.Token()
		if err != nil {
			if err == io.EOF {
				return malformed("unexpected end of input in <metadata>")
			}
			return err
		}
		switch tok.(type) {
		case xml.StartElement:
			if found { // only the first child is the payload
				if err := p.d.Skip(); err != nil {
					return err
				}
				continue
			}
			found = true
			keep := -1
			if p.maxRecord > 0 {
				keep = p.maxRecord
			}
			p.in.trimCapture(off, keep)
			if err := p.d.Skip(); err != nil {
				return err
			}
			end := p.d.InputOffset()
			p.rec.size = end - off
			if p.maxRecord > 0 && p.rec.size > int64(p.maxRecord) {
				p.rec.oversized = true
			} else {
				p.rec.rec.Metadata = p.in.captured(off, end)
				if p.rec.rec.Metadata == nil {
					return fmt.Errorf("oaipmh: internal error: payload of %q not captured", p.rec.rec.Identifier)
				}
				p.rec.rec.InheritedNamespaces = p.nsMap()
			}
			p.in.stopCapture()
		case xml.EndElement:
			return nil
		}
	}
}

func (p *parser) resumptionToken(t xml.StartElement) error {
	tok := &ResumptionToken{CompleteListSize: -1, Cursor: -1}
	if v, ok := attr(t, "completeListSize"); ok {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
			tok.CompleteListSize = n
		}
	}
	if v, ok := attr(t, "cursor"); ok {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
			tok.Cursor = n
		}
	}
	if v, ok := attr(t, "expirationDate"); ok {
		if ts, err := ParseDate(v); err == nil {
			tok.ExpirationDate = ts
		}
	}
	v, err := p.trimmedText()
	if err != nil {
		return err
	}
	tok.Value = v
	p.page.Token = tok
	return nil
}

func (p *parser) identifyField(t xml.StartElement) error {
	id := p.page.Identify
	var s string
	var err error
	switch t.Name.Local {
	case "repositoryName":
		id.RepositoryName, err = p.trimmedText()
	case "baseURL":
		id.BaseURL, err = p.trimmedText()
	case "protocolVersion":
		id.ProtocolVersion, err = p.trimmedText()
	case "adminEmail":
		if s, err = p.trimmedText(); err == nil {
			id.AdminEmails = append(id.AdminEmails, s)
		}
	case "earliestDatestamp":
		id.EarliestDatestamp, err = p.trimmedText()
	case "deletedRecord":
		id.DeletedRecord, err = p.trimmedText()
	case "granularity":
		id.Granularity, err = p.trimmedText()
	case "compression":
		if s, err = p.trimmedText(); err == nil {
			id.Compression = append(id.Compression, s)
		}
	default: // description and anything else
		err = p.d.Skip()
	}
	return err
}
