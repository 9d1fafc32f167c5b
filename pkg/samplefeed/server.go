package samplefeed

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"time"

	"golang.org/x/time/rate"
)

// Metadata formats served.
const (
	PrefixOAIDC       = "oai_dc"
	PrefixOAIDataCite = "oai_datacite"
	// PrefixDataCite is the bare kernel-4 <resource> without the oai-1.1
	// envelope, as DataCite's provider also offers it.
	PrefixDataCite = "datacite"
)

// Server defaults.
const (
	DefaultPageSize       = 100
	DefaultRepositoryName = "Fairway sample photon and neutron data repository"
	DefaultAdminEmail     = "fairway-sample@example.org"
	// RepositoryIdentifier is the repository part of the OAI identifiers.
	RepositoryIdentifier = "sample.fairway"
)

const datestampLayout = "2006-01-02T15:04:05Z"

// ServerConfig configures a Server. Zero values mean the documented default.
type ServerConfig struct {
	// Corpus is the collection served.
	Corpus Corpus
	// PageSize is the number of records (or headers) per list response.
	// Default 100.
	PageSize int
	// BaseURL is the base URL announced in responses; empty derives it from
	// each request (scheme, Host and path).
	BaseURL string
	// RepositoryName is announced by Identify. Default DefaultRepositoryName.
	RepositoryName string
	// AdminEmail is announced by Identify. Default DefaultAdminEmail.
	AdminEmail string
	// Logger receives one debug line per request. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock for responseDate. Default time.Now.
	Now func() time.Time
	// Rate, when positive, is how many records per second the lists serve
	// at most, over all requests: a page waits until its records fit
	// (a steady feed, for measuring latency). Default 0: no limit.
	Rate float64
}

// Validate reports an invalid field.
func (c ServerConfig) Validate() error {
	if err := c.Corpus.Validate(); err != nil {
		return err
	}
	if c.PageSize < 0 {
		return errors.New("samplefeed: PageSize must not be negative")
	}
	if c.Rate < 0 {
		return errors.New("samplefeed: Rate must not be negative")
	}
	return nil
}

// Server is an OAI-PMH 2.0 repository (an http.Handler) over a Corpus. It
// supports Identify, ListMetadataFormats (oai_dc, oai_datacite, datacite),
// ListSets (one set per facility, setSpec = facility slug), ListRecords,
// ListIdentifiers (from/until at seconds granularity, set, resumption
// tokens with completeListSize and cursor) and GetRecord, and answers with the
// protocol's error codes. Deletions are persistent: a deleted record is listed
// as a header with status="deleted" and no metadata.
//
// Responses are streamed: memory per request does not grow with the page size.
// Resumption tokens are opaque and stateless (they encode the list arguments
// and the offset, with a checksum tied to the corpus), so they never expire
// and any replica serving the same corpus accepts them.
type Server struct {
	cfg     ServerConfig
	corpus  Corpus
	log     *slog.Logger
	now     func() time.Time
	fp      uint32 // corpus fingerprint, part of token checksums
	formats []format
	// pace holds the lists to cfg.Rate (nil: no limit).
	pace *rate.Limiter
}

type format struct {
	prefix, schema, namespace string
	render                    func(SampleRecord, []byte) []byte
}

// NewServer validates cfg, applies the defaults and returns the Server.
func NewServer(cfg ServerConfig) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.PageSize == 0 {
		cfg.PageSize = DefaultPageSize
	}
	if cfg.RepositoryName == "" {
		cfg.RepositoryName = DefaultRepositoryName
	}
	if cfg.AdminEmail == "" {
		cfg.AdminEmail = DefaultAdminEmail
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{
		cfg:    cfg,
		corpus: cfg.Corpus,
		log:    cfg.Logger.With(slog.String("component", "samplefeed")),
		now:    cfg.Now,
		fp:     fingerprint(cfg.Corpus),
		formats: []format{
			{PrefixOAIDC, schemaOAIDC, NamespaceOAIDC, SampleRecord.AppendDublinCoreXML},
			{PrefixOAIDataCite, schemaOAIDataCite, NamespaceOAIDataCite, SampleRecord.AppendOAIDataCiteXML},
			{PrefixDataCite, schemaDataCite, NamespaceDataCite, SampleRecord.AppendDataCiteXML},
		},
	}
	if cfg.Rate > 0 {
		// A page is the burst: its records leave together once the
		// limiter has room for all of them.
		s.pace = rate.NewLimiter(rate.Limit(cfg.Rate), cfg.PageSize)
	}
	return s, nil
}

// Corpus returns the corpus served.
func (s *Server) Corpus() Corpus { return s.corpus }

func (s *Server) format(prefix string) (format, bool) {
	for _, f := range s.formats {
		if f.prefix == prefix {
			return f, true
		}
	}
	return format{}, false
}

// oaiError is a protocol error to report.
type oaiError struct{ code, msg string }

func errorf(code, format string, args ...any) *oaiError {
	return &oaiError{code: code, msg: fmt.Sprintf(format, args...)}
}

// ServeHTTP implements http.Handler. GET, HEAD and POST
// (application/x-www-form-urlencoded) are accepted.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	out := &xmlWriter{w: bufio.NewWriterSize(w, 32<<10)}
	base := s.baseURL(r)
	var stats requestStats
	if err := r.ParseForm(); err != nil {
		s.writeError(out, base, errorf("badArgument", "cannot parse the request arguments: %v", err))
	} else {
		stats = s.dispatch(r.Context(), out, base, r.Form)
	}
	if err := out.flush(); err != nil && !errors.Is(err, context.Canceled) {
		s.log.DebugContext(r.Context(), "writing OAI-PMH response failed", slog.Any("error", err))
	}
	s.log.DebugContext(r.Context(), "OAI-PMH request",
		slog.String("verb", stats.verb), slog.String("error", stats.errCode), slog.Int("records", stats.records),
		slog.Duration("elapsed", time.Since(start)))
}

func (s *Server) baseURL(r *http.Request) string {
	if s.cfg.BaseURL != "" {
		return s.cfg.BaseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.Path
}

type requestStats struct {
	verb, errCode string
	records       int
}

var verbArgs = map[string]struct {
	required, optional []string
	exclusive          string // an argument that must come alone
}{
	"Identify":            {},
	"ListMetadataFormats": {optional: []string{"identifier"}},
	"ListSets":            {exclusive: "resumptionToken"},
	"GetRecord":           {required: []string{"identifier", "metadataPrefix"}},
	"ListIdentifiers":     {required: []string{"metadataPrefix"}, optional: []string{"from", "until", "set"}, exclusive: "resumptionToken"},
	"ListRecords":         {required: []string{"metadataPrefix"}, optional: []string{"from", "until", "set"}, exclusive: "resumptionToken"},
}

// checkArgs validates the arguments of a known verb; it returns a badArgument
// error or nil.
func checkArgs(verb string, args map[string][]string) *oaiError {
	spec := verbArgs[verb]
	for k, v := range args {
		if len(v) > 1 {
			return errorf("badArgument", "argument %q is repeated", k)
		}
	}
	if spec.exclusive != "" {
		if _, ok := args[spec.exclusive]; ok {
			if len(args) != 2 {
				return errorf("badArgument", "%s must be the only argument besides verb", spec.exclusive)
			}
			return nil
		}
	}
	allowed := map[string]bool{"verb": true}
	for _, a := range spec.required {
		allowed[a] = true
		if v, ok := args[a]; !ok || v[0] == "" {
			return errorf("badArgument", "missing required argument %q", a)
		}
	}
	for _, a := range spec.optional {
		allowed[a] = true
	}
	for k := range args {
		if !allowed[k] {
			return errorf("badArgument", "illegal argument %q for %s", k, verb)
		}
	}
	return nil
}

func (s *Server) dispatch(ctx context.Context, out *xmlWriter, base string, args map[string][]string) requestStats {
	verbs := args["verb"]
	var st requestStats
	fail := func(e *oaiError) requestStats {
		st.errCode = e.code
		s.writeError(out, base, e)
		return st
	}
	switch {
	case len(verbs) == 0:
		return fail(errorf("badVerb", "missing verb argument"))
	case len(verbs) > 1:
		return fail(errorf("badVerb", "verb argument is repeated"))
	}
	st.verb = verbs[0]
	if _, ok := verbArgs[st.verb]; !ok {
		return fail(errorf("badVerb", "illegal verb %q", st.verb))
	}
	if e := checkArgs(st.verb, args); e != nil {
		return fail(e)
	}
	arg := func(k string) string {
		if v := args[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	var e *oaiError
	switch st.verb {
	case "Identify":
		s.identify(out, base, args)
	case "ListMetadataFormats":
		e = s.listMetadataFormats(out, base, args, arg("identifier"))
	case "ListSets":
		if arg("resumptionToken") != "" {
			e = errorf("badResumptionToken", "ListSets is never paged")
			break
		}
		s.listSets(out, base, args)
	case "GetRecord":
		e = s.getRecord(out, base, args, arg("identifier"), arg("metadataPrefix"))
	case "ListRecords", "ListIdentifiers":
		st.records, e = s.list(ctx, out, base, args, st.verb)
	}
	if e != nil {
		return fail(e)
	}
	return st
}

// writeHeader writes the XML declaration, the root start tag, responseDate
// and request (with its attributes, or none for badVerb/badArgument).
func (s *Server) writeHeader(out *xmlWriter, base string, args map[string][]string) {
	out.str(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ` +
		`xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/ http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">` + "\n" +
		`<responseDate>` + s.now().UTC().Format(datestampLayout) + "</responseDate>\n<request")
	keys := make([]string, 0, len(args))
	for k := range args {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { // verb first, then alphabetical
		if (keys[i] == "verb") != (keys[j] == "verb") {
			return keys[i] == "verb"
		}
		return keys[i] < keys[j]
	})
	for _, k := range keys {
		out.str(" " + k + `="`)
		out.esc(args[k][0])
		out.str(`"`)
	}
	out.str(">")
	out.esc(base)
	out.str("</request>\n")
}

func (s *Server) writeFooter(out *xmlWriter) { out.str("</OAI-PMH>\n") }

func (s *Server) writeError(out *xmlWriter, base string, e *oaiError) {
	var args map[string][]string // badVerb and badArgument echo no arguments
	s.writeHeader(out, base, args)
	out.str(`<error code="` + e.code + `">`)
	out.esc(e.msg)
	out.str("</error>\n")
	s.writeFooter(out)
}

func (s *Server) identify(out *xmlWriter, base string, args map[string][]string) {
	s.writeHeader(out, base, args)
	out.str("<Identify>\n<repositoryName>")
	out.esc(s.cfg.RepositoryName)
	out.str("</repositoryName>\n<baseURL>")
	out.esc(base)
	out.str("</baseURL>\n<protocolVersion>2.0</protocolVersion>\n<adminEmail>")
	out.esc(s.cfg.AdminEmail)
	out.str("</adminEmail>\n<earliestDatestamp>" + s.corpus.Datestamp(0).Format(datestampLayout) + "</earliestDatestamp>\n" +
		"<deletedRecord>persistent</deletedRecord>\n<granularity>YYYY-MM-DDThh:mm:ssZ</granularity>\n" +
		"<description>\n<oai-identifier xmlns=\"http://www.openarchives.org/OAI/2.0/oai-identifier\" " +
		"xsi:schemaLocation=\"http://www.openarchives.org/OAI/2.0/oai-identifier http://www.openarchives.org/OAI/2.0/oai-identifier.xsd\">\n" +
		"<scheme>oai</scheme>\n<repositoryIdentifier>" + RepositoryIdentifier + "</repositoryIdentifier>\n" +
		"<delimiter>:</delimiter>\n<sampleIdentifier>")
	out.esc(s.corpus.Identifier(0))
	out.str("</sampleIdentifier>\n</oai-identifier>\n</description>\n</Identify>\n")
	s.writeFooter(out)
}

func (s *Server) listMetadataFormats(out *xmlWriter, base string, args map[string][]string, identifier string) *oaiError {
	if identifier != "" {
		if _, ok := s.corpus.IndexOf(identifier); !ok {
			return errorf("idDoesNotExist", "no item with identifier %q", identifier)
		}
	}
	s.writeHeader(out, base, args)
	out.str("<ListMetadataFormats>\n")
	for _, f := range s.formats {
		out.str("<metadataFormat><metadataPrefix>" + f.prefix + "</metadataPrefix><schema>" + f.schema +
			"</schema><metadataNamespace>" + f.namespace + "</metadataNamespace></metadataFormat>\n")
	}
	out.str("</ListMetadataFormats>\n")
	s.writeFooter(out)
	return nil
}

func (s *Server) listSets(out *xmlWriter, base string, args map[string][]string) {
	s.writeHeader(out, base, args)
	out.str("<ListSets>\n")
	for _, f := range s.corpus.Facilities() {
		out.str("<set><setSpec>")
		out.esc(f.Slug)
		out.str("</setSpec><setName>")
		out.esc(f.Name + " (" + f.Acronym + ")")
		out.str("</setName></set>\n")
	}
	out.str("</ListSets>\n")
	s.writeFooter(out)
}

func (s *Server) getRecord(out *xmlWriter, base string, args map[string][]string, identifier, prefix string) *oaiError {
	f, ok := s.format(prefix)
	if !ok {
		return errorf("cannotDisseminateFormat", "metadata format %q is not supported", prefix)
	}
	i, ok := s.corpus.IndexOf(identifier)
	if !ok {
		return errorf("idDoesNotExist", "no item with identifier %q", identifier)
	}
	s.writeHeader(out, base, args)
	out.str("<GetRecord>\n")
	s.writeRecord(out, s.corpus.Record(i), f, true, nil)
	out.str("</GetRecord>\n")
	s.writeFooter(out)
	return nil
}

// writeRecord writes a <record> (withMetadata) or a bare <header>. buf is a
// scratch buffer that is returned for reuse.
func (s *Server) writeRecord(out *xmlWriter, rec SampleRecord, f format, withMetadata bool, buf []byte) []byte {
	if withMetadata {
		out.str("<record>")
	}
	if rec.Deleted {
		out.str(`<header status="deleted">`)
	} else {
		out.str("<header>")
	}
	out.str("<identifier>")
	out.esc(rec.Identifier)
	out.str("</identifier><datestamp>" + rec.Datestamp.Format(datestampLayout) + "</datestamp><setSpec>")
	out.esc(rec.Facility.Slug)
	out.str("</setSpec></header>")
	if withMetadata {
		if !rec.Deleted {
			out.str("\n<metadata>\n")
			buf = f.render(rec, buf[:0])
			out.bytes(buf)
			out.str("\n</metadata>")
		}
		out.str("</record>")
	}
	out.str("\n")
	return buf
}

// listQuery holds the arguments of a list request, from the request or a token.
type listQuery struct {
	prefix      string
	from, until string // as given
	set         string
	offset      int
}

// window is the list as an arithmetic progression of record indexes.
type window struct{ first, stride, count int }

func (w window) index(j int) int { return w.first + j*w.stride }

// parseArgDate parses a from/until argument: YYYY-MM-DD or
// YYYY-MM-DDThh:mm:ssZ. An "until" day means the end of that day.
func parseArgDate(v string, isUntil bool) (t time.Time, seconds bool, ok bool) {
	switch len(v) {
	case len("2006-01-02"):
		d, err := time.Parse("2006-01-02", v)
		if err != nil {
			return time.Time{}, false, false
		}
		if isUntil {
			d = d.Add(24*time.Hour - time.Second)
		}
		return d, false, true
	case len(datestampLayout):
		d, err := time.Parse(datestampLayout, v)
		if err != nil {
			return time.Time{}, false, false
		}
		return d, true, true
	}
	return time.Time{}, false, false
}

// window computes the records selected by q, or an error.
func (s *Server) window(q listQuery) (window, *oaiError) {
	c := s.corpus
	lo, hi := 0, c.Size-1
	var from, until time.Time
	var fromSec, untilSec, ok bool
	if q.from != "" {
		if from, fromSec, ok = parseArgDate(q.from, false); !ok {
			return window{}, errorf("badArgument", "from %q is not a valid UTCdatetime", q.from)
		}
	}
	if q.until != "" {
		if until, untilSec, ok = parseArgDate(q.until, true); !ok {
			return window{}, errorf("badArgument", "until %q is not a valid UTCdatetime", q.until)
		}
	}
	if q.from != "" && q.until != "" {
		if fromSec != untilSec {
			return window{}, errorf("badArgument", "from and until have different granularities")
		}
		if from.After(until) {
			return window{}, errorf("badArgument", "from is later than until")
		}
	}
	base, step := c.base(), c.step()
	if q.from != "" && from.After(base) {
		d := from.Sub(base)
		lo = int((d + step - 1) / step)
	}
	if q.until != "" {
		if until.Before(base) {
			hi = -1
		} else if k := int(until.Sub(base) / step); k < hi {
			hi = k
		}
	}
	w := window{first: lo, stride: 1}
	if q.set != "" {
		fs := c.Facilities()
		k := -1
		for idx, f := range fs {
			if f.Slug == q.set {
				k = idx
			}
		}
		if k < 0 {
			return window{}, errorf("noRecordsMatch", "no set %q", q.set)
		}
		n := len(fs)
		w = window{first: lo + ((k-lo%n)%n+n)%n, stride: n}
	}
	if hi >= w.first {
		w.count = (hi-w.first)/w.stride + 1
	}
	return w, nil
}

func (s *Server) list(ctx context.Context, out *xmlWriter, base string, args map[string][]string, verb string) (int, *oaiError) {
	var q listQuery
	if tok := args["resumptionToken"]; len(tok) > 0 {
		var ok bool
		if q, ok = s.decodeToken(tok[0]); !ok {
			return 0, errorf("badResumptionToken", "invalid resumption token")
		}
	} else {
		get := func(k string) string {
			if v := args[k]; len(v) > 0 {
				return v[0]
			}
			return ""
		}
		q = listQuery{prefix: get("metadataPrefix"), from: get("from"), until: get("until"), set: get("set")}
	}
	f, ok := s.format(q.prefix)
	if !ok {
		return 0, errorf("cannotDisseminateFormat", "metadata format %q is not supported", q.prefix)
	}
	w, e := s.window(q)
	if e != nil {
		return 0, e
	}
	if w.count == 0 {
		return 0, errorf("noRecordsMatch", "no records match the request")
	}
	if q.offset >= w.count {
		return 0, errorf("badResumptionToken", "resumption token is past the end of the list")
	}
	end := min(q.offset+s.cfg.PageSize, w.count)
	if s.pace != nil {
		if err := s.pace.WaitN(ctx, end-q.offset); err != nil {
			return 0, nil // the client went away
		}
	}

	s.writeHeader(out, base, args)
	out.str("<" + verb + ">\n")
	var buf []byte
	n := 0
	for j := q.offset; j < end; j++ {
		if out.err != nil || ctx.Err() != nil {
			return n, nil // the client went away; nothing more to say
		}
		buf = s.writeRecord(out, s.corpus.Record(w.index(j)), f, verb == "ListRecords", buf)
		n++
	}
	switch {
	case end < w.count:
		next := q
		next.offset = end
		out.str(`<resumptionToken completeListSize="` + strconv.Itoa(w.count) + `" cursor="` + strconv.Itoa(q.offset) + `">`)
		out.str(s.encodeToken(next))
		out.str("</resumptionToken>\n")
	case q.offset > 0:
		out.str(`<resumptionToken completeListSize="` + strconv.Itoa(w.count) + `" cursor="` + strconv.Itoa(q.offset) + `"/>` + "\n")
	}
	out.str("</" + verb + ">\n")
	s.writeFooter(out)
	return n, nil
}

// xmlWriter is a buffered writer with a sticky error.
type xmlWriter struct {
	w       *bufio.Writer
	err     error
	scratch []byte
}

func (x *xmlWriter) str(s string) {
	if x.err == nil {
		_, x.err = x.w.WriteString(s)
	}
}

func (x *xmlWriter) bytes(b []byte) {
	if x.err == nil {
		_, x.err = x.w.Write(b)
	}
}

// esc writes s escaped for XML text or attribute values.
func (x *xmlWriter) esc(s string) {
	if x.err == nil && s != "" {
		x.scratch = appendEscaped(x.scratch[:0], s)
		_, x.err = x.w.Write(x.scratch)
	}
}

func (x *xmlWriter) flush() error {
	if x.err == nil {
		x.err = x.w.Flush()
	}
	return x.err
}
