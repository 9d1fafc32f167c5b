package dcat

import (
	"github.com/knakk/rdf"
)

// Vocabulary namespaces. Only these are declared as Turtle prefixes: knakk's
// encoder does not escape local names, so a generated or data-derived
// prefix would produce Turtle that its own parser rejects for IRIs holding
// "?", "&", parentheses or a trailing dot. Every other IRI is written in
// full between angle brackets.
const (
	nsDCAT   = "http://www.w3.org/ns/dcat#"
	nsDCT    = "http://purl.org/dc/terms/"
	nsFOAF   = "http://xmlns.com/foaf/0.1/"
	nsVCARD  = "http://www.w3.org/2006/vcard/ns#"
	nsADMS   = "http://www.w3.org/ns/adms#"
	nsXSD    = "http://www.w3.org/2001/XMLSchema#"
	nsSKOS   = "http://www.w3.org/2004/02/skos/core#"
	nsRDF    = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
	nsRDFS   = "http://www.w3.org/2000/01/rdf-schema#"
	nsPROV   = "http://www.w3.org/ns/prov#"
	nsHydra  = "http://www.w3.org/ns/hydra/core#"
	nsEUAuth = "http://publications.europa.eu/resource/authority/"
	nsIANA   = "https://www.iana.org/assignments/media-types/"
)

// prefixes maps each declared namespace to its prefix.
var prefixes = map[string]string{
	nsDCAT:  "dcat",
	nsDCT:   "dct",
	nsFOAF:  "foaf",
	nsVCARD: "vcard",
	nsADMS:  "adms",
	nsXSD:   "xsd",
	nsSKOS:  "skos",
	nsRDFS:  "rdfs",
	nsPROV:  "prov",
}

// Namespaces returns prefix → namespace IRI of every vocabulary the output
// uses, for Turtle prefix declarations and a JSON-LD context: dcat, dct,
// foaf, vcard, adms, xsd, skos, rdf, rdfs and prov, and hydra (the paging
// vocabulary of the node's catalogue pages). The map is a new copy each
// call.
func Namespaces() map[string]string {
	m := make(map[string]string, len(prefixes)+2)
	for ns, p := range prefixes {
		m[p] = ns
	}
	m["rdf"] = nsRDF
	m["hydra"] = nsHydra
	return m
}

// EU authority tables (the controlled vocabularies DCAT-AP asks for).
const (
	// AccessRightAuthority is the EU access-right table.
	AccessRightAuthority = nsEUAuth + "access-right"
	// LanguageAuthority is the EU language table.
	LanguageAuthority = nsEUAuth + "language"
	// DataThemeAuthority is the EU data-theme table.
	DataThemeAuthority = nsEUAuth + "data-theme"
	// AccessPublic, AccessNonPublic and AccessRestricted are the access-right
	// concepts the renderer uses.
	AccessPublic     = AccessRightAuthority + "/PUBLIC"
	AccessNonPublic  = AccessRightAuthority + "/NON_PUBLIC"
	AccessRestricted = AccessRightAuthority + "/RESTRICTED"
	// FileTypeAuthority is the EU file-type table, the vocabulary of
	// dct:format.
	FileTypeAuthority = nsEUAuth + "file-type"
	// MediaTypes is the namespace of IANA media type IRIs, the vocabulary
	// of dcat:mediaType.
	MediaTypes = nsIANA
	// DCATAP301 is the IRI of the DCAT-AP 3.0.1 release, the dct:Standard
	// a catalogue record conforms to (the IRI the official SHACL shapes of
	// the release are members of).
	DCATAP301 = "https://semiceu.github.io/DCAT-AP/releases/3.0.1"
	// PaNETScheme is the concept scheme of the PaNET technique themes.
	PaNETScheme = "http://purl.org/pan-science/PaNET/PaNET.owl"
)

// vocab returns a vocabulary IRI; the inputs are constants of this package,
// so the error of rdf.NewIRI cannot occur.
func vocab(ns, local string) rdf.IRI {
	i, err := rdf.NewIRI(ns + local)
	if err != nil {
		panic("dcat: invalid vocabulary IRI " + ns + local)
	}
	return i
}

var (
	rdfType = vocab(nsRDF, "type")

	dcatCatalog      = vocab(nsDCAT, "Catalog")
	dcatDataset      = vocab(nsDCAT, "Dataset")
	dcatDistribution = vocab(nsDCAT, "Distribution")
	dcatDatasetProp  = vocab(nsDCAT, "dataset")
	dcatDistribProp  = vocab(nsDCAT, "distribution")
	dcatAccessURL    = vocab(nsDCAT, "accessURL")
	dcatKeyword      = vocab(nsDCAT, "keyword")
	dcatTheme        = vocab(nsDCAT, "theme")
	dcatThemeTaxon   = vocab(nsDCAT, "themeTaxonomy")
	dcatLandingPage  = vocab(nsDCAT, "landingPage")
	dcatContactPoint = vocab(nsDCAT, "contactPoint")
	dcatCatalogRec   = vocab(nsDCAT, "CatalogRecord")
	dcatResource     = vocab(nsDCAT, "Resource")
	dcatRecord       = vocab(nsDCAT, "record")
	dcatDownloadURL  = vocab(nsDCAT, "downloadURL")
	dcatMediaType    = vocab(nsDCAT, "mediaType")
	dcatByteSize     = vocab(nsDCAT, "byteSize")
	dcatStartDate    = vocab(nsDCAT, "startDate")
	dcatEndDate      = vocab(nsDCAT, "endDate")

	dctTitle          = vocab(nsDCT, "title")
	dctDescription    = vocab(nsDCT, "description")
	dctIdentifier     = vocab(nsDCT, "identifier")
	dctIssued         = vocab(nsDCT, "issued")
	dctModified       = vocab(nsDCT, "modified")
	dctAvailable      = vocab(nsDCT, "available")
	dctPublisher      = vocab(nsDCT, "publisher")
	dctCreator        = vocab(nsDCT, "creator")
	dctSubject        = vocab(nsDCT, "subject")
	dctAccessRights   = vocab(nsDCT, "accessRights")
	dctLicense        = vocab(nsDCT, "license")
	dctLanguage       = vocab(nsDCT, "language")
	dctRelation       = vocab(nsDCT, "relation")
	dctIsReferencedBy = vocab(nsDCT, "isReferencedBy")
	dctReferences     = vocab(nsDCT, "references")
	dctIsPartOf       = vocab(nsDCT, "isPartOf")
	dctHasPart        = vocab(nsDCT, "hasPart")
	dctIsVersionOf    = vocab(nsDCT, "isVersionOf")
	dctProvenance     = vocab(nsDCT, "provenance")
	dctLicenseDoc     = vocab(nsDCT, "LicenseDocument")
	dctRightsStmt     = vocab(nsDCT, "RightsStatement")
	dctLinguisticSys  = vocab(nsDCT, "LinguisticSystem")
	dctProvenanceStmt = vocab(nsDCT, "ProvenanceStatement")
	dctConformsTo     = vocab(nsDCT, "conformsTo")
	dctStandard       = vocab(nsDCT, "Standard")
	dctTemporal       = vocab(nsDCT, "temporal")
	dctPeriodOfTime   = vocab(nsDCT, "PeriodOfTime")
	dctFormat         = vocab(nsDCT, "format")
	dctMediaTypeC     = vocab(nsDCT, "MediaType")
	dctMediaTypeOrExt = vocab(nsDCT, "MediaTypeOrExtent")

	foafAgent        = vocab(nsFOAF, "Agent")
	foafPerson       = vocab(nsFOAF, "Person")
	foafOrganization = vocab(nsFOAF, "Organization")
	foafDocument     = vocab(nsFOAF, "Document")
	foafName         = vocab(nsFOAF, "name")
	foafGivenName    = vocab(nsFOAF, "givenName")
	foafFamilyName   = vocab(nsFOAF, "familyName")
	foafHomepage     = vocab(nsFOAF, "homepage")
	foafPrimaryTopic = vocab(nsFOAF, "primaryTopic")

	vcardKind         = vocab(nsVCARD, "Kind")
	vcardOrganization = vocab(nsVCARD, "Organization")
	vcardFn           = vocab(nsVCARD, "fn")
	vcardHasURL       = vocab(nsVCARD, "hasURL")
	vcardHasEmail     = vocab(nsVCARD, "hasEmail")
	vcardIndividual   = vocab(nsVCARD, "Individual")

	provWasGeneratedBy = vocab(nsPROV, "wasGeneratedBy")
	provActivity       = vocab(nsPROV, "Activity")
	provUsed           = vocab(nsPROV, "used")

	admsIdentifier   = vocab(nsADMS, "identifier")
	admsIdentifierC  = vocab(nsADMS, "Identifier")
	admsSchemaAgency = vocab(nsADMS, "schemaAgency")

	skosConcept       = vocab(nsSKOS, "Concept")
	skosConceptScheme = vocab(nsSKOS, "ConceptScheme")
	skosPrefLabel     = vocab(nsSKOS, "prefLabel")
	skosInScheme      = vocab(nsSKOS, "inScheme")
	skosNotation      = vocab(nsSKOS, "notation")

	rdfsLabel = vocab(nsRDFS, "label")

	xsdDate       = vocab(nsXSD, "date")
	xsdDateTime   = vocab(nsXSD, "dateTime")
	xsdGYear      = vocab(nsXSD, "gYear")
	xsdNonNegInt  = vocab(nsXSD, "nonNegativeInteger")
	accessRightCS = vocab(AccessRightAuthority, "")
	languageCS    = vocab(LanguageAuthority, "")
	dataThemeCS   = vocab(DataThemeAuthority, "")
	panetCS       = vocab(PaNETScheme, "")
)

// dataThemes are the codes of the EU data-theme table with their English
// labels.
var dataThemes = map[string]string{
	"AGRI":      "Agriculture, fisheries, forestry and food",
	"ECON":      "Economy and finance",
	"EDUC":      "Education, culture and sport",
	"ENER":      "Energy",
	"ENVI":      "Environment",
	"GOVE":      "Government and public sector",
	"HEAL":      "Health",
	"INTR":      "International issues",
	"JUST":      "Justice, legal system and public safety",
	"OP_DATPRO": "Provisional data",
	"REGI":      "Regions and cities",
	"SOCI":      "Population and society",
	"TECH":      "Science and technology",
	"TRAN":      "Transport",
}
