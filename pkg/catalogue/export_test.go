package catalogue

import "time"

// SetClock sets the clock h reads when it moves write deadlines.
func SetClock(h *Handler, now func() time.Time) { h.now = now }

// SetMaxStream replaces the bound on a streamed answer.
func SetMaxStream(h *Handler, d time.Duration) { h.maxStream = d }
