package metadata_test

import (
	"errors"
	"testing"
	"time"

	"github.com/panosc/fairway/pkg/metadata"
)

func TestParseDate(t *testing.T) {
	utc := func(y int, m time.Month, d, h, min, s, ns int) time.Time {
		return time.Date(y, m, d, h, min, s, ns, time.UTC)
	}
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2018", utc(2018, 1, 1, 0, 0, 0, 0)},
		{"2018-07", utc(2018, 7, 1, 0, 0, 0, 0)},
		{"2018-07-15", utc(2018, 7, 15, 0, 0, 0, 0)},
		{" 2018-7-5 ", utc(2018, 7, 5, 0, 0, 0, 0)},
		{"20180715", utc(2018, 7, 15, 0, 0, 0, 0)},
		{"2018-07-00", utc(2018, 7, 1, 0, 0, 0, 0)},
		{"2018-00-00", utc(2018, 1, 1, 0, 0, 0, 0)},
		{"2018-07-15T10:20:30Z", utc(2018, 7, 15, 10, 20, 30, 0)},
		{"2018-07-15T10:20:30.123456789123Z", utc(2018, 7, 15, 10, 20, 30, 123456789)},
		{"2018-07-15T10:20:30.5", utc(2018, 7, 15, 10, 20, 30, 500000000)},
		{"2018-07-15 10:20", utc(2018, 7, 15, 10, 20, 0, 0)},
		{"2018-07-15T10:20:30+02:00", utc(2018, 7, 15, 8, 20, 30, 0)},
		{"2018-07-15T10:20:30-0130", utc(2018, 7, 15, 11, 50, 30, 0)},
		{"2018-07-15T10:20:30+02", utc(2018, 7, 15, 8, 20, 30, 0)},
		{"2018-07-15Z", utc(2018, 7, 15, 0, 0, 0, 0)},
		{"2018-07-15T24:00:00", utc(2018, 7, 16, 0, 0, 0, 0)},
		{"2016-12-31T23:59:60Z", utc(2016, 12, 31, 23, 59, 59, 0)},
		{"2018-01-01/2018-12-31", utc(2018, 1, 1, 0, 0, 0, 0)},
		{"/2018-12-31", utc(2018, 12, 31, 0, 0, 0, 0)},
		{"2020-02-29", utc(2020, 2, 29, 0, 0, 0, 0)},
	}
	for _, tt := range tests {
		got, err := metadata.ParseDate(tt.in)
		if err != nil || !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("ParseDate(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{
		"", "18", "soon", "2018-13-01", "2019-02-29", "2018-07-32", "2018-07-15T25:00", "2018-07-15T10",
		"2018-07-15T10:2", "2018-07-15 garbage", "2018-07-15T10:20:30+2", "2018-07-15T10:20:30+15:00",
		"0000-01-01", "2018-07-15T10:20:30.Z", "/",
	} {
		if got, err := metadata.ParseDate(in); !errors.Is(err, metadata.ErrInvalidDate) {
			t.Errorf("ParseDate(%q) = %v, %v; want ErrInvalidDate", in, got, err)
		}
	}
}

func TestNormaliseDOI(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"10.5072/ABC", "10.5072/abc", true},
		{" https://doi.org/10.5072/ABC ", "10.5072/abc", true},
		{"http://dx.doi.org/10.5072/abc", "10.5072/abc", true},
		{"HTTPS://DOI.ORG/10.5072/abc", "10.5072/abc", true},
		{"https://doi.org/10.5072%2Fabc%28x%29", "10.5072/abc(x)", true},
		{"https://doi.org/10.5072/abc?via=x", "10.5072/abc", true},
		{"doi:10.5072/abc", "10.5072/abc", true},
		{"DOI: 10.5072/abc", "10.5072/abc", true},
		{"info:doi/10.5072/abc", "10.5072/abc", true},
		{"urn:doi:10.5072/abc", "10.5072/abc", true},
		{"10.1000.10/abc", "10.1000.10/abc", true},
		{"10.5072/a b", "", false},
		{"10.5072/", "", false},
		{"11.5072/abc", "", false},
		{"https://example.org/10.5072/abc", "", false},
		{"PID.SAMPLE.PREFIX/desy_ds1", "", false},
		{"20.500.12345/abc", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		if got, ok := metadata.NormaliseDOI(tt.in); got != tt.want || ok != tt.ok {
			t.Errorf("NormaliseDOI(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestFindDOI(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"10.5072/ABC", "10.5072/abc", true},
		{"J. Doe, Nature 5 (2019), doi:10.1038/Nature.123.", "10.1038/nature.123", true},
		{"see https://doi.org/10.5072/ABC and more", "10.5072/abc", true},
		{`<a href="https://doi.org/10.5072/abc">x</a>`, "10.5072/abc", true},
		{"(10.5072/abc; 10.5072/def)", "10.5072/abc", true},
		{"[10.5072/abc],", "10.5072/abc", true},
		{"'10.5072/abc'", "10.5072/abc", true},
		{"10.1000.10/abc", "10.1000.10/abc", true},
		{"first 10.5072/. then 10.5072/two", "10.5072/two", true},
		{"10.5072/", "", false},
		{"11.5072/abc", "", false},
		{"PID.SAMPLE.PREFIX/desy_ds1", "", false},
		{"https://example.org/paper", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		if got, ok := metadata.FindDOI(tt.in); got != tt.want || ok != tt.ok {
			t.Errorf("FindDOI(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestFirstNonBlank(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{"", " \t", "\n"}, ""},
		{[]string{"a", "b"}, "a"},
		{[]string{"", "  ", " b ", "c"}, " b "},
	}
	for _, tt := range tests {
		if got := metadata.FirstNonBlank(tt.in...); got != tt.want {
			t.Errorf("FirstNonBlank(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNormaliseORCID(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"0000-0002-1825-0097", "0000-0002-1825-0097", true},
		{"https://orcid.org/0000-0002-1825-0097", "0000-0002-1825-0097", true},
		{" http://orcid.org/0000-0002-1825-0097/ ", "0000-0002-1825-0097", true},
		{"orcid.org/0000-0002-1825-0097", "0000-0002-1825-0097", true},
		{"ORCID:0000-0002-1825-0097", "0000-0002-1825-0097", true},
		{"0000000218250097", "0000-0002-1825-0097", true},
		{"0000-0002-1694-233x", "0000-0002-1694-233X", true},
		{"0000-0002-1825-0098", "", false}, // check digit
		{"0000-0002-1825", "", false},
		{"0000-0002-1825-00970", "", false},
		{"https://example.org/0000-0002-1825-0097", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		if got, ok := metadata.NormaliseORCID(tt.in); got != tt.want || ok != tt.ok {
			t.Errorf("NormaliseORCID(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestClassifyIdentifier(t *testing.T) {
	tests := []struct{ in, id, typ string }{
		{"https://doi.org/10.5072/X", "10.5072/x", "DOI"},
		{"hdl:20.500.12345/abc", "20.500.12345/abc", "Handle"},
		{"https://hdl.handle.net/20.500.12345/abc", "20.500.12345/abc", "Handle"},
		{"https://example.org/a?b", "https://example.org/a?b", "URL"},
		{"urn:nbn:de:123", "urn:nbn:de:123", "URN"},
		{"ark:/12345/x", "ark:/12345/x", "ARK"},
		{"arXiv:2101.00001", "2101.00001", "arXiv"},
		{" local-id ", "local-id", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		if id, typ := metadata.ClassifyIdentifier(tt.in); id != tt.id || typ != tt.typ {
			t.Errorf("ClassifyIdentifier(%q) = %q, %q; want %q, %q", tt.in, id, typ, tt.id, tt.typ)
		}
	}
}

func TestAccessStatement(t *testing.T) {
	tests := []struct{ in, want string }{
		{"info:eu-repo/semantics/openAccess", "open"},
		{"info:eu-repo/semantics/embargoedAccess", "embargoed"},
		{"info:eu-repo/semantics/restrictedAccess", "restricted"},
		{"info:eu-repo/semantics/closedAccess", "closed"},
		{"http://purl.org/coar/access_right/c_abf2", "open"},
		{"http://purl.org/coar/access_right/c_f1cf", "embargoed"},
		{"Open Access", "open"},
		{"metadata only access", "closed"},
		{"https://creativecommons.org/licenses/by/4.0/", ""},
		{"Open Data Commons Attribution License", ""},
		{"info:eu-repo/semantics/article", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := metadata.AccessStatement(tt.in); got != tt.want {
			t.Errorf("AccessStatement(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEmbargoEnd(t *testing.T) {
	got, ok := metadata.EmbargoEnd("info:eu-repo/date/embargoEnd/2025-01-31")
	if !ok || !got.Equal(time.Date(2025, 1, 31, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("EmbargoEnd = %v, %v", got, ok)
	}
	for _, in := range []string{"info:eu-repo/date/embargoEnd/", "info:eu-repo/date/embargoEnd/soon", "2025-01-31", ""} {
		if _, ok := metadata.EmbargoEnd(in); ok {
			t.Errorf("EmbargoEnd(%q) ok", in)
		}
	}
}

func TestDecideAccess(t *testing.T) {
	now := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	future, past := now.AddDate(0, 1, 0), now.AddDate(0, -1, 0)
	tests := []struct {
		name       string
		stated     string
		end        time.Time
		license    bool
		want       string
		wantEndSet bool
	}{
		{"future end wins over open", "open", future, true, "embargoed", true},
		{"future end alone", "", future, false, "embargoed", true},
		{"stated embargo over", "embargoed", past, true, "open", false},
		{"stated embargo without end", "embargoed", time.Time{}, false, "embargoed", false},
		{"past end, restricted", "restricted", past, false, "restricted", false},
		{"closed", "closed", time.Time{}, true, "closed", false},
		{"licence only", "", time.Time{}, true, "open", false},
		{"nothing", "", past, false, "", false},
	}
	for _, tt := range tests {
		got, end := metadata.DecideAccess(tt.stated, tt.end, tt.license, now)
		if got != tt.want || end.IsZero() == tt.wantEndSet || (tt.wantEndSet && !end.Equal(tt.end)) {
			t.Errorf("%s: DecideAccess = %q, %v; want %q (end set %v)", tt.name, got, end, tt.want, tt.wantEndSet)
		}
	}
}

func TestSplitPersonalName(t *testing.T) {
	tests := []struct {
		in, given, family string
		ok                bool
	}{
		{"Doe, Jane", "Jane", "Doe", true},
		{" van der Berg ,  Anna Maria ", "Anna Maria", "van der Berg", true},
		{"Jane Doe", "", "", false},
		{"Doe, Jane, PhD", "", "", false},
		{"Doe,", "", "", false},
		{"University of Grenoble, France", "", "", false},
		{"Institut Laue-Langevin, Grenoble", "", "", false},
		{"Beamline 12, ESRF", "", "", false},
	}
	for _, tt := range tests {
		g, f, ok := metadata.SplitPersonalName(tt.in)
		if g != tt.given || f != tt.family || ok != tt.ok {
			t.Errorf("SplitPersonalName(%q) = %q, %q, %v", tt.in, g, f, ok)
		}
	}
}

func TestResourceTypeGeneral(t *testing.T) {
	for in, want := range map[string]string{"dataset": "Dataset", " TEXT ": "Text", "JournalArticle": "JournalArticle"} {
		if got, ok := metadata.ResourceTypeGeneral(in); !ok || got != want {
			t.Errorf("ResourceTypeGeneral(%q) = %q, %v", in, got, ok)
		}
	}
	for _, in := range []string{"article", "info:eu-repo/semantics/dataset", ""} {
		if got, ok := metadata.ResourceTypeGeneral(in); ok {
			t.Errorf("ResourceTypeGeneral(%q) = %q, true", in, got)
		}
	}
}
