package harvester

import (
	"context"
	"fmt"

	"github.com/panosc/fairway/pkg/feeds"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// harvestSciCat harvests a SciCat catalogue's published datasets.
func (h *Harvester) harvestSciCat(_ context.Context, f feeds.Feed, _ RunRequest) (*fairwayv1.HarvestRun, error) {
	return nil, fmt.Errorf("harvester: feed %s: %w: %s (not implemented yet)", f.ID, ErrUnsupportedKind, f.Kind)
}
