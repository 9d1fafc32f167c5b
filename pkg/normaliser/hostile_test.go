package normaliser_test

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/panosc/fairway/pkg/normaliser"
)

// TestHostileBounds normalises payloads of a few MiB built to cost time or
// memory out of proportion to their size, and checks that each takes time
// and allocates memory in proportion to its size: no expansion of
// entities, no quadratic pass over repeated elements.
func TestHostileBounds(t *testing.T) {
	laughs := `<!DOCTYPE lolz [<!ENTITY lol "lol">` +
		`<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">` +
		`<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">` +
		`<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>`
	const n = 20000
	tests := []struct {
		name, format, payload string
	}{
		{"billion laughs", "datacite", laughs + `<resource><identifier identifierType="DOI">10.1/x</identifier><titles>` +
			strings.Repeat(`<title>&lol3;&lol3;</title>`, n) + `</titles></resource>`},
		{"huge DOI", "datacite", `<resource><identifier identifierType="DOI">10.1/` + strings.Repeat("x", 4<<20) + `</identifier><titles><title>t</title></titles></resource>`},
		{"many creators", "datacite", `<resource><identifier identifierType="DOI">10.1/x</identifier><titles><title>t</title></titles><creators>` +
			strings.Repeat(`<creator><creatorName>Doe, J</creatorName><nameIdentifier nameIdentifierScheme="ORCID">0000-0002-1825-0097</nameIdentifier><affiliation>x</affiliation></creator>`, n) + `</creators></resource>`},
		{"many subjects and relations", "datacite", `<resource><identifier identifierType="DOI">10.1/x</identifier><titles><title>t</title></titles><subjects>` +
			strings.Repeat(`<subject subjectScheme="PaNET">PaNET01168</subject>`, n) + `</subjects><relatedIdentifiers>` +
			strings.Repeat(`<relatedIdentifier relatedIdentifierType="DOI" relationType="IsCitedBy">10.2/y</relatedIdentifier>`, n) + `</relatedIdentifiers></resource>`},
		{"oai_dc repeated", "oai_dc", `<dc><title>t</title>` + strings.Repeat(`<creator>Doe, J</creator><subject>PaNET01168</subject><identifier>doi:10.1/x</identifier><relation>doi:10.2/y</relation><date>2020</date>`, n) + `</dc>`},
		{"oai_dc laughs", "oai_dc", laughs + `<dc><title>t</title>` + strings.Repeat(`<description>&lol3;</description>`, n) + `</dc>`},
		{"scicat repeated", "scicat", `{"pid":"x","datasetName":"n","keywords":[` + strings.Repeat(`"PaNET01168",`, n) + `"x"],"techniques":[` +
			strings.Repeat(`{"pid":"PaNET01168","name":"x"},`, n) + `{}],"description":"` + strings.Repeat(`see https://example.org/a `, n) + `"}`},
		{"scicat deep", "scicat", `{"pid":"x","datasetName":"n","scientificMetadata":` + strings.Repeat(`{"a":`, 9000) + `1` + strings.Repeat(`}`, 9000) + `}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := rawRecord(tt.format, "oai:x:1", []byte(tt.payload))
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			_, err := normaliser.Normalise(raw, normaliseAt)
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			size := len(tt.payload)
			t.Logf("%d bytes: %v, %d bytes allocated (%.1f×), err %v", size, took, alloc, float64(alloc)/float64(size), err)
			// Generous bounds: a linear reader stays far below them on a
			// loaded machine; an expansion or a quadratic pass does not.
			if limit := 64*uint64(size) + 4<<20; alloc > limit {
				t.Errorf("allocated %d bytes for a payload of %d, limit %d", alloc, size, limit)
			}
			if limit := time.Duration(size) * 2 * time.Microsecond; took > limit {
				t.Errorf("took %v for a payload of %d bytes, limit %v", took, size, limit)
			}
		})
	}
}
