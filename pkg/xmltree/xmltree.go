// Package xmltree reads a metadata payload (one XML element cut out of a
// harvested document) into a small in-memory element tree whose elements and
// attributes are looked up by their local names only.
//
// Real feeds declare wrong namespaces, no namespaces, or prefixes that were
// declared on an ancestor the payload was cut from, so namespaces are never
// used to find anything. The reader is lenient where it costs nothing:
// HTML entities such as &nbsp; are accepted, characters that are illegal in
// XML 1.0 and invalid UTF-8 are replaced by U+FFFD, and a payload declaring
// ISO-8859-1, windows-1252, ISO-8859-15 or ASCII that is not valid UTF-8 is
// converted as package xmlcharset says. It still rejects what is not XML at
// all or is truncated, with an error wrapping ErrMalformed.
package xmltree

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/panosc/fairway/pkg/xmlcharset"
)

// ErrMalformed is wrapped by every error of Parse.
var ErrMalformed = errors.New("xmltree: malformed XML")

// MaxDepth is the deepest element nesting Parse accepts.
const MaxDepth = 256

// Element is one XML element. The zero of every accessor is returned on a
// nil *Element, so lookups can be chained: root.Child("titles").Child("title").Text().
type Element struct {
	// Name is the local name of the element.
	Name string
	// Space is the namespace the element resolved to: a namespace URI when
	// its prefix (or default namespace) was declared inside the payload, the
	// bare prefix when it was not, "" when there is neither.
	Space string
	// Attrs are the element's attributes as the decoder returned them;
	// look them up with Attr.
	Attrs   []xml.Attr
	content []node
}

// node is one piece of an element's content: character data or a child.
type node struct {
	text string
	el   *Element
}

// Parse reads the first element of payload and everything inside it. Leading
// comments, processing instructions and blanks are skipped; anything after
// the first element is ignored.
func Parse(payload []byte) (*Element, error) {
	b, err := prepare(payload)
	if err != nil {
		return nil, err
	}
	if root, ok := parseFast(b); ok {
		return root, nil
	}
	return parseDecoder(b)
}

// parseDecoder is Parse with encoding/xml's tokenizer. It reads what
// parseFast leaves to it: every payload that is not plain XML, and every
// error.
func parseDecoder(b []byte) (*Element, error) {
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = false
	d.Entity = xml.HTMLEntity
	// prepare has already made the input UTF-8, whatever it declares.
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }

	var root *Element
	var stack []*Element
	for {
		tok, err := d.Token()
		if err == io.EOF {
			if root == nil {
				return nil, fmt.Errorf("%w: no element", ErrMalformed)
			}
			return nil, fmt.Errorf("%w: unexpected end inside <%s>", ErrMalformed, stack[len(stack)-1].Name)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= MaxDepth {
				return nil, fmt.Errorf("%w: elements nested deeper than %d", ErrMalformed, MaxDepth)
			}
			el := &Element{Name: t.Name.Local, Space: t.Name.Space, Attrs: t.Attr}
			if len(stack) == 0 {
				root = el
			} else {
				parent := stack[len(stack)-1]
				parent.content = append(parent.content, node{el: el})
			}
			stack = append(stack, el)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return root, nil
			}
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) > 0 {
					return nil, fmt.Errorf("%w: text %q outside the root element", ErrMalformed, abbreviate(string(t)))
				}
				continue
			}
			parent := stack[len(stack)-1]
			parent.content = append(parent.content, node{text: string(t)})
		}
	}
}

// Attr returns the trimmed value of the first attribute with the given local
// name (compared case-insensitively, whatever its prefix), or "".
func (e *Element) Attr(local string) string {
	if e == nil {
		return ""
	}
	for _, a := range e.Attrs {
		if strings.EqualFold(a.Name.Local, local) {
			return strings.TrimSpace(a.Value)
		}
	}
	return ""
}

// Is reports whether the element's local name is local, compared
// case-insensitively.
func (e *Element) Is(local string) bool {
	return e != nil && strings.EqualFold(e.Name, local)
}

// Elements returns the child elements in document order.
func (e *Element) Elements() []*Element {
	if e == nil {
		return nil
	}
	var out []*Element
	for _, n := range e.content {
		if n.el != nil {
			out = append(out, n.el)
		}
	}
	return out
}

// Child returns the first child element with the given local name (compared
// case-insensitively), or nil.
func (e *Element) Child(local string) *Element {
	if e == nil {
		return nil
	}
	for _, n := range e.content {
		if n.el != nil && strings.EqualFold(n.el.Name, local) {
			return n.el
		}
	}
	return nil
}

// Children returns the child elements with the given local name (compared
// case-insensitively), in document order.
func (e *Element) Children(local string) []*Element {
	if e == nil {
		return nil
	}
	var out []*Element
	for _, n := range e.content {
		if n.el != nil && strings.EqualFold(n.el.Name, local) {
			out = append(out, n.el)
		}
	}
	return out
}

// Text returns all the character data inside the element, descendants
// included, with runs of white space collapsed to one blank and the ends
// trimmed: the form for names, titles and identifiers.
func (e *Element) Text() string {
	return collapse(e.RawText())
}

// collapse is strings.Join(strings.Fields(s), " "), without the work when
// s is already in that form.
func collapse(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			// Unicode has white space of its own: leave it to Fields.
			return strings.Join(strings.Fields(s), " ")
		}
		switch c {
		case '\t', '\n', '\v', '\f', '\r':
			return strings.Join(strings.Fields(s), " ")
		case ' ':
			if i == 0 || i == len(s)-1 || s[i+1] == ' ' {
				return strings.Join(strings.Fields(s), " ")
			}
		}
	}
	return s
}

// Block returns the character data inside the element as paragraphs: the
// lines of a paragraph are joined with a blank (they are usually the
// wrapping of a pretty-printed document), white space inside a line is
// collapsed, and paragraphs — separated by empty lines or <br/> elements —
// are joined with an empty line. It is the form for descriptions.
func (e *Element) Block() string {
	raw := strings.ReplaceAll(e.RawText(), "\r\n", "\n")
	raw = strings.ReplaceAll(raw, "\r", "\n")
	var paras []string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			paras = append(paras, strings.Join(cur, " "))
			cur = cur[:0]
		}
	}
	for _, line := range strings.Split(raw, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			flush()
			continue
		}
		cur = append(cur, strings.Join(f, " "))
	}
	flush()
	return strings.Join(paras, "\n\n")
}

// RawText returns all the character data inside the element, descendants
// included, exactly as decoded; a <br/> element counts as a paragraph break.
func (e *Element) RawText() string {
	if e == nil {
		return ""
	}
	if len(e.content) == 1 && e.content[0].el == nil {
		return e.content[0].text
	}
	var sb strings.Builder
	e.appendText(&sb)
	return sb.String()
}

func (e *Element) appendText(sb *strings.Builder) {
	for _, n := range e.content {
		switch {
		case n.el == nil:
			sb.WriteString(n.text)
		case strings.EqualFold(n.el.Name, "br"):
			sb.WriteString("\n\n")
		default:
			n.el.appendText(sb)
		}
	}
}

// prepare makes payload safe for encoding/xml: UTF-8 only, without the
// characters XML 1.0 forbids.
func prepare(payload []byte) ([]byte, error) {
	b := bytes.TrimPrefix(payload, []byte("\xEF\xBB\xBF"))
	if bytes.HasPrefix(b, []byte("\xFE\xFF")) || bytes.HasPrefix(b, []byte("\xFF\xFE")) {
		return nil, fmt.Errorf("%w: UTF-16 payloads are not supported", ErrMalformed)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, fmt.Errorf("%w: empty payload", ErrMalformed)
	}
	if clean(b) {
		// Valid UTF-8 of legal characters, the everyday payload.
		return b, nil
	}
	if !utf8.Valid(b) {
		// A payload cut out of a converted document is UTF-8 whatever it
		// declares; one that is not, and declares a single-byte encoding,
		// is converted.
		switch xmlcharset.Lookup(xmlcharset.Declared(b)) {
		case xmlcharset.Latin1, xmlcharset.ASCII:
			b = xmlcharset.ToUTF8(b)
		}
	}
	if clean(b) {
		return b, nil
	}
	return sanitise(b), nil
}

// legal reports whether r may appear in an XML 1.0 document.
func legal(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' ||
		(r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= unicode.MaxRune)
}

// clean reports whether b is valid UTF-8 made of legal XML characters only.
func clean(b []byte) bool {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 || !legal(r) {
			return false
		}
		i += n
	}
	return true
}

// sanitise replaces invalid UTF-8 and illegal characters by U+FFFD.
func sanitise(b []byte) []byte {
	out := make([]byte, 0, len(b)+8)
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if (r == utf8.RuneError && n == 1) || !legal(r) {
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, b[i:i+n]...)
		}
		i += n
	}
	return out
}

func abbreviate(s string) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > 40 {
		r := []rune(s)
		return string(r[:40]) + "…"
	}
	return s
}
