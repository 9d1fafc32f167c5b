package oaiprovider

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/panosc/fairway/pkg/panet"
	"github.com/panosc/fairway/pkg/readmodel"
)

// parseDatestamp reads a from or until argument: YYYY-MM-DD or
// YYYY-MM-DDThh:mm:ssZ. day tells which; until of a day means its end.
func parseDatestamp(s string, until bool) (t time.Time, day bool, err error) {
	switch len(s) {
	case len(time.DateOnly):
		t, err = time.Parse(time.DateOnly, s)
		if err == nil && until {
			t = t.Add(24*time.Hour - time.Second)
		}
		return t, true, err
	case len(secondsLayout):
		t, err = time.Parse(secondsLayout, s)
		return t, false, err
	}
	return t, false, errors.New("not YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ")
}

// listQuery is a checked ListIdentifiers or ListRecords request.
type listQuery struct {
	tok    token
	format *format
	q      readmodel.Query
}

// parseList checks the arguments of a list request, or of the token that
// continues one.
func (p *Provider) parseList(args map[string]string, now time.Time) (listQuery, error) {
	var lq listQuery
	if s, ok := args["resumptionToken"]; ok {
		t, err := p.open(s, args["verb"], now)
		if err != nil {
			return lq, fail(BadResumptionToken, "%v", err)
		}
		lq.tok = t
	} else {
		lq.tok = token{Verb: args["verb"], Prefix: args["metadataPrefix"], Set: args["set"], From: args["from"], Until: args["until"]}
	}
	t := &lq.tok
	var problems []string
	var from, until time.Time
	var fromDay, untilDay bool
	var err error
	if t.From != "" {
		if from, fromDay, err = parseDatestamp(t.From, false); err != nil {
			problems = append(problems, fmt.Sprintf("from %q: %v", clip(t.From), err))
		}
	}
	if t.Until != "" {
		if until, untilDay, err = parseDatestamp(t.Until, true); err != nil {
			problems = append(problems, fmt.Sprintf("until %q: %v", clip(t.Until), err))
		}
	}
	if len(problems) == 0 && t.From != "" && t.Until != "" {
		switch {
		case fromDay != untilDay:
			problems = append(problems, "from and until have different granularities")
		case from.After(until):
			problems = append(problems, "from is later than until")
		}
	}
	var filter setFilter
	known := true
	if t.Set != "" {
		var bad bool
		if filter, known, bad = parseSet(t.Set); bad {
			problems = append(problems, fmt.Sprintf("set %q is not a setSpec", clip(t.Set)))
		}
	}
	if len(problems) > 0 {
		return lq, fail(BadArgument, "%s", strings.Join(problems, "; "))
	}
	f, ok := formatOf(t.Prefix)
	if !ok {
		return lq, fail(CannotDisseminateFormat, "%q is not a metadata format of this repository", clip(t.Prefix))
	}
	if !known {
		return lq, fail(NoRecordsMatch, "this repository has no set %q", clip(t.Set))
	}
	lq.format = f
	lq.q = readmodel.Query{
		Facility: filter.facility, Technique: filter.technique, From: from, Until: until,
		Deleted: readmodel.WithDeleted, Order: readmodel.BySeq, After: t.After, Limit: p.cfg.PageSize,
		KeysOnly: args["verb"] == "ListIdentifiers",
	}
	return lq, nil
}

// list answers ListIdentifiers and ListRecords: a page of the records
// matching, in catalogue order (the order the entries were written, which
// follows their datestamps), resumed after the read model's cursor, so that a harvest is stable under changes: a dataset
// changed or deleted meanwhile moves to the end of the list, with its new
// datestamp.
func (p *Provider) list(ctx context.Context, args map[string]string, now time.Time, env *envelope) error {
	lq, err := p.parseList(args, now)
	if err != nil {
		return err
	}
	// A page none of whose records can be disseminated in the format
	// asked for (entries that do not render) is passed over for the next
	// one, so that it does not end the list early; at most skipPages.
	var (
		page    readmodel.Page
		records []record
	)
	for skipped := 0; ; skipped++ {
		page, err = p.src.Search(ctx, lq.q)
		switch {
		case errors.Is(err, readmodel.ErrBadQuery) && lq.tok.After != "":
			return fail(BadResumptionToken, "the resumption token no longer fits the catalogue's index: start the list again")
		case errors.Is(err, readmodel.ErrBadQuery):
			return fail(BadArgument, "%v", err)
		case err != nil:
			return fmt.Errorf("search: %w", err)
		}
		if len(page.Records) == 0 || args["verb"] == "ListIdentifiers" {
			break
		}
		records = records[:0]
		for i := range page.Records {
			r, err := p.record(&page.Records[i], lq.format)
			if err != nil {
				p.log.Warn("oai-pmh: record left out of the list", "key", page.Records[i].Key, "format", lq.format.prefix, "err", err)
				continue
			}
			records = append(records, r)
		}
		if len(records) > 0 || page.Next == "" {
			break
		}
		if skipped == skipPages {
			return fmt.Errorf("%d pages in a row hold no record that can be disseminated as %s", skipPages+1, lq.format.prefix)
		}
		lq.q.After = page.Next
		lq.tok.Cursor += len(page.Records)
		if lq.tok.After == "" {
			lq.tok.After = page.Next // a later page: the list has several
		}
	}
	if len(page.Records) == 0 {
		return fail(NoRecordsMatch, "no record matches the request")
	}
	// The read model gives a cursor exactly when more records follow, so
	// no token ever leads to an empty page (which OAI-PMH cannot express).
	var tok *resumptionToken
	switch {
	case page.Next != "":
		next := lq.tok
		next.After, next.Cursor, next.Expires = page.Next, lq.tok.Cursor+len(page.Records), now.Add(p.cfg.TokenTTL).Unix()
		s, err := p.sign(next)
		if err != nil {
			return fmt.Errorf("resumption token: %w", err)
		}
		tok = &resumptionToken{Value: s, ExpirationDate: time.Unix(next.Expires, 0).UTC().Format(secondsLayout)}
	case lq.tok.After != "":
		tok = &resumptionToken{} // the last page of a list of several
	}
	if tok != nil {
		tok.CompleteListSize = max(page.Total, uint64(lq.tok.Cursor+len(page.Records)))
		tok.Cursor = lq.tok.Cursor
	}
	if args["verb"] == "ListIdentifiers" {
		b := &listIdentifiersBody{Token: tok}
		for i := range page.Records {
			b.Headers = append(b.Headers, p.header(&page.Records[i]))
		}
		env.ListIdentifiers = b
		return nil
	}
	if len(records) == 0 {
		return fail(NoRecordsMatch, "no record of this page can be disseminated as %s", lq.format.prefix)
	}
	env.ListRecords = &listRecordsBody{Token: tok, Records: records}
	return nil
}

// skipPages bounds how many pages in a row without a record that can be
// disseminated a list passes over before it answers with an error.
const skipPages = 50

// listSets answers ListSets: openaire_data, the facility sets and the
// technique sets under their parents, in one response.
func (p *Provider) listSets(ctx context.Context, args map[string]string, env *envelope) error {
	if _, ok := args["resumptionToken"]; ok {
		return fail(BadResumptionToken, "this repository lists its sets in one response and issues no ListSets tokens")
	}
	facilities, err := p.src.Facilities(ctx)
	if err != nil {
		return fmt.Errorf("facilities: %w", err)
	}
	techniques, err := p.src.Techniques(ctx)
	if err != nil {
		return fmt.Errorf("techniques: %w", err)
	}
	b := &listSetsBody{Sets: []set{
		{SetOpenAIRE, "OpenAIRE"},
		{SetFacility, "Datasets by facility"},
	}}
	for _, f := range facilities {
		if f.Value != "" {
			b.Sets = append(b.Sets, set{facilitySet(f.Value), strings.ToUpper(f.Value)})
		}
	}
	b.Sets = append(b.Sets, set{SetTechnique, "Datasets by PaNET technique"})
	for _, t := range techniques {
		spec, ok := techniqueSet(t.Value)
		if !ok {
			continue
		}
		label, err := p.techniqueLabel(ctx, t.Value)
		if err != nil {
			return err
		}
		b.Sets = append(b.Sets, set{spec, label})
	}
	env.ListSets = b
	return nil
}

// techniqueLabel names a technique: Config.TechniqueLabel, else the label
// a catalogue entry tagged with it carries, else its bare id.
func (p *Provider) techniqueLabel(ctx context.Context, iri string) (string, error) {
	if p.cfg.TechniqueLabel != nil {
		if l := p.cfg.TechniqueLabel(iri); l != "" {
			return l, nil
		}
	}
	id := strings.TrimPrefix(iri, panet.Namespace)
	now := p.cfg.Now()
	p.mu.Lock()
	known, ok := p.labels[iri]
	p.mu.Unlock()
	if ok && (known.label != "" || now.Sub(known.at) < labelRetry) {
		return cmp.Or(known.label, id), nil
	}
	page, err := p.src.Search(ctx, readmodel.Query{Technique: iri, Limit: 1})
	if err != nil {
		return "", fmt.Errorf("technique %s: %w", id, err)
	}
	l := ""
	for _, rec := range page.Records {
		for _, t := range rec.Entry.GetDataset().GetTechniques() {
			if t.GetIri() == iri {
				l = t.GetLabel()
			}
		}
	}
	p.mu.Lock()
	if len(p.labels) >= maxLabels {
		clear(p.labels)
	}
	p.labels[iri] = techniqueName{label: l, at: now}
	p.mu.Unlock()
	return cmp.Or(l, id), nil
}

// labelRetry is how long a technique no entry names stays named by its id
// before the catalogue is asked again.
const labelRetry = 10 * time.Minute

// techniqueName is a label found in the catalogue ("" none), and when.
type techniqueName struct {
	label string
	at    time.Time
}
