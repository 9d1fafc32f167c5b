// Package scicat is a client for SciCat catalogues' REST API (v3 and v4): it
// lists published datasets and published data page by page, and reads a
// document's identifier and published state (DocumentID, Published).
//
// Client hands every document on exactly as the server sent it (the bytes
// of one element of the JSON array), so that a harvester can store it
// verbatim and hash it: SciCat's dates cannot be trusted to detect changes.
// Package scicatjson maps such a document to the canonical dataset.
package scicat
