package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/analytics"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/natsembed"
	"github.com/panosc/fairway/pkg/samplefeed"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// hostileFeed is an OAI-PMH repository of a facility that misbehaves: a
// record with an identifier of thousands of characters, a record that
// claims another facility's DOI, one whose links are javascript:, and one
// with an empty header identifier. In its second phase it withdraws the
// record that claimed the other facility's DOI.
type hostileFeed struct {
	foreignDOI string
	phase      atomic.Int32
}

const (
	hostileLongID   = "oai:hostile:"
	hostileEmptyDOI = "10.5072/hostile.empty"
	hostileJSDOI    = "10.5072/hostile.js"
)

func hostileRecord(id, datestamp, doi, title, extra string) string {
	return `<record><header><identifier>` + id + `</identifier><datestamp>` + datestamp + `</datestamp><setSpec>hostile</setSpec></header>
<metadata><oai_datacite xmlns="http://schema.datacite.org/oai/oai-1.1/"><payload>
<resource xmlns="http://datacite.org/schema/kernel-4">
<identifier identifierType="DOI">` + doi + `</identifier>
<creators><creator><creatorName>Mallory, Eve</creatorName></creator></creators>
<titles><title>` + title + `</title></titles>
<publisher>Hostile facility</publisher><publicationYear>2025</publicationYear>
<resourceType resourceTypeGeneral="Dataset">Dataset</resourceType>` + extra + `
</resource></payload></oai_datacite></metadata></record>`
}

func (h *hostileFeed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const now = "2026-01-02T03:04:05Z"
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	head := `<?xml version="1.0" encoding="UTF-8"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>` + now +
		`</responseDate><request>` + "http://" + r.Host + r.URL.Path + `</request>`
	var body string
	switch verb := r.URL.Query().Get("verb"); verb {
	case "Identify":
		body = `<Identify><repositoryName>Hostile</repositoryName><baseURL>http://` + r.Host + r.URL.Path + `</baseURL><protocolVersion>2.0</protocolVersion>` +
			`<adminEmail>eve@example.org</adminEmail><earliestDatestamp>2020-01-01T00:00:00Z</earliestDatestamp>` +
			`<deletedRecord>persistent</deletedRecord><granularity>YYYY-MM-DDThh:mm:ssZ</granularity></Identify>`
	case "ListMetadataFormats":
		body = `<ListMetadataFormats><metadataFormat><metadataPrefix>oai_datacite</metadataPrefix>` +
			`<schema>http://schema.datacite.org/oai/oai-1.1/oai.xsd</schema><metadataNamespace>http://schema.datacite.org/oai/oai-1.1/</metadataNamespace></metadataFormat></ListMetadataFormats>`
	case "ListSets":
		body = `<ListSets><set><setSpec>hostile</setSpec><setName>Hostile</setName></set></ListSets>`
	case "ListRecords":
		if h.phase.Load() == 0 {
			body = `<ListRecords>` +
				hostileRecord(hostileLongID+strings.Repeat("x", 3000), now, "10.5072/hostile.long", "Long identifier", "") +
				hostileRecord("oai:hostile:foreign", now, h.foreignDOI, "Hijacked dataset", "") +
				hostileRecord("oai:hostile:js", now, hostileJSDOI, "Dataset with hostile links",
					`<subjects><subject subjectScheme="x" valueURI="javascript:alert(1)">tomography</subject></subjects>`+
						`<relatedIdentifiers><relatedIdentifier relatedIdentifierType="URL" relationType="IsSupplementTo">javascript:alert(2)</relatedIdentifier></relatedIdentifiers>`) +
				hostileRecord("", now, hostileEmptyDOI, "Record without header identifier", "") +
				`</ListRecords>`
		} else {
			body = `<ListRecords><record><header status="deleted"><identifier>oai:hostile:foreign</identifier><datestamp>` + now +
				`</datestamp><setSpec>hostile</setSpec></header></record></ListRecords>`
		}
	default:
		body = `<error code="badVerb">no verb ` + verb + `</error>`
	}
	_, _ = io.WriteString(w, head+body+`</OAI-PMH>`)
}

// TestHostileFeed runs `fairway up` with one well-behaved facility and one
// hostile feed of another facility: the node keeps serving, the record with
// the huge identifier and the one claiming the other facility's DOI are in
// the dead letters with their reasons, the other facility's entry is
// unchanged (and survives the hostile feed's deletion), no javascript: link
// is published, and the record without a header identifier is in the
// catalogue under its DOI.
func TestHostileFeed(t *testing.T) {
	corpus := samplefeed.NewCorpus(3, 40)
	srv, err := samplefeed.NewServer(samplefeed.ServerConfig{Corpus: corpus, PageSize: 20})
	if err != nil {
		t.Fatal(err)
	}
	sampleURL, stopSample, err := samplefeed.Start(t.Context(), "127.0.0.1:0", srv)
	if err != nil {
		t.Fatal(err)
	}
	defer stopSample(t.Context())
	var esrf samplefeed.SampleRecord
	for i := range 40 {
		if r := corpus.Record(i); r.Facility.Slug == "esrf" && !r.Deleted {
			esrf = r
			break
		}
	}
	if esrf.DOI == "" {
		t.Fatal("the corpus has no live ESRF record")
	}
	hostile := &hostileFeed{foreignDOI: esrf.DOI}
	hs := httptest.NewServer(hostile)
	defer hs.Close()

	const operator, esrfToken, illToken = "hostile-operator-token-0123456789", "hostile-esrf-token-0123456789", "hostile-ill-token-0123456789ab"
	data := t.TempDir()
	tokens := filepath.Join(data, "tokens.json")
	b, _ := json.Marshal(map[string]any{"operator": []string{operator}, "facilities": map[string][]string{"ESRF": {esrfToken}, "ILL": {illToken}}})
	if err := os.WriteFile(tokens, b, 0o600); err != nil {
		t.Fatal(err)
	}
	httpAddr, natsAddr := freeAddr(t), freeAddr(t)
	server := "http://" + httpAddr
	db := fmt.Sprintf("fairway_it_%d", rand.Uint32())
	store, err := analytics.Open(t.Context(), analytics.Config{Addr: clickhouseAddr(), Database: db})
	if err != nil {
		t.Fatalf("clickhouse at %s (run scripts/clickhouse.sh start): %v", clickhouseAddr(), err)
	}
	defer func() {
		_ = store.DropDatabase(context.Background())
		store.Close()
	}()
	p := start(t, "fairway", "up", "--data", data, "--http", httpAddr, "--nats-listen", natsAddr, "--poll", "200ms",
		"--tokens", tokens, "--allow-private-feeds", "--clickhouse", clickhouseAddr(), "--clickhouse-db", db, "--panet", testenv.PaNET(t))
	eventually(t, 30*time.Second, "the node's API", func() (bool, string) {
		resp, err := httpClient.Get(server + "/healthz")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
	runEnv(t, []string{"FAIRWAY_TOKEN=" + esrfToken}, "fairway", "feeds", "add", "--server", server, "--id", "esrf",
		"--url", sampleURL, "--format", "oai_datacite", "--set", "esrf", "--every", "0")
	catalogue := func() string {
		resp, err := httpClient.Get(server + "/export")
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	esrfIRI := "<https://doi.org/" + strings.ToLower(esrf.DOI) + ">"
	eventually(t, time.Minute, "the ESRF dataset in the catalogue", func() (bool, string) {
		return strings.Contains(catalogue(), esrfIRI), "not yet"
	})

	runEnv(t, []string{"FAIRWAY_TOKEN=" + illToken}, "fairway", "feeds", "add", "--server", server, "--id", "hostile",
		"--url", hs.URL+"/oai", "--format", "oai_datacite", "--set", "hostile", "--every", "0")
	var doc string
	eventually(t, time.Minute, "the hostile feed's acceptable records in the catalogue", func() (bool, string) {
		doc = catalogue()
		return strings.Contains(doc, "doi.org/"+hostileJSDOI) && strings.Contains(doc, "doi.org/"+hostileEmptyDOI), "not yet"
	})
	dlq := func() string {
		return string(run(t, "fairway", "dlq", "list", "--nats", "nats://"+natsAddr, "--nats-credentials", filepath.Join(data, "nats-credentials")))
	}
	var letters string
	eventually(t, 30*time.Second, "the refused records in the dead letters", func() (bool, string) {
		letters = dlq()
		return strings.Contains(letters, "harvester") && strings.Contains(letters, "owned by ESRF"), letters
	})
	if !strings.Contains(letters, "bytes, over the limit of 1024") {
		t.Errorf("no dead letter says the identifier is too long:\n%s", letters)
	}
	// The analytics hold the dead letters, with their stage, reason and
	// facility, and the pipeline events of the records that went through.
	eventually(t, time.Minute, "the dead letters in ClickHouse", func() (bool, string) {
		n, err := store.Count(t.Context(), "dead_letters FINAL", "stage = 'harvester' AND reason LIKE '%over the limit of 1024%' AND facility = 'ILL'")
		m, err2 := store.Count(t.Context(), "dead_letters FINAL", "reason LIKE '%owned by ESRF%'")
		return err == nil && err2 == nil && n >= 1 && m >= 1, fmt.Sprintf("%d too long, %d owned by ESRF (%v %v)", n, m, err, err2)
	})
	eventually(t, time.Minute, "the pipeline events in ClickHouse", func() (bool, string) {
		n, err := store.Count(t.Context(), "pipeline_events FINAL", "stage = 'publisher' AND facility = 'ESRF'")
		return err == nil && n > 0, fmt.Sprintf("%d ESRF catalogue events (%v)", n, err)
	})
	if strings.Contains(doc, "javascript:") {
		t.Error("the catalogue publishes a javascript: link")
	}
	if !strings.Contains(doc, esrf.Title) || strings.Contains(doc, "Hijacked dataset") {
		t.Error("the ESRF dataset was changed by another facility's feed")
	}

	// The hostile feed withdraws the record that claimed the ESRF DOI.
	hostile.phase.Store(1)
	out := string(runEnv(t, []string{"FAIRWAY_TOKEN=" + illToken}, "fairway", "harvest", "hostile", "--full", "--server", server,
		"--interval", "100ms", "--timeout", "1m"))
	if !strings.Contains(out, " complete: ") {
		t.Fatalf("second harvest:\n%s", out)
	}
	// The deletion travels the pipeline: it reaches the catalogue as the
	// tombstone of the hostile facility's own key, not of the ESRF DOI.
	js := testenv.NodeJetStream(t, natsAddr, filepath.Join(data, natsembed.CredentialsFile))
	eventually(t, 30*time.Second, "the hostile deletion in the catalogue", func() (bool, string) {
		str, err := js.Stream(t.Context(), string(bus.Catalogue))
		if err != nil {
			return false, err.Error()
		}
		m, err := str.GetLastMsgForSubject(t.Context(), bus.Subject(bus.Catalogue, "src:ill:oai:hostile:foreign"))
		if err != nil {
			return false, err.Error()
		}
		var e fairwayv1.CatalogueEntry
		return proto.Unmarshal(testenv.Payload(t, m), &e) == nil && e.Deleted, "no tombstone yet"
	})
	if doc := catalogue(); !strings.Contains(doc, esrfIRI) || !strings.Contains(doc, esrf.Title) {
		t.Error("another facility's deletion withdrew the ESRF dataset")
	}
	resp, err := httpClient.Get(server + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz after the hostile feed: %v %v", resp, err)
	}
	resp.Body.Close()
	if err := p.stop(t); err != nil {
		t.Errorf("fairway up exited with %v after SIGTERM", err)
	}
	if strings.Contains(p.out.String(), "maximum control line") {
		t.Error("the node lost its NATS connection")
	}
}
