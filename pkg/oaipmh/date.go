package oaipmh

import (
	"fmt"
	"strings"
	"time"

	"github.com/panosc/fairway/pkg/metadata"
)

// Granularities an OAI-PMH repository may declare in Identify.
const (
	GranularityDay     = "YYYY-MM-DD"
	GranularitySeconds = "YYYY-MM-DDThh:mm:ssZ"
)

// ParseDate parses a date as found in OAI-PMH responses (datestamps,
// responseDate, resumption token expiry) and from/until arguments:
// metadata.ParseISODate, leniently where feeds need it (month or day "00",
// a missing zone, 24:00:00). Errors wrap metadata.ErrInvalidDate.
func ParseDate(s string) (time.Time, error) {
	t, err := metadata.ParseISODate(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("oaipmh: %w", err)
	}
	return t, nil
}

// FormatDate formats t for the from/until arguments of a repository with the
// given granularity (as declared by Identify). Anything but GranularityDay
// formats to seconds, in UTC.
func FormatDate(t time.Time, granularity string) string {
	if strings.TrimSpace(granularity) == GranularityDay {
		return t.UTC().Format("2006-01-02")
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}
