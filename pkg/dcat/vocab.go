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
	nsDQV    = "http://www.w3.org/ns/dqv#"
	nsOA     = "http://www.w3.org/ns/oa#"
	nsEUAuth = "http://publications.europa.eu/resource/authority/"
	nsIANA   = "https://www.iana.org/assignments/media-types/"
	nsGSP    = "http://www.opengis.net/ont/geosparql#"
	nsFRAPO  = "http://purl.org/cerif/frapo/"
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
	nsDQV:   "dqv",
	nsOA:    "oa",
	nsGSP:   "gsp",
	nsFRAPO: "frapo",
}

// Namespaces returns prefix → namespace IRI of every vocabulary the output
// uses, for Turtle prefix declarations and a JSON-LD context: dcat, dct,
// foaf, vcard, adms, xsd, skos, rdf, rdfs, prov, dqv, oa, gsp and frapo,
// and hydra (the paging
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

// The vocabulary terms are kept as interface values, boxed once: every
// triple holds its terms as interfaces, and boxing a term anew for each
// triple was most of the renderer's allocations.
var (
	rdfType rdf.Predicate = vocab(nsRDF, "type")

	dcatCatalog      node          = vocab(nsDCAT, "Catalog")
	dcatDataset      node          = vocab(nsDCAT, "Dataset")
	dcatDistribution node          = vocab(nsDCAT, "Distribution")
	dcatDatasetProp  rdf.Predicate = vocab(nsDCAT, "dataset")
	dcatDistribProp  rdf.Predicate = vocab(nsDCAT, "distribution")
	dcatAccessURL    rdf.Predicate = vocab(nsDCAT, "accessURL")
	dcatKeyword      rdf.Predicate = vocab(nsDCAT, "keyword")
	dcatTheme        rdf.Predicate = vocab(nsDCAT, "theme")
	dcatThemeTaxon   rdf.Predicate = vocab(nsDCAT, "themeTaxonomy")
	dcatLandingPage  rdf.Predicate = vocab(nsDCAT, "landingPage")
	dcatContactPoint rdf.Predicate = vocab(nsDCAT, "contactPoint")
	dcatCatalogRec   node          = vocab(nsDCAT, "CatalogRecord")
	dcatResource     node          = vocab(nsDCAT, "Resource")
	dcatRecord       rdf.Predicate = vocab(nsDCAT, "record")
	dcatDownloadURL  rdf.Predicate = vocab(nsDCAT, "downloadURL")
	dcatMediaType    rdf.Predicate = vocab(nsDCAT, "mediaType")
	dcatByteSize     rdf.Predicate = vocab(nsDCAT, "byteSize")
	dcatStartDate    rdf.Predicate = vocab(nsDCAT, "startDate")
	dcatEndDate      rdf.Predicate = vocab(nsDCAT, "endDate")

	dctTitle          rdf.Predicate = vocab(nsDCT, "title")
	dctDescription    rdf.Predicate = vocab(nsDCT, "description")
	dctIdentifier     rdf.Predicate = vocab(nsDCT, "identifier")
	dctIssued         rdf.Predicate = vocab(nsDCT, "issued")
	dctModified       rdf.Predicate = vocab(nsDCT, "modified")
	dctAvailable      rdf.Predicate = vocab(nsDCT, "available")
	dctPublisher      rdf.Predicate = vocab(nsDCT, "publisher")
	dctCreator        rdf.Predicate = vocab(nsDCT, "creator")
	dctSubject        rdf.Predicate = vocab(nsDCT, "subject")
	dctAccessRights   rdf.Predicate = vocab(nsDCT, "accessRights")
	dctLicense        rdf.Predicate = vocab(nsDCT, "license")
	dctLanguage       rdf.Predicate = vocab(nsDCT, "language")
	dctRelation       rdf.Predicate = vocab(nsDCT, "relation")
	dctIsReferencedBy rdf.Predicate = vocab(nsDCT, "isReferencedBy")
	dctReferences     rdf.Predicate = vocab(nsDCT, "references")
	dctIsPartOf       rdf.Predicate = vocab(nsDCT, "isPartOf")
	dctHasPart        rdf.Predicate = vocab(nsDCT, "hasPart")
	dctIsVersionOf    rdf.Predicate = vocab(nsDCT, "isVersionOf")
	dctProvenance     rdf.Predicate = vocab(nsDCT, "provenance")
	dctLicenseDoc     node          = vocab(nsDCT, "LicenseDocument")
	dctRightsStmt     node          = vocab(nsDCT, "RightsStatement")
	dctLinguisticSys  node          = vocab(nsDCT, "LinguisticSystem")
	dctProvenanceStmt node          = vocab(nsDCT, "ProvenanceStatement")
	dctConformsTo     rdf.Predicate = vocab(nsDCT, "conformsTo")
	dctStandard       node          = vocab(nsDCT, "Standard")
	dctTemporal       rdf.Predicate = vocab(nsDCT, "temporal")
	dctPeriodOfTime   node          = vocab(nsDCT, "PeriodOfTime")
	dctFormat         rdf.Predicate = vocab(nsDCT, "format")
	dctMediaTypeC     node          = vocab(nsDCT, "MediaType")
	dctMediaTypeOrExt node          = vocab(nsDCT, "MediaTypeOrExtent")

	foafAgent        node          = vocab(nsFOAF, "Agent")
	foafPerson       node          = vocab(nsFOAF, "Person")
	foafOrganization node          = vocab(nsFOAF, "Organization")
	foafDocument     node          = vocab(nsFOAF, "Document")
	foafName         rdf.Predicate = vocab(nsFOAF, "name")
	foafGivenName    rdf.Predicate = vocab(nsFOAF, "givenName")
	foafFamilyName   rdf.Predicate = vocab(nsFOAF, "familyName")
	foafHomepage     rdf.Predicate = vocab(nsFOAF, "homepage")
	foafPrimaryTopic rdf.Predicate = vocab(nsFOAF, "primaryTopic")

	vcardKind         node          = vocab(nsVCARD, "Kind")
	vcardOrganization node          = vocab(nsVCARD, "Organization")
	vcardFn           rdf.Predicate = vocab(nsVCARD, "fn")
	vcardHasURL       rdf.Predicate = vocab(nsVCARD, "hasURL")
	vcardHasEmail     rdf.Predicate = vocab(nsVCARD, "hasEmail")
	vcardIndividual   node          = vocab(nsVCARD, "Individual")

	provWasGeneratedBy rdf.Predicate = vocab(nsPROV, "wasGeneratedBy")
	provActivity       node          = vocab(nsPROV, "Activity")
	provUsed           rdf.Predicate = vocab(nsPROV, "used")

	admsIdentifier   rdf.Predicate = vocab(nsADMS, "identifier")
	admsIdentifierC  node          = vocab(nsADMS, "Identifier")
	admsSchemaAgency rdf.Predicate = vocab(nsADMS, "schemaAgency")
	dcatVersion      rdf.Predicate = vocab(nsDCAT, "version")

	skosConcept       node          = vocab(nsSKOS, "Concept")
	skosConceptScheme node          = vocab(nsSKOS, "ConceptScheme")
	skosPrefLabel     rdf.Predicate = vocab(nsSKOS, "prefLabel")
	skosInScheme      rdf.Predicate = vocab(nsSKOS, "inScheme")
	skosNotation      rdf.Predicate = vocab(nsSKOS, "notation")
	skosDefinition    rdf.Predicate = vocab(nsSKOS, "definition")

	dctDateAccepted    rdf.Predicate = vocab(nsDCT, "dateAccepted")
	dctDateSubmitted   rdf.Predicate = vocab(nsDCT, "dateSubmitted")
	dctDateCopyrighted rdf.Predicate = vocab(nsDCT, "dateCopyrighted")
	dctValid           rdf.Predicate = vocab(nsDCT, "valid")
	dctCreated         rdf.Predicate = vocab(nsDCT, "created")
	dctSpatial         rdf.Predicate = vocab(nsDCT, "spatial")
	dctLocation        node          = vocab(nsDCT, "Location")
	dcatBbox           rdf.Predicate = vocab(nsDCAT, "bbox")
	dcatCentroid       rdf.Predicate = vocab(nsDCAT, "centroid")
	gspWKTLiteral                    = vocab(nsGSP, "wktLiteral")

	provQualifiedAttribution rdf.Predicate = vocab(nsPROV, "qualifiedAttribution")
	provAttribution          node          = vocab(nsPROV, "Attribution")
	provAgent                rdf.Predicate = vocab(nsPROV, "agent")
	provEntity               node          = vocab(nsPROV, "Entity")
	dcatHadRole              rdf.Predicate = vocab(nsDCAT, "hadRole")
	// rolePrincipalInvestigator is the INSPIRE responsible-party role
	// GeoDCAT-AP gives dcat:hadRole.
	rolePrincipalInvestigator node = vocab("http://inspire.ec.europa.eu/metadata-codelist/ResponsiblePartyRole/", "principalInvestigator")

	frapoIsFundedBy     rdf.Predicate = vocab(nsFRAPO, "isFundedBy")
	frapoGrant          node          = vocab(nsFRAPO, "Grant")
	frapoHasGrantNumber rdf.Predicate = vocab(nsFRAPO, "hasGrantNumber")
	frapoIsAwardedBy    rdf.Predicate = vocab(nsFRAPO, "isAwardedBy")
	frapoFundingAgency  node          = vocab(nsFRAPO, "FundingAgency")

	rdfsLabel rdf.Predicate = vocab(nsRDFS, "label")
	rdfValue  rdf.Predicate = vocab(nsRDF, "value")

	dqvHasQualityMeasurement rdf.Predicate = vocab(nsDQV, "hasQualityMeasurement")
	dqvQualityMeasurement    node          = vocab(nsDQV, "QualityMeasurement")
	dqvIsMeasurementOf       rdf.Predicate = vocab(nsDQV, "isMeasurementOf")
	dqvValue                 rdf.Predicate = vocab(nsDQV, "value")
	dqvHasQualityAnnotation  rdf.Predicate = vocab(nsDQV, "hasQualityAnnotation")
	dqvQualityAnnotation     node          = vocab(nsDQV, "QualityAnnotation")
	dqvQualityAssessment     node          = vocab(nsDQV, "qualityAssessment")
	dqvMetric                node          = vocab(nsDQV, "Metric")
	dqvDimension             node          = vocab(nsDQV, "Dimension")
	dqvInDimension           rdf.Predicate = vocab(nsDQV, "inDimension")
	dqvExpectedDataType      rdf.Predicate = vocab(nsDQV, "expectedDataType")
	oaHasBody                rdf.Predicate = vocab(nsOA, "hasBody")
	oaHasTarget              rdf.Predicate = vocab(nsOA, "hasTarget")
	oaMotivatedBy            rdf.Predicate = vocab(nsOA, "motivatedBy")
	oaTextualBody            node          = vocab(nsOA, "TextualBody")

	xsdDate            = vocab(nsXSD, "date")
	xsdDateTime        = vocab(nsXSD, "dateTime")
	xsdGYear           = vocab(nsXSD, "gYear")
	xsdNonNegInt       = vocab(nsXSD, "nonNegativeInteger")
	xsdDecimal         = vocab(nsXSD, "decimal")
	accessRightCS node = vocab(AccessRightAuthority, "")
	languageCS    node = vocab(LanguageAuthority, "")
	dataThemeCS   node = vocab(DataThemeAuthority, "")
	panetCS       node = vocab(PaNETScheme, "")
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
