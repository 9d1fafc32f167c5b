package node

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/panosc/fairway/pkg/api"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/publisher"
	"github.com/panosc/fairway/pkg/readmodel"
)

// publisherNode is the publisher's side of a node in a test: the stage,
// the read model it feeds, and the node's HTTP handler (catalogue, OAI-PMH,
// API with open access, no analytics) on a test server.
type publisherNode struct {
	publisher *publisher.Stage
	model     *readmodel.Model
	srv       *httptest.Server
}

// startPublisherNode starts a publisherNode on b whose base URL is
// http://127.0.0.1:8080; everything stops at the test's end.
func startPublisherNode(t *testing.T, b *bus.Bus) publisherNode {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	const baseURL = "http://127.0.0.1:8080"
	p, err := publisher.New(publisher.Config{BaseURL: baseURL}, b, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	model, err := readmodel.Open(ctx, readmodel.Config{Dir: filepath.Join(t.TempDir(), "readmodel")}, b, log)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = model.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; model.Close() })
	cat, err := catalogueHandler(Config{BaseURL: baseURL, DataDir: t.TempDir()}, model, p.Options(), nil, log)
	if err != nil {
		t.Fatal(err)
	}
	checker, err := feeds.NewChecker(feeds.CheckerConfig{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	feedAPI, err := api.New(api.Config{Access: api.OpenAccess(), Checker: checker}, b, log)
	if err != nil {
		t.Fatal(err)
	}
	h, err := httpHandler(baseURL, feedAPI, cat, nil, nil, nil, nil, QueryEndpoints{}, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return publisherNode{publisher: p, model: model, srv: srv}
}
