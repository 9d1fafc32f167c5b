// Package dublincore reads OAI-PMH oai_dc records (simple Dublin Core) and
// maps them to the canonical dataset of the pipeline (fairwayv1.Dataset).
//
// Elements are matched by local name only, so the dc: prefix, a wrong
// namespace or none at all make no difference. The common dcterms
// refinements found in oai_dc payloads (abstract, issued, modified,
// available, license, accessRights, …) are read as their Dublin Core
// element.
package dublincore

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/panosc/fairway/pkg/xmltree"
)

var (
	// ErrMalformed is wrapped by every error of Parse.
	ErrMalformed = errors.New("dublincore: malformed metadata")
	// ErrNotDublinCore is wrapped (together with ErrMalformed) when the
	// payload is XML whose root is not an oai_dc <dc> element (or a
	// <metadata> wrapper holding one).
	ErrNotDublinCore = fmt.Errorf("%w: not oai_dc", ErrMalformed)
)

// Record is an oai_dc record: the values of each element in document order,
// trimmed with white space collapsed (descriptions keep their paragraphs),
// empty ones dropped.
type Record struct {
	// Titles holds dc:title and dcterms:alternative (Type
	// "AlternativeTitle"), Descriptions dc:description, dcterms:abstract
	// (Type "Abstract") and dcterms:tableOfContents (Type
	// "TableOfContents"), each with its xml:lang.
	Titles       []Text
	Creators     []string
	Subjects     []string
	Descriptions []Text
	Publishers   []string
	Contributors []string
	Dates        []Date
	Types        []string
	Formats      []string
	Identifiers  []string
	Sources      []string
	Languages    []string
	// Relations holds dc:relation and the dcterms relation refinements.
	Relations []Relation
	// Coverages holds dc:coverage, Spatial dcterms:spatial and Temporal
	// dcterms:temporal.
	Coverages []string
	Spatial   []string
	Temporal  []string
	// Rights holds dc:rights, dcterms:license and dcterms:accessRights.
	Rights []string
}

// Text is a title or description with its language (xml:lang as given,
// "" when absent) and its kind as a DataCite titleType or descriptionType
// ("" for a plain dc:title or dc:description).
type Text struct {
	Value string
	Lang  string
	Type  string
}

// Relation is a dc:relation, or a dcterms refinement of it with its name
// as Element ("references", "isPartOf", …; "" for dc:relation).
type Relation struct {
	Value   string
	Element string
}

// textTypes maps the dcterms refinements of title and description to
// DataCite title and description types.
var textTypes = map[string]string{
	"alternative":     "AlternativeTitle",
	"abstract":        "Abstract",
	"tableofcontents": "TableOfContents",
}

// Date is a dc:date value. Type is the kind of date when the record says
// it — a "Label: value" prefix as DataCite's OAI provider writes it
// ("Issued: 2018-01-18") or a dcterms refinement (issued → Issued,
// modified → Updated, available → Available, …) — else "".
type Date struct {
	Value string
	Type  string
}

// dateRefinements maps dcterms date refinements to DataCite date types.
var dateRefinements = map[string]string{
	"issued":          "Issued",
	"created":         "Created",
	"modified":        "Updated",
	"available":       "Available",
	"dateaccepted":    "Accepted",
	"datesubmitted":   "Submitted",
	"datecopyrighted": "Copyrighted",
	"valid":           "Valid",
}

// relationRefinements maps the dcterms refinements of dc:relation, lower
// case, to the DataCite relationType that says the same.
var relationRefinements = map[string]string{
	"references":     "References",
	"isreferencedby": "IsReferencedBy",
	"ispartof":       "IsPartOf",
	"haspart":        "HasPart",
	"isversionof":    "IsVersionOf",
	"hasversion":     "HasVersion",
	"requires":       "Requires",
	"isrequiredby":   "IsRequiredBy",
	"replaces":       "Obsoletes",
	"isreplacedby":   "IsObsoletedBy",
	"isformatof":     "IsVariantFormOf",
	"hasformat":      "IsOriginalFormOf",
}

// dateLabel matches a "Label: value" date as DataCite's oai_dc writes it.
var dateLabel = regexp.MustCompile(`^(Accepted|Available|Copyrighted|Collected|Created|Issued|Submitted|Updated|Valid|Withdrawn|Other)\s*:\s*(.+)$`)

// Parse reads an oai_dc record: the <oai_dc:dc> element (any prefix or
// namespace), or a <metadata> wrapper holding it. Errors wrap ErrMalformed,
// and ErrNotDublinCore when the root element is something else.
func Parse(payload []byte) (*Record, error) {
	root, err := xmltree.Parse(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	dc := root
	if root.Is("metadata") || root.Is("record") {
		dc = root.Child("dc")
	}
	if !dc.Is("dc") && !dc.Is("qualifieddc") {
		return nil, fmt.Errorf("%w: root element <%s>", ErrNotDublinCore, root.Name)
	}
	r := &Record{}
	for _, el := range dc.Elements() {
		name := strings.ToLower(el.Name)
		var v string
		if name == "description" || name == "abstract" || name == "tableofcontents" {
			v = el.Block()
		} else {
			v = el.Text()
		}
		if v == "" {
			continue
		}
		if _, ok := relationRefinements[name]; ok {
			r.Relations = append(r.Relations, Relation{Value: v, Element: el.Name})
			continue
		}
		if typ, ok := dateRefinements[name]; ok {
			r.Dates = append(r.Dates, Date{Value: v, Type: typ})
			continue
		}
		switch name {
		case "title", "alternative":
			r.Titles = append(r.Titles, Text{Value: v, Lang: el.Attr("lang"), Type: textTypes[name]})
		case "creator":
			r.Creators = append(r.Creators, v)
		case "subject":
			r.Subjects = append(r.Subjects, v)
		case "description", "abstract", "tableofcontents":
			r.Descriptions = append(r.Descriptions, Text{Value: v, Lang: el.Attr("lang"), Type: textTypes[name]})
		case "publisher":
			r.Publishers = append(r.Publishers, v)
		case "contributor":
			r.Contributors = append(r.Contributors, v)
		case "date":
			d := Date{Value: v}
			if m := dateLabel.FindStringSubmatch(v); m != nil {
				d = Date{Value: strings.TrimSpace(m[2]), Type: m[1]}
			}
			r.Dates = append(r.Dates, d)
		case "type":
			r.Types = append(r.Types, v)
		case "format":
			r.Formats = append(r.Formats, v)
		case "identifier":
			r.Identifiers = append(r.Identifiers, v)
		case "source":
			r.Sources = append(r.Sources, v)
		case "language":
			r.Languages = append(r.Languages, v)
		case "relation":
			r.Relations = append(r.Relations, Relation{Value: v})
		case "coverage":
			r.Coverages = append(r.Coverages, v)
		case "spatial":
			r.Spatial = append(r.Spatial, v)
		case "temporal":
			r.Temporal = append(r.Temporal, v)
		case "rights", "license", "accessrights":
			r.Rights = append(r.Rights, v)
		}
	}
	return r, nil
}
