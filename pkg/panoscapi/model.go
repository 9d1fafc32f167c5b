package panoscapi

import (
	"strings"

	"github.com/panosc/fairway/pkg/readmodel"
	"github.com/panosc/fairway/pkg/search"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Relations of each kind of object (every object of a kind has them all,
// empty or not, so that an include of an unknown one is an error).
var (
	datasetRels  = []string{"techniques", "instrument", "documents", "files", "parameters", "samples"}
	documentRels = []string{"datasets", "members", "parameters"}
	memberRels   = []string{"person", "affiliation"}
)

func newObject(props map[string]any, rels []string, single ...string) *object {
	o := &object{props: props, rels: make(map[string][]*object, len(rels))}
	for _, r := range rels {
		o.rels[r] = nil
	}
	if len(single) > 0 {
		o.single = map[string]bool{}
		for _, s := range single {
			o.single[s] = true
		}
	}
	return o
}

// pidOf is a dataset's pid: its DOI, else its key.
func pidOf(r readmodel.Record) string {
	if r.DOI != "" {
		return r.DOI
	}
	return r.Key
}

// isPublic reads access rights: open unless they say restricted,
// embargoed, closed or non-public.
func isPublic(ds *fairwayv1.Dataset) bool {
	a := strings.ToUpper(ds.GetAccessRights())
	for _, closed := range []string{"RESTRICTED", "EMBARGO", "CLOSED", "NON_PUBLIC", "NON-PUBLIC", "PRIVATE"} {
		if strings.Contains(a, closed) {
			return false
		}
	}
	return true
}

func firstTime(ts ...*timestamppb.Timestamp) any {
	for _, t := range ts {
		if t != nil && t.GetSeconds() != 0 {
			return t.AsTime().UTC()
		}
	}
	return nil
}

// instrumentObject is the Instrument of a dataset, nil without one: its
// pid is the instrument's PID, else facility/name.
func instrumentObject(ds *fairwayv1.Dataset, facility string) *object {
	name := strings.TrimSpace(ds.GetInstrument())
	pid := strings.TrimSpace(ds.GetInstrumentPid())
	if name == "" && pid == "" {
		return nil
	}
	if pid == "" {
		pid = strings.ToLower(facility) + "/" + strings.ToLower(name)
	}
	if name == "" {
		name = pid
	}
	return newObject(map[string]any{"pid": pid, "name": name, "facility": strings.ToUpper(facility), "score": 0.0}, nil)
}

// mapper turns read-model records into objects of the data model.
type mapper struct {
	// maxScore normalises relevance scores to [0, 1] (0: no query).
	maxScore float64
}

func (m *mapper) score(r readmodel.Record) float64 {
	if m.maxScore <= 0 {
		return 0
	}
	return min(r.Score/m.maxScore, 1)
}

// dataset maps r to a Dataset with its relations: techniques (PaNET, with
// their broader ones to match against), the instrument, the document (the
// dataset's own DOI), files (distributions), samples, and no parameters
// (the catalogue holds none).
func (m *mapper) dataset(r readmodel.Record) *object {
	ds := r.Entry.GetDataset().GetDataset()
	props := map[string]any{
		"pid":          pidOf(r),
		"title":        ds.GetTitle(),
		"isPublic":     isPublic(ds),
		"creationDate": firstTime(ds.GetCreated(), ds.GetIssued(), ds.GetAvailable(), timestamppb.New(r.Datestamp)),
		"score":        m.score(r),
	}
	o := newObject(props, datasetRels, "instrument")
	if in := instrumentObject(ds, r.Facility); in != nil {
		o.rels["instrument"] = []*object{in}
		props["instrumentId"] = in.props["pid"]
	}
	seen := map[string]bool{}
	var matching []*object
	for _, t := range r.Entry.GetDataset().GetTechniques() {
		if t.GetIri() == "" || seen[t.GetIri()] {
			continue
		}
		seen[t.GetIri()] = true
		o.rels["techniques"] = append(o.rels["techniques"], newObject(map[string]any{"pid": t.GetIri(), "name": t.GetLabel()}, nil))
	}
	matching = append(matching, o.rels["techniques"]...)
	for _, iri := range r.Techniques {
		if !seen[iri] {
			seen[iri] = true
			b := newObject(map[string]any{"pid": iri}, nil)
			b.hidden = true
			matching = append(matching, b)
		}
	}
	o.matching = map[string][]*object{"techniques": matching}
	for i, d := range ds.GetDistributions() {
		name := d.GetTitle()
		if name == "" {
			name = d.GetDownloadUrl()
		}
		if name == "" {
			name = d.GetAccessUrl()
		}
		f := newObject(map[string]any{"id": pidOf(r) + "#file" + itoa(i+1), "name": name, "path": d.GetDownloadUrl(), "datasetId": pidOf(r)}, nil)
		o.rels["files"] = append(o.rels["files"], f)
	}
	for i, s := range ds.GetSamples() {
		id := s.GetId()
		if id == "" {
			id = pidOf(r) + "#sample" + itoa(i+1)
		}
		o.rels["samples"] = append(o.rels["samples"], newObject(map[string]any{"pid": id, "name": s.GetName()}, nil))
	}
	return o
}

// object maps r to the object of kind k: its dataset or its document,
// each related to the other.
func (m *mapper) object(r readmodel.Record, k kind) *object {
	o := m.dataset(r)
	doc := m.document(r, o)
	o.rels["documents"] = []*object{doc}
	if k == kindDocument {
		return doc
	}
	return o
}

// document maps r to a Document of type "proposal" when the record names
// its proposal and "dataset" otherwise, whose pid and DOI are the
// dataset's; its members are the creators; its one dataset is ds (shared,
// so that an include of documents from a dataset and of datasets from a
// document meet).
func (m *mapper) document(r readmodel.Record, ds *object) *object {
	d := r.Entry.GetDataset().GetDataset()
	kind := "dataset"
	if d.GetProposalId() != "" {
		kind = "proposal"
	}
	var keywords []any
	for _, s := range d.GetSubjects() {
		if v := strings.TrimSpace(s.GetValue()); v != "" && len(keywords) < 100 {
			keywords = append(keywords, v)
		}
	}
	props := map[string]any{
		"pid":         pidOf(r),
		"isPublic":    isPublic(d),
		"type":        kind,
		"title":       d.GetTitle(),
		"summary":     d.GetDescription(),
		"doi":         nilIfEmpty(r.DOI),
		"startDate":   firstTime(d.GetCollectedStart()),
		"endDate":     firstTime(d.GetCollectedEnd()),
		"releaseDate": firstTime(d.GetAvailable(), d.GetIssued()),
		"license":     nilIfEmpty(readmodel.LicenceOf(d)),
		"score":       m.score(r),
	}
	if keywords != nil {
		props["keywords"] = keywords
	}
	if d.GetProposalId() != "" {
		props["proposalId"] = d.GetProposalId()
	}
	o := newObject(props, documentRels)
	o.rels["datasets"] = []*object{ds}
	for i, p := range d.GetCreators() {
		o.rels["members"] = append(o.rels["members"], member(pidOf(r), i, p, "creator"))
	}
	if pi := d.GetPrincipalInvestigator(); pi != nil && pi.GetName() != "" {
		o.rels["members"] = append(o.rels["members"], member(pidOf(r), len(d.GetCreators()), pi, "principal investigator"))
	}
	return o
}

func member(doc string, i int, p *fairwayv1.Person, role string) *object {
	if p.GetRole() != "" {
		role = p.GetRole()
	}
	mo := newObject(map[string]any{"id": doc + "#member" + itoa(i+1), "role": role, "documentId": doc}, memberRels, "person", "affiliation")
	name := p.GetName()
	if name == "" {
		name = strings.TrimSpace(p.GetGivenName() + " " + p.GetFamilyName())
	}
	pid := p.GetOrcid()
	if pid == "" {
		pid = doc + "#person" + itoa(i+1)
	}
	mo.rels["person"] = []*object{newObject(map[string]any{"id": pid, "fullName": name, "orcid": nilIfEmpty(p.GetOrcid()),
		"firstName": nilIfEmpty(p.GetGivenName()), "lastName": nilIfEmpty(p.GetFamilyName())}, nil)}
	if a := p.GetAffiliation(); a != "" {
		mo.rels["affiliation"] = []*object{newObject(map[string]any{"id": nilIfEmpty(p.GetAffiliationRor()), "name": a}, nil)}
	}
	return mo
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

// expandTechniques rewrites, in the scopes of f's techniques includes
// (at any depth), each eq or inq condition on a technique's pid or name
// that names a PaNET technique into a condition on its IRI: matched
// against a dataset's techniques and their broader ones, it takes in the
// narrower techniques.
func expandTechniques(f *Filter, t *search.Terms) {
	if f == nil {
		return
	}
	for i := range f.Include {
		in := &f.Include[i]
		if in.Scope == nil {
			continue
		}
		if in.Relation == "techniques" {
			expandWhere(in.Scope.Where, t)
		}
		expandTechniques(in.Scope, t)
	}
}

func expandWhere(w *Where, t *search.Terms) {
	if w == nil {
		return
	}
	for _, c := range append(w.And, w.Or...) {
		expandWhere(c, t)
	}
	if w.Field != "pid" && w.Field != "name" {
		return
	}
	resolve := func(v any) (any, bool) {
		s, ok := v.(string)
		if !ok {
			return v, false
		}
		tech, err := t.Resolve(s)
		if err != nil {
			return v, false
		}
		return tech.IRI, true
	}
	switch w.Op {
	case "eq":
		if iri, ok := resolve(w.Value); ok {
			w.Field, w.Value = "pid", iri
		}
	case "inq":
		list := w.Value.([]any)
		out := make([]any, len(list))
		all := true
		for i, v := range list {
			var ok bool
			out[i], ok = resolve(v)
			all = all && ok
		}
		if all {
			w.Field, w.Value = "pid", out
		}
	}
}
