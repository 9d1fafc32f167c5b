package datacite_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/datacite"
	"github.com/panosc/fairway/proto/fairwayv1"
)

// hostile are payloads shaped to hurt a reader: huge identifiers, deep
// nesting, invalid UTF-8, entity tricks (billion laughs, external
// entities), and envelopes nested in envelopes.
func hostile() [][]byte {
	const res = `<resource xmlns="http://datacite.org/schema/kernel-4">`
	laughs := `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">` +
		`<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">` +
		`<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">` +
		`<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>` +
		res + `<identifier identifierType="DOI">10.1/&lol3;</identifier><titles><title>&lol3;</title></titles></resource>`
	return [][]byte{
		[]byte(res + `<identifier identifierType="DOI">10.5072/` + strings.Repeat("x", 200<<10) + `</identifier><titles><title>t</title></titles></resource>`),
		[]byte(res + `<titles><title>` + strings.Repeat("T", 100<<10) + `</title></titles></resource>`),
		[]byte(strings.Repeat("<payload>", 300) + res + `<titles><title>deep</title></titles></resource>` + strings.Repeat("</payload>", 300)),
		[]byte(res + `<descriptions>` + strings.Repeat("<description><i>", 400) + `</descriptions></resource>`),
		[]byte(strings.Repeat("<oai_datacite><payload>", 10) + res + `<titles><title>t</title></titles></resource>` + strings.Repeat("</payload></oai_datacite>", 10)),
		[]byte(res + "<identifier identifierType=\"DOI\">10.1/\xff\xfe\x80</identifier><titles><title>bad \xc3\x28 utf-8</title></titles></resource>"),
		[]byte(`<?xml version="1.0" encoding="ISO-8859-1"?>` + res + "<titles><title>caf\xe9</title></titles></resource>"),
		[]byte(laughs),
		[]byte(`<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>` + res + `<titles><title>&xxe;</title></titles></resource>`),
		[]byte(res + `<titles><title>&amp;lt;&#0;&#xD800;&#x110000;&nbsp;&bogus;</title></titles></resource>`),
		[]byte(res + `<![CDATA[` + strings.Repeat("]]", 1000) + `<titles><title>c</title></titles></resource>`),
		[]byte(res + `<creators>` + strings.Repeat(`<creator><creatorName>n</creatorName><nameIdentifier nameIdentifierScheme="ORCID">0000-0002-1825-0097</nameIdentifier></creator>`, 2000) + `</creators></resource>`),
		[]byte(res + `<dates><date dateType="Collected">9999999999-99-99/-1</date><date dateType="Available">` + strings.Repeat("2", 5000) + `</date></dates><publicationYear>99999999999999999999</publicationYear></resource>`),
		[]byte(res + `<geoLocations><geoLocation><geoLocationPolygon>` + strings.Repeat(`<polygonPoint><pointLongitude>1e308</pointLongitude><pointLatitude>NaN</pointLatitude></polygonPoint>`, 3000) +
			`</geoLocationPolygon><geoLocationPoint>-Inf 91</geoLocationPoint><geoLocationBox>1 2 3</geoLocationBox></geoLocation></geoLocations></resource>`),
		[]byte(res + `<geoLocations>` + strings.Repeat(`<geoLocation><geoLocationPlace>p</geoLocationPlace><geoLocationPolygon><polygonPoint><pointLongitude>0</pointLongitude><pointLatitude>0</pointLatitude></polygonPoint></geoLocationPolygon></geoLocation>`, 2000) + `</geoLocations></resource>`),
		[]byte(`<resource xmlns:a="x" a:a="1" a:a="2"><a:titles/></resource>`),
		[]byte("\xfe\xff\x00<\x00r"),
		[]byte(""),
		[]byte("<"),
		[]byte(res),
	}
}

func FuzzParse(f *testing.F) {
	for _, file := range []string{"oai_getrecord_datacite.xml", "oai_getrecord_oaidatacite.xml"} {
		for _, p := range testenv.MetadataPayloads(f, "oai-samples", "datacite-viringo", file) {
			f.Add(p)
		}
	}
	f.Add([]byte(kernel3))
	for _, p := range hostile() {
		f.Add(p)
	}
	now := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, payload []byte) {
		start := time.Now()
		r, err := datacite.Parse(payload)
		if err != nil {
			if !errors.Is(err, datacite.ErrMalformed) {
				t.Fatalf("Parse error %v does not wrap ErrMalformed", err)
			}
			if r != nil {
				t.Fatalf("Parse returned a resource with error %v", err)
			}
			return
		}
		testenv.CheckMapped(t, payload, start, func() *fairwayv1.Dataset { return r.ToDataset(now) })
	})
}
