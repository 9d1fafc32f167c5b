package dublincore_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/dublincore"
	"github.com/panosc/fairway/proto/fairwayv1"
)

// hostile are payloads shaped to hurt a reader: huge identifiers, deep
// nesting, invalid UTF-8, entity tricks (billion laughs, external
// entities), wrappers in wrappers.
func hostile() [][]byte {
	const dc = `<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/">`
	const end = `</oai_dc:dc>`
	laughs := `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">` +
		`<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">` +
		`<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]>` +
		dc + `<dc:title>&lol2;</dc:title><dc:identifier>doi:10.1/&lol2;</dc:identifier>` + end
	return [][]byte{
		[]byte(dc + `<dc:title>t</dc:title><dc:identifier>https://doi.org/10.5072/` + strings.Repeat("x", 200<<10) + `</dc:identifier>` + end),
		[]byte(dc + `<dc:title>` + strings.Repeat("T", 100<<10) + `</dc:title>` + end),
		[]byte(dc + strings.Repeat("<dc:description><b>", 400) + end),
		[]byte(strings.Repeat("<metadata>", 300) + dc + `<dc:title>deep</dc:title>` + end + strings.Repeat("</metadata>", 300)),
		[]byte(`<metadata><record><metadata>` + dc + `<dc:title>x</dc:title>` + end + `</metadata></record></metadata>`),
		[]byte(dc + "<dc:title>bad \xc3\x28 utf-8 \xff</dc:title><dc:identifier>\x80\x80</dc:identifier>" + end),
		[]byte(`<?xml version="1.0" encoding="windows-1252"?>` + dc + "<dc:title>na\xefve \x93q\x94</dc:title>" + end),
		[]byte(laughs),
		[]byte(`<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>` + dc + `<dc:title>&xxe;</dc:title>` + end),
		[]byte(dc + `<dc:title>&#0;&#xD800;&#x110000;&eacute;&bogus;</dc:title>` + end),
		[]byte(dc + strings.Repeat(`<dc:creator>Doe, J.</dc:creator><dc:subject>PaNET01168</dc:subject>`, 2000) + end),
		[]byte(dc + `<dc:date>Collected: 9999999999-99-99/-1</dc:date><dc:date>` + strings.Repeat("2", 5000) + `</dc:date><dc:date>Available:</dc:date>` + end),
		[]byte(dc + `<dc:rights>info:eu-repo/semantics/embargoedAccess</dc:rights><dc:date>info:eu-repo/date/embargoEnd/99999-01-01</dc:date>` + end),
		[]byte("\xff\xfe<\x00d\x00c"),
		[]byte(""),
		[]byte("<dc"),
		[]byte(dc),
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range [][]string{
		{"sickle", "ListRecords.xml"}, {"sickle", "GetRecord.xml"}, {"sickle", "GetRecord_utf8test.xml"},
		{"datacite-viringo", "oai_getrecord_dc.xml"}, {"datacite-viringo", "oai_listrecords_dc.xml"},
	} {
		for _, p := range testenv.MetadataPayloads(f, "oai-samples", s[0], s[1]) {
			f.Add(p)
		}
	}
	for _, p := range hostile() {
		f.Add(p)
	}
	now := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, payload []byte) {
		start := time.Now()
		r, err := dublincore.Parse(payload)
		if err != nil {
			if !errors.Is(err, dublincore.ErrMalformed) {
				t.Fatalf("Parse error %v does not wrap ErrMalformed", err)
			}
			if r != nil {
				t.Fatalf("Parse returned a record with error %v", err)
			}
			return
		}
		testenv.CheckMapped(t, payload, start, func() *fairwayv1.Dataset { return r.ToDataset(now) })
	})
}
