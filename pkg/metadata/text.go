package metadata

import "strings"

// FirstNonBlank returns the first of ss that is not blank (empty or white
// space only), as it is, or "": the value of a field that a record may
// spell under several names, some of them left blank.
func FirstNonBlank(ss ...string) string {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}
