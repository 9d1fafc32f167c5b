package samplefeed

import (
	"strconv"
	"unicode/utf8"
)

// XML namespaces and schema locations of the rendered formats.
const (
	NamespaceDataCite    = "http://datacite.org/schema/kernel-4"
	NamespaceOAIDataCite = "http://schema.datacite.org/oai/oai-1.1/"
	NamespaceOAIDC       = "http://www.openarchives.org/OAI/2.0/oai_dc/"
	NamespaceDC          = "http://purl.org/dc/elements/1.1/"
	NamespaceXSI         = "http://www.w3.org/2001/XMLSchema-instance"

	schemaDataCite    = "http://schema.datacite.org/meta/kernel-4/metadata.xsd"
	schemaOAIDataCite = "http://schema.datacite.org/oai/oai-1.1/oai.xsd"
	schemaOAIDC       = "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"
)

// Access rights and licence of the rendered records.
const (
	RightsOpenAccess      = "info:eu-repo/semantics/openAccess"
	RightsEmbargoedAccess = "info:eu-repo/semantics/embargoedAccess"
	LicenseCCBY4URI       = "https://creativecommons.org/licenses/by/4.0/legalcode"
	LicenseCCBY4SPDX      = "CC-BY-4.0"
)

// DataCiteXML renders the record as a standalone DataCite kernel-4
// <resource> document (the bare "datacite" format); nil for a deleted record.
func (r SampleRecord) DataCiteXML() []byte { return r.AppendDataCiteXML(nil) }

// AppendDataCiteXML appends DataCiteXML to b.
func (r SampleRecord) AppendDataCiteXML(b []byte) []byte {
	if r.Deleted {
		return b
	}
	return r.appendResource(b, true)
}

// OAIDataCiteXML renders the record in the oai_datacite format: the kernel-4
// <resource> inside the oai-1.1 envelope (<oai_datacite> with schemaVersion,
// datacentreSymbol and payload), as DataCite's own OAI-PMH provider does; nil
// for a deleted record.
func (r SampleRecord) OAIDataCiteXML() []byte { return r.AppendOAIDataCiteXML(nil) }

// AppendOAIDataCiteXML appends OAIDataCiteXML to b.
func (r SampleRecord) AppendOAIDataCiteXML(b []byte) []byte {
	if r.Deleted {
		return b
	}
	b = append(b, `<oai_datacite xmlns="`+NamespaceOAIDataCite+`" xmlns:xsi="`+NamespaceXSI+`" xsi:schemaLocation="`+NamespaceOAIDataCite+` `+schemaOAIDataCite+`">`+"\n"+
		`<schemaVersion>4</schemaVersion>`+"\n<datacentreSymbol>"...)
	b = appendEscaped(b, r.Facility.DataCentre)
	b = append(b, "</datacentreSymbol>\n<payload>\n"...)
	b = r.appendResource(b, false)
	return append(b, "\n</payload>\n</oai_datacite>"...)
}

func (r SampleRecord) appendResource(b []byte, declareXSI bool) []byte {
	b = append(b, `<resource xmlns="`+NamespaceDataCite+`"`...)
	if declareXSI {
		b = append(b, ` xmlns:xsi="`+NamespaceXSI+`"`...)
	}
	b = append(b, ` xsi:schemaLocation="`+NamespaceDataCite+` `+schemaDataCite+`">`+"\n"...)
	b = element(b, "", "identifier", r.DOI, "identifierType", "DOI")

	b = append(b, "<creators>\n"...)
	for _, c := range r.Creators {
		b = append(b, "<creator>\n"...)
		b = element(b, "", "creatorName", c.FamilyName+", "+c.GivenName, "nameType", "Personal")
		b = element(b, "", "givenName", c.GivenName)
		b = element(b, "", "familyName", c.FamilyName)
		if c.ORCID != "" {
			b = element(b, "", "nameIdentifier", "https://orcid.org/"+c.ORCID, "nameIdentifierScheme", "ORCID", "schemeURI", "https://orcid.org")
		}
		b = element(b, "", "affiliation", c.Affiliation)
		b = append(b, "</creator>\n"...)
	}
	b = append(b, "</creators>\n"...)

	b = append(b, "<titles>\n"...)
	b = element(b, "", "title", r.Title, "xml:lang", "en")
	b = append(b, "</titles>\n"...)
	b = element(b, "", "publisher", r.Facility.Name)
	b = element(b, "", "publicationYear", strconv.Itoa(r.PublicationYear))
	b = element(b, "", "resourceType", "Experimental data", "resourceTypeGeneral", "Dataset")

	b = append(b, "<subjects>\n"...)
	for _, s := range r.Subjects {
		var attrs []string
		if s.Scheme != "" {
			attrs = append(attrs, "subjectScheme", s.Scheme)
		}
		if s.SchemeURI != "" {
			attrs = append(attrs, "schemeURI", s.SchemeURI)
		}
		if s.ValueURI != "" {
			attrs = append(attrs, "valueURI", s.ValueURI)
		}
		b = element(b, "", "subject", s.Value, attrs...)
	}
	b = append(b, "</subjects>\n"...)

	// DataCite has no e-mail field: the contact's address is a mailto:
	// name identifier, which the reader takes as the contact's e-mail.
	b = append(b, "<contributors>\n<contributor contributorType=\"ContactPerson\">\n"...)
	b = element(b, "", "contributorName", r.Contact.Name, "nameType", "Organizational")
	b = element(b, "", "nameIdentifier", "mailto:"+r.Contact.Email, "nameIdentifierScheme", "mailto")
	b = append(b, "</contributor>\n</contributors>\n"...)

	b = append(b, "<dates>\n"...)
	b = element(b, "", "date", r.Created.Format("2006-01-02"), "dateType", "Created")
	b = element(b, "", "date", r.Created.Format("2006-01-02")+"/"+r.CollectedEnd.Format("2006-01-02"), "dateType", "Collected")
	b = element(b, "", "date", r.Issued.Format("2006-01-02"), "dateType", "Issued")
	if r.Embargoed() {
		b = element(b, "", "date", r.EmbargoEnd.Format("2006-01-02"), "dateType", "Available")
	}
	b = append(b, "</dates>\n"...)
	b = element(b, "", "language", "en")
	b = append(b, "<alternateIdentifiers>\n"...)
	b = element(b, "", "alternateIdentifier", r.ProposalID, "alternateIdentifierType", "Proposal")
	b = append(b, "</alternateIdentifiers>\n"...)

	if r.RelatedPublication != nil {
		b = append(b, "<relatedIdentifiers>\n"...)
		b = element(b, "", "relatedIdentifier", r.RelatedPublication.Identifier,
			"relatedIdentifierType", r.RelatedPublication.IdentifierType,
			"relationType", r.RelatedPublication.RelationType,
			"resourceTypeGeneral", "JournalArticle")
		b = append(b, "</relatedIdentifiers>\n"...)
	}
	b = append(b, "<sizes>\n"...)
	b = element(b, "", "size", r.Size)
	b = append(b, "</sizes>\n<formats>\n"...)
	b = element(b, "", "format", r.Format)
	b = element(b, "", "format", r.MediaType)
	b = append(b, "</formats>\n"...)

	b = append(b, "<rightsList>\n"...)
	if r.Embargoed() {
		b = element(b, "", "rights", "Embargoed access", "rightsURI", RightsEmbargoedAccess)
	} else {
		b = element(b, "", "rights", "Creative Commons Attribution 4.0 International",
			"rightsURI", LicenseCCBY4URI, "rightsIdentifier", LicenseCCBY4SPDX)
	}
	b = append(b, "</rightsList>\n"...)

	b = append(b, "<descriptions>\n"...)
	b = element(b, "", "description", r.Description, "descriptionType", "Abstract")
	b = append(b, "</descriptions>\n"...)
	return append(b, "</resource>"...)
}

// DublinCoreXML renders the record in the oai_dc format; nil for a deleted
// record. Embargoes follow the OpenAIRE convention (an
// info:eu-repo/date/embargoEnd/… date and embargoedAccess rights).
func (r SampleRecord) DublinCoreXML() []byte { return r.AppendDublinCoreXML(nil) }

// AppendDublinCoreXML appends DublinCoreXML to b.
func (r SampleRecord) AppendDublinCoreXML(b []byte) []byte {
	if r.Deleted {
		return b
	}
	const in = "  "
	b = append(b, `<oai_dc:dc xmlns:oai_dc="`+NamespaceOAIDC+`" xmlns:dc="`+NamespaceDC+`" xmlns:xsi="`+NamespaceXSI+`" xsi:schemaLocation="`+NamespaceOAIDC+` `+schemaOAIDC+`">`+"\n"...)
	b = element(b, in, "dc:title", r.Title)
	for _, c := range r.Creators {
		b = element(b, in, "dc:creator", c.FamilyName+", "+c.GivenName)
	}
	for _, s := range r.Subjects {
		v := s.Value
		if s.ValueURI != "" {
			v = s.ValueURI
		}
		b = element(b, in, "dc:subject", v)
	}
	b = element(b, in, "dc:description", r.Description)
	b = element(b, in, "dc:publisher", r.Facility.Name)
	b = element(b, in, "dc:contributor", r.Facility.Name)
	b = element(b, in, "dc:date", r.Issued.Format("2006-01-02"))
	if r.Embargoed() {
		b = element(b, in, "dc:date", "info:eu-repo/date/embargoEnd/"+r.EmbargoEnd.Format("2006-01-02"))
	}
	b = element(b, in, "dc:type", "Dataset")
	b = element(b, in, "dc:format", r.Format)
	b = element(b, in, "dc:format", r.MediaType)
	b = element(b, in, "dc:format", r.Size)
	b = element(b, in, "dc:identifier", "https://doi.org/"+r.DOI)
	if r.RelatedPublication != nil {
		b = element(b, in, "dc:relation", "doi:"+r.RelatedPublication.Identifier)
	}
	b = element(b, in, "dc:language", "en")
	if r.Embargoed() {
		b = element(b, in, "dc:rights", RightsEmbargoedAccess)
	} else {
		b = element(b, in, "dc:rights", RightsOpenAccess)
		b = element(b, in, "dc:rights", LicenseCCBY4URI)
	}
	return append(b, "</oai_dc:dc>"...)
}

// element appends indent<name attr="v"...>text</name>\n with escaping.
func element(b []byte, indent, name, text string, attrs ...string) []byte {
	b = append(b, indent...)
	b = append(b, '<')
	b = append(b, name...)
	for k := 0; k+1 < len(attrs); k += 2 {
		b = append(b, ' ')
		b = append(b, attrs[k]...)
		b = append(b, `="`...)
		b = appendEscaped(b, attrs[k+1])
		b = append(b, '"')
	}
	b = append(b, '>')
	b = appendEscaped(b, text)
	b = append(b, "</"...)
	b = append(b, name...)
	return append(b, ">\n"...)
}

// appendEscaped appends s escaped for XML text and attribute values; characters
// that XML 1.0 does not allow (and invalid UTF-8) become U+FFFD.
func appendEscaped(b []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x80 && c != '&' && c != '<' && c != '>' && c != '"' && c != '\'' {
			i++
			continue
		}
		var rep string
		size := 1
		switch {
		case c == '&':
			rep = "&amp;"
		case c == '<':
			rep = "&lt;"
		case c == '>':
			rep = "&gt;"
		case c == '"':
			rep = "&#34;"
		case c == '\'':
			rep = "&#39;"
		case c == '\t':
			rep = "&#x9;"
		case c == '\n':
			rep = "&#xA;"
		case c == '\r':
			rep = "&#xD;"
		case c < 0x20:
			rep = "\uFFFD"
		default:
			var r rune
			r, size = utf8.DecodeRuneInString(s[i:])
			if (r == utf8.RuneError && size == 1) || r == 0xFFFE || r == 0xFFFF {
				rep = "\uFFFD"
			} else {
				i += size
				continue
			}
		}
		b = append(b, s[last:i]...)
		b = append(b, rep...)
		i += size
		last = i
	}
	return append(b, s[last:]...)
}
