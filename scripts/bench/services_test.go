package main

import (
	"maps"
	"testing"
)

func TestReplicaCountsSet(t *testing.T) {
	tests := []struct {
		name    string
		values  []string
		want    replicaCounts
		wantErr bool
	}{
		{name: "one", values: []string{"normaliser=2"}, want: replicaCounts{"normaliser": 2}},
		{name: "comma separated", values: []string{"normaliser=2, publisher=3"}, want: replicaCounts{"normaliser": 2, "publisher": 3}},
		{name: "repeated, the last wins", values: []string{"enricher=2", "harvester=2", "enricher=3"}, want: replicaCounts{"enricher": 3, "harvester": 2}},
		{name: "no count", values: []string{"normaliser"}, wantErr: true},
		{name: "unknown service", values: []string{"nats-server=2"}, wantErr: true},
		{name: "not a number", values: []string{"enricher=two"}, wantErr: true},
		{name: "zero", values: []string{"enricher=0"}, wantErr: true},
		{name: "too many", values: []string{"enricher=9"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := replicaCounts{}
			var err error
			for _, v := range tt.values {
				if err = got.Set(v); err != nil {
					break
				}
			}
			if (err != nil) != tt.wantErr {
				t.Fatalf("Set(%q): error %v, want error %v", tt.values, err, tt.wantErr)
			}
			if !tt.wantErr && !maps.Equal(got, tt.want) {
				t.Errorf("Set(%q) = %v, want %v", tt.values, got, tt.want)
			}
		})
	}
}

func TestReplicaCountsOf(t *testing.T) {
	r := replicaCounts{"publisher": 2}
	if n := r.of("publisher"); n != 2 {
		t.Errorf("of(publisher) = %d, want 2", n)
	}
	if n := r.of("normaliser"); n != 1 {
		t.Errorf("of(normaliser) = %d, want 1 (a service not named runs once)", n)
	}
	if s := (replicaCounts{"publisher": 2, "normaliser": 3}).String(); s != "normaliser=3,publisher=2" {
		t.Errorf("String() = %q, want the pipeline's order", s)
	}
}

func TestSlowestStage(t *testing.T) {
	backlogs := map[string]stageBacklog{
		"normaliser": {sum: 100, n: 10},
		"enricher":   {sum: 50, n: 1},
		"publisher":  {sum: 300, n: 10},
		// Not a stage of the flow control: it may lag on its own.
		"analytics": {sum: 9000, n: 10},
	}
	if got := slowestStage(backlogs); got != "enricher" {
		t.Errorf("slowestStage = %s, want enricher (mean 50)", got)
	}
}
