// Package samplefeed is the sample facility of the demo and the tests: an
// OAI-PMH 2.0 repository serving a generated corpus of photon and neutron
// datasets. The node's demo mode (node.Config.Demo) starts it and registers
// it as a feed; the tests and the benchmarks harvest it as a realistic feed.
// It is a production package only because the demo needs it.
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
