package mcpserver

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/panosc/fairway/pkg/panet"
	"github.com/panosc/fairway/pkg/search"
)

// TechniquesInput is the input of list_techniques.
type TechniquesInput struct {
	Root             string `json:"root,omitempty" jsonschema:"a PaNET technique (name, synonym, acronym, IRI or id): list it and its narrower techniques only"`
	MaxDepth         int    `json:"max_depth,omitempty" jsonschema:"list the techniques at most this many levels below the roots (0: every level)"`
	OnlyWithDatasets bool   `json:"only_with_datasets,omitempty" jsonschema:"list only the techniques that have datasets in this node"`
}

// TechniquesQuery echoes the query list_techniques ran.
type TechniquesQuery struct {
	// Root resolved, nil for the whole tree.
	Root             *search.Technique `json:"root,omitempty"`
	MaxDepth         int               `json:"max_depth"`
	OnlyWithDatasets bool              `json:"only_with_datasets"`
}

// TechniquesOutput is the structured answer of list_techniques.
type TechniquesOutput struct {
	Query TechniquesQuery `json:"query"`
	// Release is the version of the node's PaNET release.
	Release string `json:"panet_release"`
	// Total counts the techniques listed, and TotalDatasets the node's
	// live datasets.
	Total         int    `json:"total"`
	TotalDatasets uint64 `json:"total_datasets"`
	// Techniques in the order of the tree (depth first, each once, under
	// the first of its broader techniques listed; its other broader ones
	// are in Broader).
	Techniques []TechniqueNode `json:"techniques"`
}

// TechniqueNode is one PaNET technique of the tree.
type TechniqueNode struct {
	ID    string `json:"id"`
	IRI   string `json:"iri"`
	Label string `json:"label"`
	// Acronyms and synonyms of the release.
	Acronyms []string `json:"acronyms,omitempty"`
	Synonyms []string `json:"synonyms,omitempty"`
	// Depth below the roots listed (0 for a root).
	Depth int `json:"depth"`
	// Broader and Narrower are the ids of the direct broader and narrower
	// techniques.
	Broader  []string `json:"broader"`
	Narrower []string `json:"narrower"`
	// Datasets counts the node's live datasets tagged with the technique
	// or a narrower one.
	Datasets uint64 `json:"datasets"`
}

// techniques returns the node's PaNET release, or an error saying there is
// none yet.
func (h *handlers) techniques() (*search.Terms, *panet.Ontology, error) {
	if h.cfg.Techniques == nil {
		return nil, nil, errors.New("this node's MCP server has no PaNET release")
	}
	terms := h.cfg.Techniques.Terms()
	o := terms.Ontology()
	if o == nil {
		return nil, nil, errors.New("the node has not loaded its PaNET release yet: try again shortly")
	}
	return terms, o, nil
}

// counts returns the live datasets per technique IRI and the live
// datasets of the node.
func (h *handlers) counts(ctx context.Context) (map[string]uint64, uint64, error) {
	ts, err := h.cfg.Catalogue.Techniques(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("the catalogue cannot be read now: %w", err)
	}
	fs, err := h.cfg.Catalogue.Facilities(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("the catalogue cannot be read now: %w", err)
	}
	byIRI := make(map[string]uint64, len(ts))
	for _, c := range ts {
		byIRI[c.Value] = c.Count
	}
	var total uint64
	for _, f := range fs {
		total += f.Count
	}
	return byIRI, total, nil
}

func (h *handlers) listTechniques(ctx context.Context, _ *mcp.CallToolRequest, in TechniquesInput) (*mcp.CallToolResult, TechniquesOutput, error) {
	switch {
	case in.MaxDepth < 0:
		return nil, TechniquesOutput{}, fmt.Errorf("max_depth %d: want 0 or more", in.MaxDepth)
	case len(in.Root) > search.MaxValue:
		return nil, TechniquesOutput{}, fmt.Errorf("root of %d bytes: at most %d", len(in.Root), search.MaxValue)
	}
	terms, o, err := h.techniques()
	if err != nil {
		return nil, TechniquesOutput{}, err
	}
	byIRI, total, err := h.counts(ctx)
	if err != nil {
		return nil, TechniquesOutput{}, err
	}
	out := TechniquesOutput{
		Query:   TechniquesQuery{MaxDepth: in.MaxDepth, OnlyWithDatasets: in.OnlyWithDatasets},
		Release: o.Version(), TotalDatasets: total, Techniques: []TechniqueNode{},
	}
	// The technique classes, their narrower ones by id (sorted by label).
	narrower := map[string][]*panet.Class{}
	var roots []*panet.Class
	for _, c := range o.Classes() {
		if c.Specifier {
			continue
		}
		parents := 0
		for _, p := range c.Parents {
			if pc, ok := o.Class(p); ok && !pc.Specifier {
				narrower[p] = append(narrower[p], c)
				parents++
			}
		}
		if parents == 0 {
			roots = append(roots, c)
		}
	}
	byLabel := func(a, b *panet.Class) int { return cmp.Or(cmp.Compare(a.Label, b.Label), cmp.Compare(a.ID, b.ID)) }
	for _, cs := range narrower {
		slices.SortFunc(cs, byLabel)
	}
	slices.SortFunc(roots, byLabel)
	if in.Root != "" {
		t, err := terms.Resolve(in.Root)
		if err != nil {
			return nil, TechniquesOutput{}, err
		}
		c, ok := o.Class(t.ID)
		if !ok || c.Specifier {
			return nil, TechniquesOutput{}, fmt.Errorf("root %.80q: not a technique of the release", in.Root)
		}
		out.Query.Root = &t
		roots = []*panet.Class{c}
	}
	seen := map[string]bool{}
	var walk func(c *panet.Class, depth int)
	walk = func(c *panet.Class, depth int) {
		if seen[c.ID] {
			return
		}
		seen[c.ID] = true
		n := byIRI[c.IRI]
		if n == 0 && in.OnlyWithDatasets {
			// Its narrower techniques have none either.
			return
		}
		node := TechniqueNode{ID: c.ID, IRI: c.IRI, Label: c.Label, Depth: depth, Datasets: n,
			Acronyms: c.Acronyms, Broader: []string{}, Narrower: []string{}}
		for _, s := range c.AltLabels {
			if !slices.Contains(c.Acronyms, s) {
				node.Synonyms = append(node.Synonyms, s)
			}
		}
		for _, p := range c.Parents {
			if pc, ok := o.Class(p); ok && !pc.Specifier {
				node.Broader = append(node.Broader, p)
			}
		}
		for _, k := range narrower[c.ID] {
			node.Narrower = append(node.Narrower, k.ID)
		}
		out.Techniques = append(out.Techniques, node)
		if in.MaxDepth > 0 && depth >= in.MaxDepth {
			return
		}
		for _, k := range narrower[c.ID] {
			walk(k, depth+1)
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
	out.Total = len(out.Techniques)
	return nil, out, nil
}

// Inventory is the node's inventory resource.
type Inventory struct {
	// TotalDatasets counts the node's live datasets; TotalFacilities and
	// TotalTechniques the entries below.
	TotalDatasets   uint64 `json:"total_datasets"`
	TotalFacilities int    `json:"total_facilities"`
	TotalTechniques int    `json:"total_techniques"`
	// Release is the node's PaNET release ("" before one is loaded).
	Release string `json:"panet_release,omitempty"`
	// Facilities with live datasets, by name.
	Facilities []FacilityCount `json:"facilities"`
	// Techniques with live datasets (their narrower techniques' included),
	// the most first.
	Techniques []TechniqueCount `json:"techniques"`
}

// FacilityCount is a facility and its live datasets.
type FacilityCount struct {
	Facility string `json:"facility"`
	Datasets uint64 `json:"datasets"`
}

// TechniqueCount is a technique and its live datasets.
type TechniqueCount struct {
	IRI      string `json:"iri"`
	ID       string `json:"id,omitempty"`
	Label    string `json:"label,omitempty"`
	Datasets uint64 `json:"datasets"`
}

// inventory returns the node's inventory.
func (h *handlers) inventory(ctx context.Context) (Inventory, error) {
	fs, err := h.cfg.Catalogue.Facilities(ctx)
	if err != nil {
		return Inventory{}, fmt.Errorf("the catalogue cannot be read now: %w", err)
	}
	ts, err := h.cfg.Catalogue.Techniques(ctx)
	if err != nil {
		return Inventory{}, fmt.Errorf("the catalogue cannot be read now: %w", err)
	}
	inv := Inventory{Facilities: []FacilityCount{}, Techniques: []TechniqueCount{}}
	for _, f := range fs {
		inv.Facilities = append(inv.Facilities, FacilityCount{Facility: f.Value, Datasets: f.Count})
		inv.TotalDatasets += f.Count
	}
	var o *panet.Ontology
	if h.cfg.Techniques != nil {
		o = h.cfg.Techniques.Terms().Ontology()
	}
	if o != nil {
		inv.Release = o.Version()
	}
	for _, t := range ts {
		tc := TechniqueCount{IRI: t.Value, Datasets: t.Count}
		if o != nil {
			if c, ok := o.Class(t.Value); ok {
				tc.ID, tc.Label = c.ID, c.Label
			}
		}
		inv.Techniques = append(inv.Techniques, tc)
	}
	slices.SortStableFunc(inv.Techniques, func(a, b TechniqueCount) int { return cmp.Compare(b.Datasets, a.Datasets) })
	inv.TotalFacilities, inv.TotalTechniques = len(inv.Facilities), len(inv.Techniques)
	return inv, nil
}

func (h *handlers) readInventory(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	inv, err := h.inventory(ctx)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(inv)
	if err != nil {
		return nil, err
	}
	return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: InventoryURI, MIMEType: "application/json", Text: string(b)}}}, nil
}
