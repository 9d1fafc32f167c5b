// Package metadata reads the values of metadata records into the canonical
// form of the pipeline's dataset (fairwayv1.Dataset): one copy of each rule,
// shared by the readers (datacite, dublincore, scicatjson), the DCAT
// renderer, the quality score and the OAI-PMH client.
//
// It holds identifiers (NormaliseDOI, LooseDOI, FindDOI, the ORCID iD
// functions, ClassifyIdentifier, DatasetKey), dates (ParseDate,
// ParseISODate), access rights (AccessStatement, EmbargoEnd, DecideAccess),
// licences (KnownLicense), personal names (SplitPersonalName), resource
// types (ResourceTypeGeneral) and fields spelt several ways (FirstNonBlank). It reads strings only: no XML, JSON or network.
package metadata
