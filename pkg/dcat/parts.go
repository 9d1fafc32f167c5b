package dcat

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/knakk/rdf"

	"github.com/panosc/fairway/pkg/metadata"
	"github.com/panosc/fairway/proto/fairwayv1"
)

// publisher adds the dataset's dct:publisher and returns its name: the
// source's publisher, else the facility. The agent is the ROR IRI the
// source gives (publisher_ror); else, when the source names no other
// publisher than the facility (its feeds' name for it, or its full name in
// Options.Facilities), the facility's agent IRI (its ROR in
// Options.Facilities, else <BaseURL>/catalogue/<facility>#publisher);
// else a blank node: a publisher named otherwise may not be the facility,
// and one IRI must not collect the names of several agents.
func (g *graph) publisher(d *fairwayv1.Dataset, o Options) string {
	name := firstText(d.GetPublisher(), d.GetFacility())
	nameLit, ok := literal(name)
	if !ok {
		return ""
	}
	var p node
	ror, isROR := metadata.RORIRI(d.GetPublisherRor())
	if strings.TrimSpace(d.GetPublisherRor()) != "" && !isROR {
		g.drop(FieldPublisherROR, d.GetPublisherRor())
	}
	if i, ok := g.fromFeed(FieldPublisherROR, d.GetPublisherRor(), ror); isROR && ok {
		p = i
	} else if i, ok := dataIRI(facilityAgentIRI(d.GetFacility(), o)); ok &&
		(strings.EqualFold(name, cleanText(d.GetFacility())) || strings.EqualFold(name, facilityName(d.GetFacility(), o))) {
		p = i
	} else {
		p = g.blank("publisher")
	}
	g.add(dctPublisher, p)
	g.organisation(p, nameLit)
	return name
}

// organisation describes an agent that is an organisation: foaf:Agent,
// foaf:Organization, foaf:name.
func (g *graph) organisation(p node, name rdf.Literal) {
	g.node(p, rdfType, foafAgent)
	g.node(p, rdfType, foafOrganization)
	g.node(p, foafName, name)
}

// contacts adds a dcat:contactPoint per contact the source names (a
// vcard:Kind with vcard:fn, and vcard:hasEmail <mailto:…> when the address
// is valid); without any, one vcard:Organization named after the publisher,
// with the landing page as vcard:hasURL.
func (g *graph) contacts(d *fairwayv1.Dataset, publisher string, landing rdf.IRI, hasLanding bool) {
	n := 0
	seen := map[string]bool{}
	for _, c := range d.GetContacts() {
		if n == maxContacts {
			break
		}
		addr, hasAddr := metadata.NormaliseEmail(validUTF8(c.GetEmail()))
		mail, hasMail := mailtoIRI(addr)
		name, hasName := literal(firstText(c.GetName(), addr))
		if !hasName || (!hasAddr && c.GetName() == "") {
			continue
		}
		k := strings.ToLower(name.String() + "\x00" + addr)
		if seen[k] {
			continue
		}
		seen[k] = true
		cp := g.blank("contact")
		g.add(dcatContactPoint, cp)
		g.node(cp, rdfType, vcardKind)
		g.node(cp, vcardFn, name)
		if hasAddr && hasMail {
			g.node(cp, vcardHasEmail, mail)
		}
		n++
	}
	if n > 0 {
		return
	}
	name, ok := literal(publisher)
	if !ok {
		return
	}
	cp := g.blank("contact")
	g.add(dcatContactPoint, cp)
	g.node(cp, rdfType, vcardKind)
	g.node(cp, rdfType, vcardOrganization)
	g.node(cp, vcardFn, name)
	if hasLanding {
		g.node(cp, vcardHasURL, landing)
	}
}

// mailtoIRI returns the mailto: IRI of a valid address, every character
// but letters, digits and ".@_+-" percent-encoded.
func mailtoIRI(addr string) (rdf.IRI, bool) {
	if addr == "" {
		return rdf.IRI{}, false
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.WriteString("mailto:")
	for i := 0; i < len(addr); i++ {
		c := addr[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.IndexByte(".@_+-", c) >= 0:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	i, err := rdf.NewIRI(b.String())
	return i, err == nil
}

// temporal adds the collection period as a dct:PeriodOfTime with
// dcat:startDate and dcat:endDate. An end before the start is left out.
func (g *graph) temporal(d *fairwayv1.Dataset) {
	start, hasStart := dateLiteral(d.GetCollectedStart())
	end, hasEnd := dateLiteral(d.GetCollectedEnd())
	if hasStart && hasEnd && d.GetCollectedEnd().AsTime().Before(d.GetCollectedStart().AsTime()) {
		hasEnd = false
	}
	if !hasStart && !hasEnd {
		return
	}
	p := g.blank("period")
	g.add(dctTemporal, p)
	g.node(p, rdfType, dctPeriodOfTime)
	if hasStart {
		g.node(p, dcatStartDate, start)
	}
	if hasEnd {
		g.node(p, dcatEndDate, end)
	}
}

// activity adds the experiment the data comes from, when the source names
// its instrument, proposal or samples: prov:wasGeneratedBy a prov:Activity
// labelled with facility, instrument and proposal, that prov:used the
// instrument's PID and the samples (see samples); the proposal is the
// activity's dct:identifier. The instrument PID
// is also a dct:relation of the dataset, for consumers that read DCAT-AP's
// core properties only.
func (g *graph) activity(d *fairwayv1.Dataset) {
	instrument := cleanText(d.GetInstrument())
	proposal := cleanText(d.GetProposalId())
	pid, hasPID := g.fromFeed(FieldInstrumentPID, d.GetInstrumentPid(), instrumentIRI(d.GetInstrumentPid()))
	if instrument == "" && proposal == "" && !hasPID && len(d.GetSamples()) == 0 {
		return
	}
	var parts []string
	if f := cleanText(d.GetFacility()); f != "" {
		parts = append(parts, "at "+f)
	}
	switch {
	case instrument != "":
		parts = append(parts, "with instrument "+instrument)
	case hasPID:
		parts = append(parts, "with instrument "+pid.String())
	}
	if proposal != "" {
		parts = append(parts, "under proposal "+proposal)
	}
	a := g.blank("activity")
	g.add(provWasGeneratedBy, a)
	g.node(a, rdfType, provActivity)
	label := "Data collection"
	if len(parts) > 0 {
		label += " " + strings.Join(parts, ", ")
	}
	g.node(a, rdfsLabel, mustLiteral(label))
	if proposal != "" {
		g.node(a, dctIdentifier, mustLiteral(proposal))
	}
	if hasPID {
		g.node(a, provUsed, pid)
		g.add(dctRelation, pid)
	}
	g.samples(a, d)
}

// instrumentIRI resolves an instrument PID: a DOI or handle to its
// resolver, an IRI as it is; anything else is not a PID ("").
func instrumentIRI(pid string) string {
	p := strings.TrimSpace(pid)
	if p == "" {
		return ""
	}
	if doi, ok := metadata.LooseDOI(p); ok {
		return DOIIRI(doi)
	}
	if looksLikeIRI(p) {
		return p
	}
	return ""
}

// distributions adds a dcat:Distribution per distribution the source
// describes, or one whose access URL is the landing page (else the DOI,
// else the dataset IRI) when it describes none. Each carries the licence.
func (g *graph) distributions(d *fairwayv1.Dataset, doi string, landing rdf.IRI, hasLanding bool) {
	fallback := rdf.IRI(g.subject)
	switch {
	case hasLanding:
		fallback = landing
	case doi != "":
		if i, ok := dataIRI(DOIIRI(doi)); ok {
			fallback = i
		}
	}
	lic := g.licence(d)
	n := 0
	for _, x := range d.GetDistributions() {
		if n == maxDistributions {
			break
		}
		download, hasDownload := g.fromFeed(FieldDistributionURL, x.GetDownloadUrl(), x.GetDownloadUrl())
		access, hasAccess := g.fromFeed(FieldDistributionURL, x.GetAccessUrl(), x.GetAccessUrl())
		switch {
		case hasAccess:
		case hasDownload:
			access = download
		default:
			access = fallback
		}
		dist := g.blank("distribution")
		g.add(dcatDistribProp, dist)
		g.node(dist, rdfType, dcatDistribution)
		g.node(dist, dcatAccessURL, access)
		if hasDownload {
			g.node(dist, dcatDownloadURL, download)
		}
		if l, ok := literal(x.GetTitle()); ok {
			g.node(dist, dctTitle, l)
		}
		if s := x.GetByteSize(); s > 0 {
			g.node(dist, dcatByteSize, rdf.NewTypedLiteral(strconv.FormatInt(s, 10), xsdNonNegInt))
		}
		if lic != nil {
			g.node(dist, dctLicense, lic)
		}
		g.format(dist, x) // last: it describes the format's nodes after the distribution's
		n++
	}
	if n > 0 {
		return
	}
	dist := g.blank("distribution")
	g.add(dcatDistribProp, dist)
	g.node(dist, rdfType, dcatDistribution)
	g.node(dist, dcatAccessURL, fallback)
	if lic != nil {
		g.node(dist, dctLicense, lic)
	}
}

// maxDistributions and maxContacts bound the distributions and contact
// points rendered per dataset.
const (
	maxDistributions = 64
	maxContacts      = 16
)

// licence returns the licence node of the distributions (an IRI, or a
// blank dct:LicenseDocument labelled with the licence's text), described
// once; nil when the dataset has none that can be published. A licence
// with an SPDX id (Dataset.license_spdx) is its canonical IRI
// (metadata.SPDXLicenseIRI) with the id as dct:identifier, whatever IRI
// or name the source wrote.
func (g *graph) licence(d *fairwayv1.Dataset) node {
	lic := strings.TrimSpace(validUTF8(d.GetLicense()))
	if lic == "" {
		return nil
	}
	if iri, ok := metadata.SPDXLicenseIRI(d.GetLicenseSpdx()); ok {
		// The licence the normaliser recognised, at its canonical IRI,
		// with its SPDX id.
		i, _ := dataIRI(iri)
		if g.once(i) {
			g.node(i, rdfType, dctLicenseDoc)
			g.node(i, dctIdentifier, mustLiteral(d.GetLicenseSpdx()))
		}
		return i
	}
	if iri, ok := LicenseIRI(lic); ok {
		if i, ok := dataIRI(iri); ok {
			if g.once(i) {
				g.node(i, rdfType, dctLicenseDoc)
			}
			return i
		}
	}
	if looksLikeIRI(lic) {
		g.drop(FieldLicense, d.GetLicense())
		return nil
	}
	l, ok := literal(lic)
	if !ok {
		return nil
	}
	b := g.blank("licence")
	g.node(b, rdfType, dctLicenseDoc)
	g.node(b, rdfsLabel, l)
	return b
}

// format adds a distribution's dct:format (an EU file-type IRI, when the
// format or media type maps to one) and dcat:mediaType (an IANA IRI, when
// the media type, given or implied by the format, is of the registered
// trees: not x-). A format that maps to neither is kept as the
// distribution's dct:description "Format: …".
func (g *graph) format(dist node, x *fairwayv1.Distribution) {
	format := cleanText(x.GetFormat())
	media, hasMedia := metadata.MediaType(x.GetMediaType())
	ft, hasFT := fileTypes[strings.ToLower(format)]
	if !hasFT && hasMedia {
		ft, hasFT = fileTypes[media]
	}
	if !hasMedia && hasFT && ft.media != "" {
		media, hasMedia = ft.media, true
	}
	if !hasMedia {
		if m, ok := metadata.MediaType(format); ok {
			media, hasMedia = m, true
		}
	}
	var typed []rdf.Triple
	if hasFT {
		i := vocab(FileTypeAuthority+"/", ft.code)
		g.node(dist, dctFormat, i)
		typed = append(typed, rdf.Triple{Subj: i, Pred: rdfType, Obj: dctMediaTypeOrExt})
	}
	registered := hasMedia && !strings.Contains(media, "/x-")
	if registered {
		if i, err := rdf.NewIRI(MediaTypes + media); err == nil {
			g.node(dist, dcatMediaType, i)
			typed = append(typed, rdf.Triple{Subj: i, Pred: rdfType, Obj: dctMediaTypeC})
		}
	}
	if !hasFT && !registered {
		desc := format
		if hasMedia && !strings.EqualFold(format, media) {
			desc = strings.TrimSpace(desc + " (" + media + ")")
		}
		if l, ok := literal(desc); ok {
			g.node(dist, dctDescription, mustLiteral("Format: "+l.String()))
		}
	}
	g.nodes = append(g.nodes, typed...)
}

// fileType is a code of the EU file-type table and the media type it
// implies ("" when none is registered).
type fileType struct{ code, media string }

// fileTypes maps format names, file extensions and media types (lower
// case) to the EU file-type table. HDF5 and NeXus (an HDF5 layout) are its
// HDF; formats without a code there (CBF, EDF) are not mapped.
var fileTypes = func() map[string]fileType {
	m := map[string]fileType{}
	for _, row := range []struct {
		ft    fileType
		names []string
	}{
		{fileType{"CSV", "text/csv"}, []string{"csv", "text/csv"}},
		{fileType{"TSV", "text/tab-separated-values"}, []string{"tsv", "text/tab-separated-values"}},
		{fileType{"JSON", "application/json"}, []string{"json", "application/json"}},
		{fileType{"XML", "application/xml"}, []string{"xml", "application/xml", "text/xml"}},
		{fileType{"ZIP", "application/zip"}, []string{"zip", "application/zip"}},
		{fileType{"TAR", ""}, []string{"tar", "application/x-tar"}},
		{fileType{"GZIP", "application/gzip"}, []string{"gzip", "gz", "application/gzip"}},
		{fileType{"PDF", "application/pdf"}, []string{"pdf", "application/pdf"}},
		{fileType{"TXT", "text/plain"}, []string{"txt", "text", "text/plain"}},
		{fileType{"TIFF", "image/tiff"}, []string{"tiff", "tif", "image/tiff"}},
		{fileType{"PNG", "image/png"}, []string{"png", "image/png"}},
		{fileType{"JPEG", "image/jpeg"}, []string{"jpeg", "jpg", "image/jpeg"}},
		{fileType{"HTML", "text/html"}, []string{"html", "text/html"}},
		{fileType{"NETCDF", ""}, []string{"netcdf", "nc", "application/x-netcdf"}},
		{fileType{"BIN", "application/octet-stream"}, []string{"bin", "binary", "application/octet-stream"}},
		{fileType{"HDF", ""}, []string{"hdf", "hdf5", "h5", "nexus", "nxs", "nexus/hdf5", "nexus (hdf5)", "application/x-hdf", "application/x-hdf5"}},
		{fileType{"TAR_GZ", ""}, []string{"tar.gz", "tgz"}},
		{fileType{"BZIP2", ""}, []string{"bzip2", "bz2"}},
		{fileType{"XZ", ""}, []string{"xz", "application/x-xz"}},
		{fileType{"7Z", ""}, []string{"7z", "application/x-7z-compressed"}},
		{fileType{"YAML", "application/yaml"}, []string{"yaml", "yml", "application/yaml"}},
	} {
		for _, n := range row.names {
			m[n] = row.ft
		}
	}
	return m
}()

// record adds the dataset's dcat:CatalogRecord: foaf:primaryTopic the
// dataset, dct:modified (see recordModified), dct:conformsTo DCAT-AP 3.0.1.
func (g *graph) record(e *fairwayv1.EnrichedDataset, o Options) error {
	iri, err := recordIRI(e.GetDataset(), o)
	if err != nil {
		return err
	}
	r, ok := dataIRI(iri)
	if !ok {
		return fmt.Errorf("dcat: record IRI %q is not an IRI", iri)
	}
	g.node(r, rdfType, dcatCatalogRec)
	g.node(r, foafPrimaryTopic, g.subj)
	g.node(r, dctModified, recordModified(e, o))
	ap := vocab(DCATAP301, "")
	g.node(r, dctConformsTo, ap)
	g.node(ap, rdfType, dctStandard)
	g.node(ap, dctTitle, mustLiteral("DCAT-AP 3.0.1"))
	return nil
}

// recordModified is when the node last changed the dataset's description:
// when it was enriched (a new harvest, a replay, a new PaNET version) or,
// when later and already past, the end of its embargo (the publisher lifts
// it then); without an enrichment time, the dataset's own modified or
// issued date, else the rendering time.
func recordModified(e *fairwayv1.EnrichedDataset, o Options) rdf.Literal {
	var t time.Time
	d := e.GetDataset()
	switch {
	case e.GetEnrichedAt().IsValid() && e.GetEnrichedAt().AsTime().Year() > 1:
		t = e.GetEnrichedAt().AsTime()
	case d.GetModified().IsValid() && d.GetModified().AsTime().Year() > 1:
		t = d.GetModified().AsTime()
	case d.GetIssued().IsValid() && d.GetIssued().AsTime().Year() > 1:
		t = d.GetIssued().AsTime()
	default:
		t = o.Now()
	}
	if u := d.GetEmbargoUntil(); u.IsValid() && u.AsTime().After(t) && !o.Now().Before(u.AsTime()) {
		t = u.AsTime()
	}
	t = t.UTC().Truncate(time.Second)
	if t.Year() < 1 || t.Year() > 9999 {
		t = time.Unix(0, 0).UTC()
	}
	return rdf.NewTypedLiteral(t.Format(time.RFC3339), xsdDateTime)
}

// identifiers adds every identifier of the dataset other than its DOI (the
// DOI is rendered already) as an adms:Identifier with its notation and its
// scheme as the rdfs:label; a value given twice, in any letter case, is
// given once.
func (g *graph) identifiers(d *fairwayv1.Dataset, doi string) {
	seen := map[string]bool{strings.ToLower(doi): true}
	for _, i := range d.GetIdentifiers() {
		v := cleanText(validUTF8(i.GetValue()))
		if v == "" || seen[strings.ToLower(v)] {
			continue
		}
		seen[strings.ToLower(v)] = true
		id := g.blank("id")
		g.add(admsIdentifier, id)
		g.node(id, rdfType, admsIdentifierC)
		g.node(id, skosNotation, mustLiteral(v))
		if scheme := cleanText(validUTF8(i.GetScheme())); scheme != "" {
			g.node(id, rdfsLabel, mustLiteral(scheme))
		}
	}
}
