package normaliser_test

import (
	"testing"

	"github.com/panosc/fairway/pkg/normaliser"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// TestLicenceSPDX: every format's licence gets its SPDX id where the
// normaliser recognises one, and a gap where it does not.
func TestLicenceSPDX(t *testing.T) {
	dc := func(rights string) []byte {
		return []byte(`<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/">` +
			`<dc:title>T</dc:title><dc:identifier>10.5072/x</dc:identifier>` + rights + `</oai_dc:dc>`)
	}
	tests := []struct {
		name, format string
		payload      []byte
		license      string
		spdx         string
		gap          bool
	}{
		{"oai_dc name", normaliser.FormatOAIDC, dc(`<dc:rights>info:eu-repo/semantics/openAccess</dc:rights><dc:rights>CC BY 4.0</dc:rights>`), "CC BY 4.0", "CC-BY-4.0", false},
		{"oai_dc legal code IRI", normaliser.FormatOAIDC, dc(`<dc:rights>https://creativecommons.org/licenses/by/4.0/legalcode</dc:rights>`), "https://creativecommons.org/licenses/by/4.0/legalcode", "CC-BY-4.0", false},
		{"oai_dc access statement only", normaliser.FormatOAIDC, dc(`<dc:rights>info:eu-repo/semantics/openAccess</dc:rights>`), "", "", false},
		{"oai_dc own terms", normaliser.FormatOAIDC, dc(`<dc:rights>ESRF data policy</dc:rights>`), "ESRF data policy", "", true},
		{"SciCat SPDX id", normaliser.FormatSciCat, []byte(`{"pid":"p/1","datasetName":"n","license":"cc-by-sa-4.0"}`), "cc-by-sa-4.0", "CC-BY-SA-4.0", false},
		{"SciCat EUPL", normaliser.FormatSciCat, []byte(`{"pid":"p/1","datasetName":"n","license":"EUPL v1.2"}`), "EUPL v1.2", "EUPL-1.2", false},
		{"DataCite rights identifier", "oai_datacite", dataciteRecord("http://datacite.org/schema/kernel-4", "10.5072/x", "T",
			`<rightsList><rights rightsURI="https://example.org/terms" rightsIdentifier="CC0-1.0" rightsIdentifierScheme="SPDX"/></rightsList>`), "https://example.org/terms", "CC0-1.0", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := normaliser.Normalise(rawRecord(tt.format, "oai:x:1", tt.payload), normaliseAt)
			if err != nil {
				t.Fatal(err)
			}
			var gap *fairwayv1.Gap
			for _, g := range d.Gaps {
				if g.Field == "license_spdx" {
					gap = g
				}
			}
			if d.License != tt.license || d.LicenseSpdx != tt.spdx || (gap != nil) != tt.gap {
				t.Errorf("licence %q, SPDX %q, gap %v; want %q, %q, gap %v", d.License, d.LicenseSpdx, gap, tt.license, tt.spdx, tt.gap)
			}
			if gap != nil && (gap.Value != tt.license || gap.Reason != normaliser.ReasonNoSPDX) {
				t.Errorf("gap %v", gap)
			}
		})
	}
}
