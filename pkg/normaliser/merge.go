package normaliser

import (
	"bytes"
	"cmp"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// Source kinds, by metadata format, in the merge's two fixed orders.
const (
	kindDataCite = iota
	kindDublinCore
	kindOther
	kindSciCat
)

func kindOf(format string) int {
	f := strings.ToLower(strings.TrimSpace(format))
	switch {
	case strings.Contains(f, "datacite"):
		return kindDataCite
	case f == FormatOAIDC:
		return kindDublinCore
	case f == FormatSciCat:
		return kindSciCat
	}
	return kindOther
}

// bibliographicRank orders sources for bibliographic fields: DataCite, then
// Dublin Core, then any other format, then SciCat.
func bibliographicRank(format string) int { return kindOf(format) }

// scientificRank orders sources for scientific metadata: SciCat, then
// DataCite, then Dublin Core, then any other format.
func scientificRank(format string) int {
	switch kindOf(format) {
	case kindSciCat:
		return 0
	case kindDataCite:
		return 1
	case kindDublinCore:
		return 2
	}
	return 3
}

// ordered returns versions sorted by rank of their format, then feed id,
// then source identifier: a fixed order, whatever the arrival order.
// Versions of one source (which the stage never keeps together) are ordered
// by content hash, then by their encoding, so that even they do not depend
// on the arrival order.
func ordered(versions []*fairwayv1.Dataset, rank func(string) int) []*fairwayv1.Dataset {
	out := slices.Clone(versions)
	slices.SortStableFunc(out, func(a, b *fairwayv1.Dataset) int {
		if c := cmp.Or(
			cmp.Compare(rank(a.GetMetadataFormat()), rank(b.GetMetadataFormat())),
			cmp.Compare(a.GetFeedId(), b.GetFeedId()),
			cmp.Compare(a.GetSourceIdentifier(), b.GetSourceIdentifier()),
			cmp.Compare(a.GetContentHash(), b.GetContentHash()),
		); c != 0 {
			return c
		}
		return bytes.Compare(encoding(a), encoding(b))
	})
	return out
}

// encoding is v's deterministic encoding (nil when it cannot be encoded).
func encoding(v *fairwayv1.Dataset) []byte {
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(v)
	return b
}

// firstString returns the first non-blank value of field in order.
func firstString(order []*fairwayv1.Dataset, field func(*fairwayv1.Dataset) string) string {
	for _, d := range order {
		if v := field(d); strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

// firstList returns a copy of the first non-empty list of field in order.
func firstList[T proto.Message](order []*fairwayv1.Dataset, field func(*fairwayv1.Dataset) []T) []T {
	for _, d := range order {
		if l := field(d); len(l) > 0 {
			out := make([]T, len(l))
			for i, v := range l {
				out[i] = proto.CloneOf(v)
			}
			return out
		}
	}
	return nil
}

// firstTime returns a copy of the first set time of field in order.
func firstTime(order []*fairwayv1.Dataset, field func(*fairwayv1.Dataset) *timestamppb.Timestamp) *timestamppb.Timestamp {
	for _, d := range order {
		if t := field(d); t != nil {
			return proto.CloneOf(t)
		}
	}
	return nil
}

// latestTime returns a copy of the latest set time of field.
func latestTime(order []*fairwayv1.Dataset, field func(*fairwayv1.Dataset) *timestamppb.Timestamp) *timestamppb.Timestamp {
	var best *timestamppb.Timestamp
	for _, d := range order {
		t := field(d)
		if t != nil && (best == nil || t.AsTime().After(best.AsTime())) {
			best = t
		}
	}
	if best == nil {
		return nil
	}
	return proto.CloneOf(best)
}

// restriction orders access rights from the most open; an unknown value
// ranks below "open" and never wins over a known one.
var restriction = map[string]int{"open": 1, "embargoed": 2, "restricted": 3, "closed": 4}

// union returns every element of field over order, first occurrence kept,
// without the elements whose identity (id) was seen before.
func union[T proto.Message](order []*fairwayv1.Dataset, field func(*fairwayv1.Dataset) []T, id func(T) string) []T {
	seen := map[string]bool{}
	var out []T
	for _, d := range order {
		for _, v := range field(d) {
			k := id(v)
			if seen[k] {
				continue
			}
			seen[k] = true
			out = append(out, proto.CloneOf(v))
		}
	}
	return out
}

func fold(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func subjectID(s *fairwayv1.Subject) string {
	if u := strings.TrimSpace(s.GetValueUri()); u != "" {
		return "uri\x00" + u
	}
	return fold(s.GetValue()) + "\x00" + fold(s.GetScheme())
}

func identifierID(i *fairwayv1.Identifier) string {
	return fold(i.GetScheme()) + "\x00" + fold(i.GetValue())
}

// gapID identifies a gap by its field and value: the readers word the
// reason for one fact differently.
func gapID(g *fairwayv1.Gap) string {
	return g.GetField() + "\x00" + g.GetValue()
}

// firstStrings returns a copy of the first non-empty list of strings in
// order.
func firstStrings(order []*fairwayv1.Dataset, field func(*fairwayv1.Dataset) []string) []string {
	for _, d := range order {
		if l := field(d); len(l) > 0 {
			return slices.Clone(l)
		}
	}
	return nil
}

func relatedID(r *fairwayv1.RelatedIdentifier) string {
	return fold(r.GetIdentifier()) + "\x00" + fold(r.GetType()) + "\x00" + fold(r.GetRelation())
}

// sourceOf returns the source a version stands for: its one Source, or one
// made of its fields.
func sourceOf(v *fairwayv1.Dataset) *fairwayv1.Source {
	if len(v.GetSources()) > 0 {
		return proto.CloneOf(v.GetSources()[0])
	}
	return &fairwayv1.Source{
		FeedId: v.GetFeedId(), SourceIdentifier: v.GetSourceIdentifier(),
		MetadataFormat: v.GetMetadataFormat(), ContentHash: v.GetContentHash(),
	}
}

// sourceID identifies a source among a dataset's: its feed and its record.
func sourceID(v *fairwayv1.Dataset) string { return v.GetFeedId() + "\x00" + v.GetSourceIdentifier() }

// Merge returns the one dataset that versions (the own normalised versions
// of the sources publishing one dataset key, each a Dataset as Normalise
// returns it) stand for, with its Sources and ContentHash. The result
// depends only on the versions, never on their order (docs/merge.md):
//
//   - bibliographic fields (title, description, every title and
//     description, creators, contributors, publisher and its ROR,
//     publication year, issued, created, available, version, funding,
//     licence with its SPDX id, landing page, resource type, language and
//     languages, every typed date, geo locations) come from the first
//     source that gives them in the order DataCite, Dublin Core, other,
//     SciCat;
//   - scientific metadata (instrument and its PID, proposal, principal
//     investigator, samples, collection dates, distributions, file count,
//     size, formats, and contacts) from the first that gives them in the
//     order SciCat, DataCite, Dublin Core, other;
//   - within one kind, sources are ordered by feed id, then source
//     identifier;
//   - subjects, related identifiers, identifiers and gaps are unions
//     without duplicates;
//   - access rights are the most restrictive any source states, the embargo
//     end and the modification date the latest;
//   - identity (key, facility) and every other field come from the first
//     source in the bibliographic order, provenance from the source
//     harvested last (the stage replaces it by the provenance of the
//     record it handles when that is later).
//
// Merge of no version is nil; nil versions are ignored.
func Merge(versions []*fairwayv1.Dataset) *fairwayv1.Dataset {
	if slices.Contains(versions, nil) {
		versions = slices.DeleteFunc(slices.Clone(versions), func(v *fairwayv1.Dataset) bool { return v == nil })
	}
	if len(versions) == 0 {
		return nil
	}
	bib := ordered(versions, bibliographicRank)
	sci := ordered(versions, scientificRank)
	m := proto.CloneOf(bib[0])
	m.Sources = nil
	m.Deleted = false
	str := func(f func(*fairwayv1.Dataset) string) string { return firstString(bib, f) }
	m.Doi = str((*fairwayv1.Dataset).GetDoi)
	m.Title = str((*fairwayv1.Dataset).GetTitle)
	m.Description = str((*fairwayv1.Dataset).GetDescription)
	m.Publisher = str((*fairwayv1.Dataset).GetPublisher)
	m.PublisherRor = str((*fairwayv1.Dataset).GetPublisherRor)
	m.License, m.LicenseSpdx = "", ""
	for _, d := range bib {
		if d.GetLicense() != "" {
			m.License, m.LicenseSpdx = d.GetLicense(), d.GetLicenseSpdx()
			break
		}
	}
	m.LandingPage = str((*fairwayv1.Dataset).GetLandingPage)
	m.ResourceType = str((*fairwayv1.Dataset).GetResourceType)
	m.Language = str((*fairwayv1.Dataset).GetLanguage)
	m.Creators = firstList(bib, (*fairwayv1.Dataset).GetCreators)
	m.Contributors = firstList(bib, (*fairwayv1.Dataset).GetContributors)
	m.PublicationYear = 0
	for _, d := range bib {
		if d.GetPublicationYear() != 0 {
			m.PublicationYear = d.GetPublicationYear()
			break
		}
	}
	m.Issued = firstTime(bib, (*fairwayv1.Dataset).GetIssued)

	m.Instrument = firstString(sci, (*fairwayv1.Dataset).GetInstrument)
	m.InstrumentPid = firstString(sci, (*fairwayv1.Dataset).GetInstrumentPid)
	m.ProposalId = firstString(sci, (*fairwayv1.Dataset).GetProposalId)
	m.CollectedStart = firstTime(sci, (*fairwayv1.Dataset).GetCollectedStart)
	m.CollectedEnd = firstTime(sci, (*fairwayv1.Dataset).GetCollectedEnd)
	m.Distributions = firstList(sci, (*fairwayv1.Dataset).GetDistributions)
	m.Contacts = firstList(sci, (*fairwayv1.Dataset).GetContacts)

	m.Titles = firstList(bib, (*fairwayv1.Dataset).GetTitles)
	m.Descriptions = firstList(bib, (*fairwayv1.Dataset).GetDescriptions)
	m.Version = str((*fairwayv1.Dataset).GetVersion)
	m.Funding = firstList(bib, (*fairwayv1.Dataset).GetFunding)
	m.Created = firstTime(bib, (*fairwayv1.Dataset).GetCreated)
	m.Dates = firstList(bib, (*fairwayv1.Dataset).GetDates)
	m.GeoLocations = firstList(bib, (*fairwayv1.Dataset).GetGeoLocations)
	m.Languages = firstStrings(bib, (*fairwayv1.Dataset).GetLanguages)
	m.Available = firstTime(bib, (*fairwayv1.Dataset).GetAvailable)

	m.PrincipalInvestigator = nil
	for _, d := range sci {
		if p := d.GetPrincipalInvestigator(); p != nil {
			m.PrincipalInvestigator = proto.CloneOf(p)
			break
		}
	}
	m.Samples = firstList(sci, (*fairwayv1.Dataset).GetSamples)
	m.FileCount, m.ByteSize = 0, 0
	for _, d := range sci {
		if d.GetFileCount() > 0 {
			m.FileCount = d.GetFileCount()
			break
		}
	}
	for _, d := range sci {
		if d.GetByteSize() > 0 {
			m.ByteSize = d.GetByteSize()
			break
		}
	}
	m.Formats = firstStrings(sci, (*fairwayv1.Dataset).GetFormats)

	m.Subjects = union(bib, (*fairwayv1.Dataset).GetSubjects, subjectID)
	m.Related = union(bib, (*fairwayv1.Dataset).GetRelated, relatedID)
	m.Identifiers = union(bib, (*fairwayv1.Dataset).GetIdentifiers, identifierID)
	m.Gaps = union(bib, (*fairwayv1.Dataset).GetGaps, gapID)

	m.Modified = latestTime(bib, (*fairwayv1.Dataset).GetModified)
	m.EmbargoUntil = latestTime(bib, (*fairwayv1.Dataset).GetEmbargoUntil)
	m.AccessRights = ""
	for _, d := range bib {
		if a := d.GetAccessRights(); a != "" && restriction[a] > restriction[m.AccessRights] {
			m.AccessRights = a
		}
	}
	if m.AccessRights == "" {
		m.AccessRights = firstString(bib, (*fairwayv1.Dataset).GetAccessRights)
	}

	m.Provenance = nil
	var last *fairwayv1.Dataset
	for _, d := range bib {
		if d.GetProvenance() == nil {
			continue
		}
		if last == nil || d.GetProvenance().GetHarvestedAt().AsTime().After(last.GetProvenance().GetHarvestedAt().AsTime()) {
			last = d
		}
	}
	if last != nil {
		m.Provenance = proto.CloneOf(last.GetProvenance())
	}
	for _, d := range bib {
		m.Sources = append(m.Sources, sourceOf(d))
	}
	m.ContentHash = ContentHash(m)
	return m
}
