package usage

import (
	"encoding/json"
	"fmt"
)

// readRobotsJSON reads a robots list given as a JSON array of objects with
// a "pattern" field.
func readRobotsJSON(data []byte) ([]string, error) {
	var entries []struct {
		Pattern string `json:"pattern"`
	}
	if err := json.Unmarshal(data, &entries); err != nil {
		return nil, fmt.Errorf("usage: robots: %w", err)
	}
	list := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.Pattern != "" {
			list = append(list, e.Pattern)
		}
	}
	return list, nil
}
