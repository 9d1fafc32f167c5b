// Package samplefeed is a built-in sample facility: an OAI-PMH 2.0 repository
// serving a generated corpus of photon and neutron datasets. It drives the
// demo mode and the benchmarks, and gives tests a realistic feed to harvest.
//
// A [Corpus] generates record i from (Seed, i) on demand, so corpora of any
// size cost no memory: DataCite DOIs under the test prefix 10.5072, titles and
// abstracts built from a technique, a sample and an instrument, creators with
// valid ORCID iDs, real PaNET technique ids and labels given in three ways
// (PaNET subject with a valueURI, bare id, free-text label or acronym), about
// 20% of records under embargo, related publications, and every 17th record
// deleted by default. Datestamps increase with i, so from/until harvesting
// works.
//
// Records render as DataCite kernel-4 ([SampleRecord.DataCiteXML]), in the
// oai_datacite envelope ([SampleRecord.OAIDataCiteXML]) and as oai_dc
// ([SampleRecord.DublinCoreXML]). A [Server] serves a corpus over OAI-PMH and
// [Start] runs it on a local port.
package samplefeed
