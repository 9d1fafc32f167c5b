package oaipmh

import (
	"bytes"
	"encoding/xml"
	"io"
	"unicode/utf8"

	"github.com/panosc/fairway/pkg/xmlcharset"
)

// input is the byte source of the XML decoder. It
//
//   - converts ISO-8859-1 / windows-1252 / ISO-8859-15 documents to UTF-8
//     (detected from the XML declaration; see package xmlcharset), so that the
//     decoder and the captured payloads only ever see UTF-8;
//   - replaces characters that are illegal in XML 1.0 (C0 controls other than
//     tab, newline and carriage return; U+FFFE, U+FFFF), invalid UTF-8
//     sequences and character references to illegal characters (&#x1;) by
//     U+FFFD;
//   - escapes a bare "&" (one that does not start a well-formed reference to a
//     known entity, e.g. in "R&D") as "&amp;", except inside CDATA sections;
//   - implements io.ByteReader, so that encoding/xml reads from it directly
//     without a read-ahead buffer, which lets it capture exactly the bytes the
//     decoder consumed between two offsets (the raw metadata payloads).
type input struct {
	src     io.Reader
	pre     []byte // sniffed bytes, processed before src is read again
	raw     []byte // read buffer; carry bytes are copied to its front
	carry   []byte // incomplete UTF-8 sequence at the end of the last chunk
	buf     []byte // sanitised bytes ready for the decoder
	i       int    // next byte of buf
	off     int64  // absolute offset (in the sanitised stream) of buf[i]
	last    byte   // last byte returned
	latin1  bool
	inCDATA bool
	err     error // sticky error of src (io.EOF included)

	// capture of the consumed bytes from capBase on
	capturing bool
	capFrom   int // first byte of buf not yet appended to cap
	capBase   int64
	capBuf    []byte
	capLimit  int // < 0: unlimited
	capOver   bool

	repairs int // number of characters replaced or escaped
}

const (
	readChunk = 32 << 10
	// maxCarry bounds the lookahead kept between two reads (an entity
	// reference, a CDATA marker or a UTF-8 sequence).
	maxCarry = 64
	// maxRefLen bounds the length of an entity or character reference.
	maxRefLen = 40
)

var replacementChar = []byte("\uFFFD")

// newInput sniffs the XML declaration of r and prepares the sanitising reader.
// It returns an error wrapping fetch.ErrMalformedResponse for encodings it cannot
// read.
func newInput(r io.Reader) (*input, error) {
	in := &input{src: r, raw: make([]byte, readChunk+maxCarry), capLimit: -1}
	var pre []byte
	tmp := make([]byte, 512)
	for len(pre) < 1024 {
		n, err := r.Read(tmp)
		pre = append(pre, tmp[:n]...)
		if err != nil {
			in.err = err
			break
		}
		// Stop as soon as the declaration is complete, or when there is none.
		trimmed := bytes.TrimLeft(bytes.TrimPrefix(pre, []byte("\xEF\xBB\xBF")), " \t\r\n")
		if len(trimmed) >= 5 && !bytes.HasPrefix(trimmed, []byte("<?xml")) {
			break
		}
		if bytes.Contains(pre, []byte("?>")) {
			break
		}
	}
	if bytes.HasPrefix(pre, []byte("\xFE\xFF")) || bytes.HasPrefix(pre, []byte("\xFF\xFE")) {
		return nil, malformed("UTF-16 documents are not supported")
	}
	pre = bytes.TrimPrefix(pre, []byte("\xEF\xBB\xBF"))
	if label := xmlcharset.Declared(pre); label != "" {
		switch xmlcharset.Lookup(label) {
		case xmlcharset.UTF8, xmlcharset.ASCII:
		case xmlcharset.Latin1:
			in.latin1 = true
		default:
			return nil, malformed("unsupported encoding %q", label)
		}
	}
	in.pre = pre
	return in, nil
}

// charsetReader is installed as the decoder's CharsetReader: newInput has
// already converted what it accepts, so the stream is passed through.
func charsetReader(label string, r io.Reader) (io.Reader, error) {
	if xmlcharset.Lookup(label) == xmlcharset.Unsupported {
		return nil, malformed("unsupported encoding %q", label)
	}
	return r, nil
}

// ReadByte implements io.ByteReader.
func (in *input) ReadByte() (byte, error) {
	if in.i >= len(in.buf) {
		if err := in.fill(); err != nil {
			return 0, err
		}
	}
	b := in.buf[in.i]
	in.i++
	in.off++
	in.last = b
	return b, nil
}

// Read implements io.Reader (not used by encoding/xml, which prefers ReadByte).
func (in *input) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if in.i >= len(in.buf) {
		if err := in.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, in.buf[in.i:])
	in.i += n
	in.off += int64(n)
	in.last = in.buf[in.i-1]
	return n, nil
}

func (in *input) fill() error {
	if in.capturing {
		in.flushCapture()
	}
	in.capFrom = 0
	in.buf = in.buf[:0]
	in.i = 0
	for len(in.buf) == 0 {
		var data []byte
		switch {
		case in.pre != nil:
			data = append(in.carry, in.pre...)
			in.carry = nil
			in.pre = nil
		case in.err != nil:
			if len(in.carry) == 0 {
				return in.err
			}
			// lookahead left at the very end of the input
			data = append([]byte(nil), in.carry...)
			in.carry = in.carry[:0]
		default:
			k := copy(in.raw, in.carry)
			in.carry = in.carry[:0]
			n, err := in.src.Read(in.raw[k:])
			if err != nil {
				in.err = err
			}
			data = in.raw[:k+n]
		}
		in.sanitize(data, in.err != nil && in.pre == nil)
	}
	return nil
}

// special marks the bytes that leave sanitize's fast path.
var special = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = c != '\t' && c != '\n' && c != '\r'
	}
	for c := 0x80; c < 0x100; c++ {
		t[c] = true
	}
	t['&'], t['<'], t[']'] = true, true, true
	return t
}()

var (
	cdataOpen  = []byte("<![CDATA[")
	cdataClose = []byte("]]>")
	escapedAmp = []byte("&amp;")
)

// sanitize appends data to in.buf, converting and repairing as described on
// input. Unless atEOF, a tail that needs more lookahead (an incomplete UTF-8
// sequence, reference or CDATA marker) is kept in carry for the next call.
func (in *input) sanitize(data []byte, atEOF bool) {
	i := 0
	for i < len(data) {
		j := i
		for j < len(data) && !special[data[j]] {
			j++
		}
		in.buf = append(in.buf, data[i:j]...)
		i = j
		if i >= len(data) {
			break
		}
		rest := data[i:]
		c := rest[0]
		switch {
		case c == '<' && !in.inCDATA:
			switch {
			case bytes.HasPrefix(rest, cdataOpen):
				in.inCDATA = true
				in.buf = append(in.buf, cdataOpen...)
				i += len(cdataOpen)
				continue
			case len(rest) < len(cdataOpen) && !atEOF && bytes.HasPrefix(cdataOpen, rest):
				in.carry = append(in.carry[:0], rest...)
				return
			}
			in.buf = append(in.buf, c)
			i++
		case c == ']' && in.inCDATA:
			switch {
			case bytes.HasPrefix(rest, cdataClose):
				in.inCDATA = false
				in.buf = append(in.buf, cdataClose...)
				i += len(cdataClose)
				continue
			case len(rest) < len(cdataClose) && !atEOF && bytes.HasPrefix(cdataClose, rest):
				in.carry = append(in.carry[:0], rest...)
				return
			}
			in.buf = append(in.buf, c)
			i++
		case c == '&' && !in.inCDATA:
			n, verdict := reference(rest)
			switch {
			case verdict == refUndecided && !atEOF:
				in.carry = append(in.carry[:0], rest...)
				return
			case verdict == refValid:
				in.buf = append(in.buf, rest[:n]...)
				i += n
			case verdict == refIllegalChar:
				in.buf = append(in.buf, replacementChar...)
				in.repairs++
				i += n
			default: // bare '&'
				in.buf = append(in.buf, escapedAmp...)
				in.repairs++
				i++
			}
		case c == '<' || c == ']' || c == '&': // inside CDATA, or ']' outside
			in.buf = append(in.buf, c)
			i++
		case c < 0x80: // illegal C0 control character
			in.buf = append(in.buf, replacementChar...)
			in.repairs++
			i++
		case in.latin1:
			in.buf = utf8.AppendRune(in.buf, xmlcharset.Rune(c))
			i++
		case !atEOF && !utf8.FullRune(rest):
			in.carry = append(in.carry[:0], rest...)
			return
		default:
			r, size := utf8.DecodeRune(rest)
			if (r == utf8.RuneError && size == 1) || r == 0xFFFE || r == 0xFFFF {
				in.buf = append(in.buf, replacementChar...)
				in.repairs++
			} else {
				in.buf = append(in.buf, rest[:size]...)
			}
			i += size
		}
	}
}

type refVerdict int

const (
	refUndecided   refVerdict = iota // more input is needed
	refBare                          // not a reference: the '&' must be escaped
	refValid                         // a well-formed reference to keep as is
	refIllegalChar                   // a character reference to an illegal character
)

// reference classifies the reference starting at b[0] == '&' and returns its
// length when it is one.
func reference(b []byte) (int, refVerdict) {
	j := 1
	if j >= len(b) {
		return 0, refUndecided
	}
	if b[j] == '#' {
		j++
		hex := j < len(b) && b[j] == 'x'
		if hex {
			j++
		}
		start := j
		var v uint64
	digits:
		for j < len(b) && j < maxRefLen {
			c := b[j]
			var d uint64
			switch {
			case c >= '0' && c <= '9':
				d = uint64(c - '0')
			case hex && c >= 'a' && c <= 'f':
				d = uint64(c-'a') + 10
			case hex && c >= 'A' && c <= 'F':
				d = uint64(c-'A') + 10
			default:
				break digits
			}
			if v < 1<<32 {
				if hex {
					v = v*16 + d
				} else {
					v = v*10 + d
				}
			}
			j++
		}
		if j >= len(b) && j < maxRefLen {
			return 0, refUndecided
		}
		if j == start || j >= len(b) || b[j] != ';' {
			return 0, refBare
		}
		if !legalXMLChar(v) {
			return j + 1, refIllegalChar
		}
		return j + 1, refValid
	}
	if !isNameStartByte(b[j]) {
		return 0, refBare
	}
	for j < len(b) && j < maxRefLen && isNameByte(b[j]) {
		j++
	}
	if j >= len(b) && j < maxRefLen {
		return 0, refUndecided
	}
	if j >= len(b) || b[j] != ';' {
		return 0, refBare
	}
	switch name := string(b[1:j]); name {
	case "lt", "gt", "amp", "apos", "quot":
		return j + 1, refValid
	default:
		if _, ok := xml.HTMLEntity[name]; ok {
			return j + 1, refValid
		}
	}
	return 0, refBare
}

func isNameStartByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == ':'
}

func isNameByte(c byte) bool {
	return isNameStartByte(c) || c >= '0' && c <= '9' || c == '.' || c == '-'
}

func legalXMLChar(v uint64) bool {
	return v == 0x09 || v == 0x0A || v == 0x0D ||
		v >= 0x20 && v <= 0xD7FF || v >= 0xE000 && v <= 0xFFFD || v >= 0x10000 && v <= 0x10FFFF
}

// startCapture starts recording consumed bytes from the absolute offset from,
// which must be the current offset or the one before it (encoding/xml may hold
// one byte back).
func (in *input) startCapture(from int64, limit int) {
	in.capturing = true
	in.capBuf = in.capBuf[:0]
	in.capOver = false
	in.capBase = from
	in.capLimit = limit
	back := int(in.off - from)
	switch {
	case back <= 0:
		in.capFrom = in.i
		in.capBase = in.off
	case back <= in.i:
		in.capFrom = in.i - back
	default: // only the last byte can lie in a previous buffer
		in.capBuf = append(in.capBuf, in.last)
		in.capBase = in.off - 1
		in.capFrom = in.i
	}
}

func (in *input) flushCapture() {
	chunk := in.buf[in.capFrom:in.i]
	in.capFrom = in.i
	if in.capLimit >= 0 && len(in.capBuf)+len(chunk) > in.capLimit {
		chunk = chunk[:max(0, in.capLimit-len(in.capBuf))]
		in.capOver = true
	}
	in.capBuf = append(in.capBuf, chunk...)
}

// trimCapture drops captured bytes before the absolute offset from and sets a
// new limit for what follows.
func (in *input) trimCapture(from int64, limit int) {
	in.flushCapture()
	k := int(from - in.capBase)
	if k > 0 {
		if k > len(in.capBuf) {
			k = len(in.capBuf)
		}
		n := copy(in.capBuf, in.capBuf[k:])
		in.capBuf = in.capBuf[:n]
		in.capBase += int64(k)
	}
	in.capLimit = limit
	if limit >= 0 && len(in.capBuf) > limit {
		in.capBuf = in.capBuf[:limit]
		in.capOver = true
	}
}

// captured returns a copy of the consumed bytes in [from, to), or nil when
// they were not all kept.
func (in *input) captured(from, to int64) []byte {
	in.flushCapture()
	a, b := int(from-in.capBase), int(to-in.capBase)
	if a < 0 || b < a || b > len(in.capBuf) {
		return nil
	}
	return bytes.Clone(in.capBuf[a:b])
}

func (in *input) stopCapture() {
	in.capturing = false
	in.capBuf = in.capBuf[:0]
	in.capOver = false
	in.capLimit = -1
}
