package metadata_test

import (
	"strings"
	"testing"

	"github.com/panosc/fairway/pkg/metadata"
)

func TestNewGap(t *testing.T) {
	g := metadata.NewGap("created", strings.Repeat("a", 255)+"é", metadata.ReasonBadDate)
	if g.Field != "created" || g.Value != strings.Repeat("a", 255) || g.Reason != metadata.ReasonBadDate {
		t.Errorf("NewGap = %v (cut inside a character)", g)
	}
	if g := metadata.NewGap("issued", "soon", "r"); g.Value != "soon" {
		t.Errorf("NewGap = %v", g)
	}
}
