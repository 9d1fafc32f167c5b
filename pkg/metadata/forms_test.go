package metadata_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/panosc/fairway/pkg/metadata"
)

func TestLooseDOI(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"10.1107/S1600577525005272", "10.1107/S1600577525005272", true}, // letter case kept
		{"10.1/a", "10.1/a", true},                                       // a one-digit registrant
		{"10.1/a<b>", "10.1/a<b>", true},
		{" doi:10.5281/zenodo.1234 ", "10.5281/zenodo.1234", true},
		{"DOI:10.1107/S16", "10.1107/S16", true},
		{"doi:10.1/a%20b", "10.1/a b", true},
		{"https://doi.org/10.5072%2FX?y", "10.5072/X?y", true},
		{"http://dx.doi.org/10.5072/x", "10.5072/x", true},
		{"https://www.doi.org/10.5072/x", "", false}, // not a form the renderer reads
		{"info:doi/10.5072/x", "", false},
		{"urn:doi:10.5072/x", "", false},
		{"doi:11.1/x", "", false},
		{"doi:javascript:alert(1)", "", false},
		{"10.5072/", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		if got, ok := metadata.LooseDOI(tt.in); got != tt.want || ok != tt.ok {
			t.Errorf("LooseDOI(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestValidORCID(t *testing.T) {
	for in, want := range map[string]bool{
		"0000-0002-1825-0097":                   true, // ORCID's documentation example
		"https://orcid.org/0000-0002-1825-0097": true,
		"https://orcid.org/0000-0003-1419-2405": true, // from the DataCite sample
		"HTTP://ORCID.ORG/0000-0003-1419-2405":  true,
		"0000-0001-5109-3700":                   true,
		"0000-0002-1694-233X":                   true,
		"0000-0002-1694-233x":                   true,
		" 0000-0001-5109-3700 ":                 true,
		"0000-0002-8599-0773":                   true,
		"0000-0002-1825-0098":                   false,
		"0000-0002-1694-2330":                   false,
		"0000000218250097":                      false,
		"0000-0002-1825-009":                    false,
		"0000-000A-1825-0097":                   false,
		"orcid:0000-0002-1825-0097":             false,
		"":                                      false,
		"https://orcid.org/":                    false,
	} {
		if got := metadata.ValidORCID(in); got != want {
			t.Errorf("ValidORCID(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestORCIDIRI(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"0000-0002-1825-0097", "https://orcid.org/0000-0002-1825-0097"},
		{"http://orcid.org/0000-0002-1694-233x", "https://orcid.org/0000-0002-1694-233X"},
		{"ORCID:0000-0002-1825-0097", "https://orcid.org/0000-0002-1825-0097"},
		{"0000-0002-1825-0098", "https://orcid.org/0000-0002-1825-0098"}, // the check digit is ValidORCID's concern
		{"0000000218250097", ""},
		{"0000-0002-1825", ""},
		{"1234", ""},
		{"javascript:alert(1)", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got, ok := metadata.ORCIDIRI(tt.in); got != tt.want || ok != (tt.want != "") {
			t.Errorf("ORCIDIRI(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
	}
}

func TestORCIDCheckDigit(t *testing.T) {
	for base, want := range map[string]byte{"000000021825009": '7', "000000021694233": 'X', "000000015109370": '0'} {
		if got, ok := metadata.ORCIDCheckDigit(base); !ok || got != want {
			t.Errorf("ORCIDCheckDigit(%q) = %q, %v; want %q", base, got, ok, want)
		}
	}
	for _, base := range []string{"12345", "", "00000002182500A", "0000000218250097"} {
		if got, ok := metadata.ORCIDCheckDigit(base); ok {
			t.Errorf("ORCIDCheckDigit(%q) = %q, true", base, got)
		}
	}
}

// TestParseISODate checks where ParseISODate and ParseDate differ; the
// OAI-PMH client's tests check the rest of ParseISODate.
func TestParseISODate(t *testing.T) {
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		in           string
		iso, lenient time.Time // the zero time (not the year 0): an error
	}{
		{in: "2018-07-15", iso: day(2018, 7, 15), lenient: day(2018, 7, 15)},
		{in: "2018-7-5", lenient: day(2018, 7, 5)},
		{in: "20180715", lenient: day(2018, 7, 15)},
		{in: "2018-01-01/2018-12-31", lenient: day(2018, 1, 1)},
		{in: "2018-07T10:00", lenient: time.Date(2018, 7, 1, 10, 0, 0, 0, time.UTC)},
		{in: "2018-07-15T9:30", lenient: time.Date(2018, 7, 15, 9, 30, 0, 0, time.UTC)},
		{in: "2018-07-15T 09:30", iso: time.Date(2018, 7, 15, 9, 30, 0, 0, time.UTC)},
		{in: "2018-07-15 Z", lenient: day(2018, 7, 15)},
		{in: "0000-01-01", iso: day(0, 1, 1)},
		{in: "2018-07-15-0130", iso: time.Date(2018, 7, 15, 1, 30, 0, 0, time.UTC), lenient: time.Date(2018, 7, 15, 1, 30, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		for _, p := range []struct {
			name  string
			parse func(string) (time.Time, error)
			want  time.Time
		}{{"ParseISODate", metadata.ParseISODate, tt.iso}, {"ParseDate", metadata.ParseDate, tt.lenient}} {
			got, err := p.parse(tt.in)
			switch {
			case p.want.IsZero():
				if !errors.Is(err, metadata.ErrInvalidDate) {
					t.Errorf("%s(%q) = %v, %v; want ErrInvalidDate", p.name, tt.in, got, err)
				}
			case err != nil || !got.Equal(p.want) || got.Location() != time.UTC:
				t.Errorf("%s(%q) = %v, %v; want %v", p.name, tt.in, got, err, p.want)
			}
		}
	}
}

func TestTimestamp(t *testing.T) {
	if metadata.Timestamp(time.Time{}) != nil {
		t.Error("Timestamp of the zero time is not nil")
	}
	at := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	if ts := metadata.Timestamp(at); ts == nil || !ts.AsTime().Equal(at) {
		t.Errorf("Timestamp(%v) = %v", at, ts)
	}
}

func TestDatasetKey(t *testing.T) {
	tests := []struct{ doi, facility, source, want string }{
		{"10.5072/x", "ESRF", "oai:1", "doi:10.5072/x"},
		{"", "ESRF", "oai:esrf.fr:1", "src:esrf:oai:esrf.fr:1"},
		{"", "MAX IV", "PID/Ab", "src:max iv:PID/Ab"},
	}
	for _, tt := range tests {
		if got := metadata.DatasetKey(tt.doi, tt.facility, tt.source); got != tt.want {
			t.Errorf("DatasetKey(%q, %q, %q) = %q, want %q", tt.doi, tt.facility, tt.source, got, tt.want)
		}
	}
}

func TestKnownLicense(t *testing.T) {
	for in, want := range map[string]string{
		"CC-BY-4.0":   "https://creativecommons.org/licenses/by/4.0/",
		" cc by 4.0 ": "https://creativecommons.org/licenses/by/4.0/",
		"CC0_1.0":     "https://creativecommons.org/publicdomain/zero/1.0/",
		"mit":         "https://opensource.org/licenses/MIT",
		"proprietary": "",
		"":            "",
	} {
		if got, ok := metadata.KnownLicense(in); got != want || ok != (want != "") {
			t.Errorf("KnownLicense(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestRORIRI(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"https://ror.org/02550n095", "https://ror.org/02550n095", true},
		{"http://www.ror.org/02550N095/", "https://ror.org/02550n095", true},
		{"ror.org/01xtjs520", "https://ror.org/01xtjs520", true},
		{" 01xtjs520 ", "https://ror.org/01xtjs520", true},
		{"https://ror.org/12550n095", "", false}, // must start with 0
		{"https://ror.org/0255on095", "", false}, // o is not Crockford base 32
		{"https://example.org/02550n095", "", false},
		{"", "", false},
	} {
		got, ok := metadata.RORIRI(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("RORIRI(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestNormaliseEmail(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"jane.doe@esrf.fr", "jane.doe@esrf.fr", true},
		{" mailto:Data+SciCat@psi.ch ", "Data+SciCat@psi.ch", true},
		{"MAILTO:a@b.eu", "a@b.eu", true},
		{"Jane <jane@esrf.fr>", "", false},
		{"jane@localhost", "", false},
		{"jane doe@esrf.fr", "", false},
		{"jane@@esrf.fr", "", false},
		{"a@b.eu\n", "a@b.eu", true},
		{"a@b.eu\x00", "", false},
		{"", "", false},
		{strings.Repeat("a", 250) + "@b.eu", "", false},
	} {
		got, ok := metadata.NormaliseEmail(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("NormaliseEmail(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestByteSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"123456", 123456, true},
		{"123456 bytes", 123456, true},
		{"12.4 GB", 12_400_000_000, true},
		{"3 KiB", 3072, true},
		{"1,024 B", 1024, true},
		{"2 TB", 2_000_000_000_000, true},
		{"15 files", 0, false},
		{"GB", 0, false},
		{"-3 MB", 0, false},
		{"1e30 PB", 0, false},
		{"99999999999999999999 PB", 0, false},
		{"", 0, false},
	} {
		got, ok := metadata.ByteSize(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ByteSize(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestFormatAndSize(t *testing.T) {
	for _, tc := range []struct {
		name           string
		formats, sizes []string
		format, media  string
		bytes          int64
	}{
		{"datacite", []string{"NeXus/HDF5", "application/x-hdf5"}, []string{"15 files", "12.4 GB"}, "NeXus/HDF5", "application/x-hdf5", 12_400_000_000},
		{"media type only", []string{" Text/CSV; charset=utf-8 "}, nil, "", "text/csv", 0},
		{"dc:format holding a size", []string{"12 MB", "PDF"}, nil, "PDF", "", 12_000_000},
		{"nothing", []string{"", " "}, []string{"many"}, "", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, m, b := metadata.FormatAndSize(tc.formats, tc.sizes)
			if f != tc.format || m != tc.media || b != tc.bytes {
				t.Errorf("FormatAndSize = %q, %q, %d; want %q, %q, %d", f, m, b, tc.format, tc.media, tc.bytes)
			}
		})
	}
}

func TestMediaType(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"application/x-hdf5", "application/x-hdf5", true},
		{"Text/CSV; charset=utf-8", "text/csv", true},
		{"HDF5", "", false},
		{"foo/bar", "", false},
		{"text/", "", false},
		{"text/c sv", "", false},
	} {
		got, ok := metadata.MediaType(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("MediaType(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestPIDIRI(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"10.5072/PIDINST.1", "https://doi.org/10.5072/pidinst.1", true},
		{"hdl:21.T11998/0000-001A-3905-1", "https://hdl.handle.net/21.T11998/0000-001A-3905-1", true},
		{"https://w3id.org/pidinst/instrument/x", "https://w3id.org/pidinst/instrument/x", true},
		{"desy_instrument1", "", false},
		{"", "", false},
	} {
		got, ok := metadata.PIDIRI(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("PIDIRI(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestLanguageCode(t *testing.T) {
	for in, want := range map[string]string{
		"en": "en", "EN-gb": "en", "eng": "en", "English": "en", "ger": "de", "fre": "fr", " zh_Hant ": "zh", "nob": "nb",
		"": "", "xx": "", "klingon": "",
	} {
		got, ok := metadata.LanguageCode(in)
		if got != want || ok != (want != "") {
			t.Errorf("LanguageCode(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if c, ok := metadata.EULanguageCode("ger"); c != "DEU" || !ok {
		t.Errorf("EULanguageCode(ger) = %q, %v", c, ok)
	}
}

func TestGap(t *testing.T) {
	g := metadata.NewGap("issued", "soon", "not a date")
	if g.Field != "issued" || g.Value != "soon" || g.Reason != "not a date" {
		t.Errorf("Gap = %v", g)
	}
	long := strings.Repeat("a", 255) + "é" + "zzz"
	if v := metadata.NewGap("f", long, "r").Value; v != strings.Repeat("a", 255) {
		t.Errorf("cut value = %q (%d bytes)", v, len(v))
	}
	if v := metadata.NewGap("f", strings.Repeat("b", 300), "r").Value; len(v) != metadata.MaxGapValue {
		t.Errorf("cut value has %d bytes", len(v))
	}
}

func TestSPDXLicense(t *testing.T) {
	for in, want := range map[string]string{
		"CC BY 4.0": "CC-BY-4.0",
		"https://creativecommons.org/licenses/by/4.0/legalcode":    "CC-BY-4.0",
		"http://creativecommons.org/licenses/by-nc-sa/3.0/deed.de": "CC-BY-NC-SA-3.0",
		"https://creativecommons.org/licenses/by/3.0/de/":          "",
		"cc-by-4.0":    "CC-BY-4.0",
		"CC-BY-SA-4.0": "CC-BY-SA-4.0",
		"CC BY":        "",
		"Creative Commons Attribution-NonCommercial-NoDerivatives 4.0 International": "CC-BY-NC-ND-4.0",
		"Attribution 4.0 International (CC BY 4.0)":                                  "CC-BY-4.0",
		"Creative Commons Attribution Share Alike 4.0 International":                 "CC-BY-SA-4.0",
		"CC BY 4.0 plus our own terms":                                               "",
		"CC0":                                                                        "",
		"CC0 1.0 Universal":                                                          "CC0-1.0",
		"https://creativecommons.org/publicdomain/zero/1.0/":                         "CC0-1.0",
		"https://spdx.org/licenses/EUPL-1.2.html":                                    "EUPL-1.2",
		"EUPL v1.2":                            "EUPL-1.2",
		"European Union Public Licence v. 1.1": "EUPL-1.1",
		"https://joinup.ec.europa.eu/collection/eupl/eupl-text-eupl-12": "EUPL-1.2",
		"https://opensource.org/licenses/MIT":                           "MIT",
		"https://www.apache.org/licenses/LICENSE-2.0.html":              "Apache-2.0",
		"GPL-3.0":                           "GPL-3.0-only",
		"odbl":                              "ODbL-1.0",
		"info:eu-repo/semantics/openAccess": "",
		"All rights reserved":               "",
		"":                                  "",
	} {
		if got, ok := metadata.SPDXLicense(in); got != want || ok != (want != "") {
			t.Errorf("SPDXLicense(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestParseDateRange(t *testing.T) {
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		in                 string
		start, end         time.Time
		startBad, endBad   bool
		boundStart, boundE time.Time
	}{
		{in: "2020-01-02", start: day(2020, 1, 2), end: day(2020, 1, 2), boundStart: day(2020, 1, 2), boundE: day(2020, 1, 2)},
		{in: "2020/2021", start: day(2020, 1, 1), end: day(2021, 1, 1), boundStart: day(2020, 1, 1), boundE: day(2021, 1, 1)},
		{in: "2021/2020", start: day(2021, 1, 1), end: day(2020, 1, 1), boundStart: day(2020, 1, 1), boundE: day(2021, 1, 1)},
		{in: "/2020", end: day(2020, 1, 1), boundE: day(2020, 1, 1)},
		{in: "2020/later", start: day(2020, 1, 1), endBad: true, boundStart: day(2020, 1, 1)},
		{in: "soon", startBad: true},
		{in: "/", startBad: true},
	} {
		r := metadata.ParseDateRange(tc.in)
		s, e := r.Bounds()
		if !r.Start.Equal(tc.start) || !r.End.Equal(tc.end) || (r.StartErr != nil) != tc.startBad || (r.EndErr != nil) != tc.endBad ||
			!s.Equal(tc.boundStart) || !e.Equal(tc.boundE) {
			t.Errorf("ParseDateRange(%q) = %+v, bounds %v %v", tc.in, r, s, e)
		}
	}
}
