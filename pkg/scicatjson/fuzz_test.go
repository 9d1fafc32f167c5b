package scicatjson_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/scicatjson"
	"github.com/panosc/fairway/proto/fairwayv1"
)

// hostile are documents shaped to hurt a reader: huge identifiers, deep
// nesting, invalid UTF-8 and escapes, wrong types for known fields, Mongo
// extended JSON where a plain value belongs and the reverse.
func hostile() [][]byte {
	return [][]byte{
		[]byte(`{"pid":"` + strings.Repeat("p", 200<<10) + `","datasetName":"n"}`),
		[]byte(`{"pid":"x","datasetName":"n","scientificMetadata":` + strings.Repeat(`{"a":`, 5000) + `1` + strings.Repeat(`}`, 5000) + `}`),
		[]byte(`{"pid":"x","datasetName":"n","keywords":` + strings.Repeat(`[`, 20000) + strings.Repeat(`]`, 20000) + `}`),
		[]byte("{\"pid\":\"\xff\xfe\",\"datasetName\":\"bad \xc3\x28\",\"description\":\"\\ud800\\udfff\\u0000\"}"),
		[]byte(`{"pid":1,"datasetName":"n"}`),
		[]byte(`{"pid":"x","datasetName":["n"],"keywords":"k","size":"big","creationTime":12}`),
		[]byte(`{"pid":"x","datasetName":"n","creationTime":{"$date":{"$numberLong":"99999999999999999"}},"endTime":{"$date":"not a date"}}`),
		[]byte(`{"pid":"x","datasetName":"n","techniques":[{"pid":{"$oid":"1"},"name":null}],"principalInvestigator":{"email":1}}`),
		[]byte(`{"_id":{"$oid":"5f"},"doi":"10.5072/x","title":"t","creator":"c","pidArray":"p","metadata":[],"datasetPids":{}}`),
		[]byte(`{"pid":"x","datasetName":"n","size":1e400,"numberOfFiles":-1,"version":true}`),
		[]byte(`{"pid":"x","datasetName":"n","pid":"y","datasetName":null}`),
		[]byte(`{"pid":"x","datasetName":"n","description":"` + strings.Repeat(`https://example.org/`, 5000) + `"}`),
		[]byte(`{"pid":"x","datasetName":"n","keywords":[` + strings.Repeat(`"PaNET01168",`, 5000) + `"x"]}`),
		[]byte(`{"pid":"x"`),
		[]byte(`[{"pid":"x"}]`),
		[]byte(`{}`),
		[]byte(`null`),
		[]byte(""),
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"Dataset.json", "PublishedData.json"} {
		for _, doc := range testenv.SciCatSeed(f, name) {
			f.Add([]byte(doc))
		}
	}
	f.Add([]byte(restV4))
	for _, p := range hostile() {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		start := time.Now()
		ds, err := scicatjson.Parse(payload)
		if err != nil {
			if !errors.Is(err, scicatjson.ErrMalformed) {
				t.Fatalf("Parse error %v does not wrap ErrMalformed", err)
			}
			if ds != nil {
				t.Fatalf("Parse returned a dataset with error %v", err)
			}
			return
		}
		testenv.CheckMapped(t, payload, start, func() *fairwayv1.Dataset { return ds.ToDataset(now) })
	})
}
