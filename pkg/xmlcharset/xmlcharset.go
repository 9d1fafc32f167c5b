// Package xmlcharset says which character encodings the pipeline's XML
// readers (the OAI-PMH client's page parser, the metadata tree of package
// xmltree) accept in an XML declaration, and converts the single-byte ones
// to UTF-8: one list of labels and one conversion for both.
package xmlcharset

import (
	"bytes"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Encoding is a family of character encodings that the readers treat
// alike.
type Encoding int

const (
	// Unsupported is any encoding not listed below (UTF-16 among them).
	Unsupported Encoding = iota
	// UTF8 is UTF-8: "utf-8", "utf8".
	UTF8
	// ASCII is US-ASCII, a subset of UTF-8: "us-ascii", "ascii",
	// "iso646-us". A document that declares it but holds other bytes is
	// most likely Latin-1.
	ASCII
	// Latin1 is ISO-8859-1, windows-1252 and ISO-8859-15, all read as
	// windows-1252 (see Rune): "iso-8859-1", "iso8859-1", "iso_8859-1",
	// "latin1", "latin-1", "l1", "windows-1252", "cp1252", "iso-8859-15",
	// "iso8859-15", "latin9".
	Latin1
)

// Lookup returns the encoding an encoding label names, in any letter case
// and with blanks around it.
func Lookup(label string) Encoding {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "utf-8", "utf8":
		return UTF8
	case "us-ascii", "ascii", "iso646-us":
		return ASCII
	case "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1",
		"windows-1252", "cp1252", "iso-8859-15", "iso8859-15", "latin9":
		return Latin1
	}
	return Unsupported
}

var (
	bom          = []byte("\xEF\xBB\xBF")
	encodingAttr = regexp.MustCompile(`encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']`)
)

// Declared returns the encoding label of the XML declaration that starts
// doc (after a UTF-8 byte order mark and blanks), or "" when doc starts
// with no complete declaration or the declaration names no encoding.
func Declared(doc []byte) string {
	b := bytes.TrimLeft(bytes.TrimPrefix(doc, bom), " \t\r\n")
	if !bytes.HasPrefix(b, []byte("<?xml")) {
		return ""
	}
	end := bytes.Index(b, []byte("?>"))
	if end < 0 {
		return ""
	}
	if m := encodingAttr.FindSubmatch(b[:end]); m != nil {
		return string(m[1])
	}
	return ""
}

// windows1252 maps the bytes 0x80–0x9F of windows-1252; zero means
// undefined.
var windows1252 = [32]rune{
	0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
	0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
}

// Rune returns the character of byte c in a Latin1 document: c itself,
// except that the bytes 0x80–0x9F are windows-1252's characters (as web
// browsers read ISO-8859-1 too), U+FFFD for the five it leaves undefined.
func Rune(c byte) rune {
	if c >= 0x80 && c <= 0x9F {
		if r := windows1252[c-0x80]; r != 0 {
			return r
		}
		return utf8.RuneError
	}
	return rune(c)
}

// ToUTF8 converts a Latin1 document to UTF-8 (see Rune).
func ToUTF8(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(b)/8)
	for _, c := range b {
		out = utf8.AppendRune(out, Rune(c))
	}
	return out
}
