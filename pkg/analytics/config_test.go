package analytics

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/panosc/fairway/pkg/bus"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string // substring; empty for valid
	}{
		{"defaults", Config{}, ""},
		{"explicit", Config{Addr: "ch.example.org:9440", Database: "fairway_prod", BatchSize: 5000, FlushInterval: 5 * time.Second}, ""},
		{"ipv6", Config{Addr: "[::1]:9000"}, ""},
		{"no port", Config{Addr: "127.0.0.1"}, "addr"},
		{"no host", Config{Addr: ":9000"}, "addr"},
		{"database with dash", Config{Database: "fair-way"}, "database"},
		{"database with quote", Config{Database: "a`; DROP DATABASE system"}, "database"},
		{"database starting with a digit", Config{Database: "1fairway"}, "database"},
		{"database too long", Config{Database: strings.Repeat("a", 65)}, "database"},
		{"negative batch size", Config{BatchSize: -1}, "batch size"},
		{"huge batch size", Config{BatchSize: 2_000_000}, "batch size"},
		{"negative flush interval", Config{FlushInterval: -time.Second}, "flush interval"},
		{"negative dial timeout", Config{DialTimeout: -time.Second}, "dial timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate = %v, want ErrInvalidConfig about %q", err, tt.wantErr)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	got := Config{}.withDefaults()
	if got.Addr != DefaultAddr || got.Database != DefaultDatabase || got.Username != DefaultUsername ||
		got.Password != "" || got.DialTimeout != DefaultDialTimeout || got.BatchSize != DefaultBatchSize ||
		got.FlushInterval != DefaultFlushInterval || got.Logger == nil {
		t.Fatalf("defaults = %+v", got)
	}
}

func TestSinkConfigValidate(t *testing.T) {
	if err := (SinkConfig{}).Validate(); err != nil {
		t.Fatalf("zero SinkConfig: %v", err)
	}
	if err := (SinkConfig{RetryDelay: -time.Second}).Validate(); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("negative retry delay: %v, want ErrInvalidConfig", err)
	}
}

// TestEveryWriterConsumerIsABatchStage: each of the writer's consumers has
// the bus's limit for batch stages, large enough for a batch in the insert
// and one fetched ahead.
func TestEveryWriterConsumerIsABatchStage(t *testing.T) {
	for _, c := range Consumers() {
		if !bus.BatchStage(c.Stage) {
			t.Errorf("%s is not a batch stage of the bus", c.Stage)
		}
		spec := bus.ConsumerSpec{Stage: c.Stage}
		if got := (bus.Topology{}).ConsumerConfig(spec).MaxAckPending; got < 2*DefaultBatchSize {
			t.Errorf("%s: max ack pending %d, below two batches of %d", c.Stage, got, DefaultBatchSize)
		}
	}
}
