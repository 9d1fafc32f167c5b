package api

import (
	"context"
	"net/http"
	"net/url"

	"github.com/panosc/fairway/pkg/readmodel"
)

// FacilitiesQuality returns the FAIR quality of every facility's live
// datasets (GET /quality/facilities of the node's catalogue).
func (c *Client) FacilitiesQuality(ctx context.Context) ([]readmodel.FacilityQuality, error) {
	var out struct {
		Facilities []readmodel.FacilityQuality `json:"facilities"`
	}
	return out.Facilities, c.do(ctx, http.MethodGet, "/quality/facilities", nil, &out)
}

// FacilityQuality returns the FAIR quality of one facility's live datasets
// (GET /quality/facilities/{facility}); an *Error with status 404 when the
// facility has none.
func (c *Client) FacilityQuality(ctx context.Context, facility string) (readmodel.FacilityQuality, error) {
	var out readmodel.FacilityQuality
	return out, c.do(ctx, http.MethodGet, "/quality/facilities/"+url.PathEscape(facility), nil, &out)
}
