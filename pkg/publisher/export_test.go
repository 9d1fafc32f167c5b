package publisher

import "time"

// SetClock sets the clock h reads when it moves write deadlines.
func SetClock(h *Handler, now func() time.Time) { h.now = now }
