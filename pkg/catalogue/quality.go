package catalogue

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/panosc/fairway/pkg/readmodel"
)

// QualityReport is the answer of GET /quality/facilities: the FAIR
// quality of each facility's live datasets, by facility, from the read
// model's counts.
type QualityReport struct {
	// Facilities are the facilities with live datasets, by name.
	Facilities []readmodel.FacilityQuality `json:"facilities"`
}

// maxFacilityName bounds the facility a request may name.
const maxFacilityName = 256

func (h *Handler) facilitiesQuality(w http.ResponseWriter, r *http.Request) {
	fs, err := h.src.Quality(r.Context())
	if err != nil {
		h.unavailable(w, err)
		return
	}
	if fs == nil {
		fs = []readmodel.FacilityQuality{}
	}
	writeJSON(w, QualityReport{Facilities: fs})
}

func (h *Handler) facilityQuality(w http.ResponseWriter, r *http.Request) {
	facility := r.PathValue("facility")
	if len(facility) > maxFacilityName {
		http.Error(w, "no facility with a name this long here", http.StatusNotFound)
		return
	}
	fq, err := h.src.FacilityQuality(r.Context(), facility)
	switch {
	case errors.Is(err, readmodel.ErrNotFound):
		http.Error(w, fmt.Sprintf("no live datasets of a facility %q here", facility), http.StatusNotFound)
		return
	case err != nil:
		h.unavailable(w, err)
		return
	}
	writeJSON(w, fq)
}

// writeJSON answers v as JSON.
func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, "cannot encode the answer", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(append(b, '\n'))
}
