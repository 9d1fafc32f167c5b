// Package scicat reads SciCat catalogues: a client for the REST API (v3 and
// v4) that lists published datasets and published data page by page, and
// the mapping of a SciCat document to the canonical dataset of the pipeline
// (fairwayv1.Dataset).
//
// ParseDataset accepts the shapes a SciCat dataset document comes in: the
// REST API's (v3 and v4: "pid", ISO 8601 date strings, v4's list fields
// principalInvestigators, instrumentIds, proposalIds and the included
// instruments) and MongoDB extended JSON as in a SciCat seed or dump ("_id",
// {"$date": …} dates). A legacy PublishedData document (doi as "_id"/"doi",
// creator[], title, abstract, publicationYear, pidArray) is read too, so a
// published DOI can be normalised from the same feed.
//
// Client hands every document on exactly as the server sent it (the bytes
// of one element of the JSON array), so that a harvester can store it
// verbatim and hash it: SciCat's dates cannot be trusted to detect changes.
package scicat
