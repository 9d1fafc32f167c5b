package metadata

import (
	"math"
	"strconv"
	"strings"
)

// MediaType returns a media type in lower case without parameters, and
// whether s is one: a top-level type of RFC 6838 (application, audio, font,
// image, message, model, multipart, text, video) and a subtype of token
// characters, at most 127 characters in all.
func MediaType(s string) (string, bool) {
	m := strings.ToLower(strings.TrimSpace(s))
	if i := strings.IndexByte(m, ';'); i >= 0 {
		m = strings.TrimSpace(m[:i])
	}
	top, sub, ok := strings.Cut(m, "/")
	if !ok || sub == "" || len(m) > 127 {
		return "", false
	}
	switch top {
	case "application", "audio", "font", "image", "message", "model", "multipart", "text", "video":
	default:
		return "", false
	}
	for _, r := range sub {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$&-^_.+", r)) {
			return "", false
		}
	}
	return m, true
}

// byteUnits are the multipliers of the size units ByteSize reads: SI
// prefixes are decimal (1 kB = 1000 bytes, as DataCite's examples and
// SciCat mean them), IEC prefixes binary.
var byteUnits = map[string]float64{
	"": 1, "b": 1, "byte": 1, "bytes": 1, "octets": 1,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12, "pb": 1e15,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40, "pib": 1 << 50,
}

// ByteSize reads a data size written as a number of bytes, with or without
// a unit ("123456", "123456 bytes", "12.4 GB", "3 KiB", "1,024 B"), and
// reports whether s is one. Sizes in other units ("15 files", "3 pages"),
// negative or beyond 2^63 bytes are not.
func ByteSize(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.' || s[i] == ',') {
		i++
	}
	num := strings.ReplaceAll(s[:i], ",", "")
	unit := strings.ToLower(strings.TrimSpace(s[i:]))
	m, ok := byteUnits[unit]
	if num == "" || !ok || len(num) > 30 {
		return 0, false
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 {
		return 0, false
	}
	b := math.Round(v * m)
	if b >= math.MaxInt64 || math.IsNaN(b) {
		return 0, false
	}
	return int64(b), true
}

// FormatAndSize reads the format and size statements of a record (DataCite
// <formats> and <sizes>, Dublin Core dc:format, which holds either): the
// first format that is not a media type, the first media type, and the
// first size in bytes (ByteSize; 0 when none). Blank values are skipped.
func FormatAndSize(formats, sizes []string) (format, mediaType string, bytes int64) {
	for _, f := range formats {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if m, ok := MediaType(f); ok {
			if mediaType == "" {
				mediaType = m
			}
			continue
		}
		if n, ok := ByteSize(f); ok && bytes == 0 && strings.ContainsAny(f, "0123456789") {
			bytes = n
			continue
		}
		if format == "" {
			format = f
		}
	}
	for _, s := range sizes {
		if n, ok := ByteSize(s); ok && bytes == 0 {
			bytes = n
		}
	}
	return format, mediaType, bytes
}

// FileCount reads a number of files written as such ("15 files", "1 file",
// "2,048 files") and reports whether s is one.
func FileCount(s string) (int64, bool) {
	num, unit, ok := strings.Cut(strings.TrimSpace(s), " ")
	unit = strings.ToLower(strings.TrimSpace(unit))
	if !ok || (unit != "files" && unit != "file") {
		return 0, false
	}
	num = strings.ReplaceAll(num, ",", "")
	if num == "" || len(num) > 18 {
		return 0, false
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}
