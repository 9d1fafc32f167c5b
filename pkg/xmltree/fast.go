package xmltree

import (
	"encoding/xml"
	"strconv"
	"strings"
	"unicode/utf8"
)

// parseFast builds the tree of a prepared payload (UTF-8 of legal XML
// characters) in one pass over its bytes, with the result encoding/xml's
// non-strict Token loop of parseDecoder gives. It reads the payloads the
// pipeline meets every day: elements, attributes (quoted or not, or without
// a value), character and entity references, CDATA sections, comments and
// processing instructions. Whatever else it meets — a DOCTYPE or other
// directive, a name that is not ASCII, an end tag that does not match,
// nesting deeper than MaxDepth, a character reference to an illegal
// character, text outside the root, a syntax error or the end of the
// payload before the root is closed — it gives up (ok is false) and
// parseDecoder reads the payload instead, so that the rare forms and every
// error keep encoding/xml's behaviour and messages.
//
// The tree's strings are substrings of one copy of the payload where the
// payload holds them verbatim, and its elements, attributes and content
// are cut out of a few shared slices, so a payload costs a handful of
// allocations rather than several per element.
func parseFast(b []byte) (root *Element, ok bool) {
	p := fastParser{s: string(b)}
	return p.parse()
}

type fastParser struct {
	s string
	i int

	els     []Element  // elements not yet handed out
	elsLeft int        // how many more elements the payload can hold
	attrs   []xml.Attr // attributes not yet handed out
	nodes   []node     // the content of closed elements
	pending []node     // the content of open elements, innermost last
	stack   []openElement
	ns      []nsBinding
	buf     []byte // decoded text that is not a substring
}

// firstSlab is the most elements or attributes parseFast allocates before
// it has read any.
const firstSlab = 256

type openElement struct {
	el            *Element
	prefix, local string // the name as written
	mark          int    // where el's content starts in pending
	nsMark        int    // the bindings in force before el
}

type nsBinding struct{ prefix, uri string }

const xmlURL = "http://www.w3.org/XML/1998/namespace"

func (p *fastParser) parse() (*Element, bool) {
	s := p.s
	// Upper bounds: every element starts with '<' that no '/' follows,
	// every attribute but a valueless one has its '='. A hostile payload
	// can hold far more of them than it can have elements, so the slices
	// start at no more than firstSlab and grow with what is read.
	lt := strings.Count(s, "<")
	p.elsLeft = max(lt-strings.Count(s, "</"), 1)
	p.els = make([]Element, 0, min(p.elsLeft, firstSlab))
	p.elsLeft -= cap(p.els)
	p.attrs = make([]xml.Attr, 0, min(strings.Count(s, "=")+1, firstSlab))
	p.nodes = make([]node, 0, min(lt+1, 2*firstSlab))
	var root *Element
	for p.i < len(s) {
		if s[p.i] != '<' {
			text, ok := p.text()
			if !ok {
				return nil, false
			}
			if len(p.stack) == 0 {
				if strings.TrimSpace(text) != "" {
					return nil, false
				}
				continue
			}
			p.pending = append(p.pending, node{text: text})
			continue
		}
		if p.i+1 >= len(s) {
			return nil, false
		}
		switch s[p.i+1] {
		case '/':
			p.i += 2
			if !p.endTag() {
				return nil, false
			}
			if len(p.stack) == 0 {
				return root, true
			}
		case '?':
			p.i += 2
			if !p.procInst() {
				return nil, false
			}
		case '!':
			p.i += 2
			text, isText, ok := p.bang()
			if !ok {
				return nil, false
			}
			if !isText {
				continue
			}
			if len(p.stack) == 0 {
				if strings.TrimSpace(text) != "" {
					return nil, false
				}
				continue
			}
			p.pending = append(p.pending, node{text: text})
		default:
			p.i++
			el, empty, ok := p.startTag()
			if !ok {
				return nil, false
			}
			if root == nil {
				root = el
			}
			if empty {
				p.close()
				if len(p.stack) == 0 {
					return root, true
				}
			}
		}
	}
	return nil, false
}

// text reads character data up to the next '<' or the end.
func (p *fastParser) text() (string, bool) {
	s := p.s
	start := p.i
	end := strings.IndexByte(s[start:], '<')
	if end < 0 {
		// The payload ends inside an element, or after text outside it:
		// an error either way.
		return "", false
	}
	end += start
	raw := s[start:end]
	if strings.Contains(raw, "]]>") {
		return "", false
	}
	p.i = end
	if strings.IndexByte(raw, '&') < 0 && strings.IndexByte(raw, '\r') < 0 {
		return raw, true
	}
	return p.decode(raw)
}

// decode resolves the references and line ends of raw, character data or
// an attribute value that holds no '<', as encoding/xml's non-strict
// decoder does: a reference it cannot resolve is kept as written.
func (p *fastParser) decode(raw string) (string, bool) {
	out := p.buf[:0]
	prevCR := false
	for j := 0; j < len(raw); {
		c := raw[j]
		switch {
		case c == '\r':
			out = append(out, '\n')
			prevCR = true
			j++
			continue
		case c == '\n' && prevCR:
			prevCR = false
			j++
			continue
		case c != '&':
			out = append(out, c)
			prevCR = false
			j++
			continue
		}
		prevCR = false
		ref, n, ok := reference(raw[j:])
		if !ok {
			return "", false
		}
		out = append(out, ref...)
		j += n
	}
	p.buf = out
	return string(out), true
}

// reference reads the reference that starts s (at its '&') and returns
// what it stands for and how many bytes it takes; what is not a
// reference encoding/xml resolves stands for itself. s ends where its
// text does (before a '<' or the closing quote), neither of which
// continues a reference. It fails on a reference to an illegal character.
func reference(s string) (string, int, bool) {
	j := 1
	if j >= len(s) {
		return s, j, true
	}
	if s[j] == '#' {
		j++
		if j >= len(s) {
			return s, j, true
		}
		base := 10
		if s[j] == 'x' {
			base = 16
			j++
		}
		digits := j
		for j < len(s) && (s[j] >= '0' && s[j] <= '9' || base == 16 && (s[j] >= 'a' && s[j] <= 'f' || s[j] >= 'A' && s[j] <= 'F')) {
			j++
		}
		if j >= len(s) || s[j] != ';' {
			return s[:j], j, true
		}
		n, err := strconv.ParseUint(s[digits:j], base, 64)
		if err != nil || n > utf8.MaxRune {
			return s[:j+1], j + 1, true
		}
		r := rune(n)
		if !utf8.ValidRune(r) {
			r = utf8.RuneError
		}
		if !legal(r) {
			return "", 0, false
		}
		return string(r), j + 1, true
	}
	for j < len(s) && (s[j] >= utf8.RuneSelf || isNameByte(s[j])) {
		j++
	}
	if j >= len(s) || s[j] != ';' {
		return s[:j], j, true
	}
	name := s[1:j]
	if v, ok := builtinEntity(name); ok {
		return v, j + 1, true
	}
	if v, ok := xml.HTMLEntity[name]; ok && asciiName(name) {
		return v, j + 1, true
	}
	return s[:j+1], j + 1, true
}

func builtinEntity(name string) (string, bool) {
	switch name {
	case "lt":
		return "<", true
	case "gt":
		return ">", true
	case "amp":
		return "&", true
	case "apos":
		return "'", true
	case "quot":
		return `"`, true
	}
	return "", false
}

func isNameByte(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '_' || c == ':' || c == '.' || c == '-'
}

// asciiName reports whether s is an XML name made of ASCII characters.
func asciiName(s string) bool {
	if s == "" {
		return false
	}
	if c := s[0]; !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == '_' || c == ':') {
		return false
	}
	for j := 1; j < len(s); j++ {
		if !isNameByte(s[j]) {
			return false
		}
	}
	return true
}

// name reads an ASCII XML name.
func (p *fastParser) name() (string, bool) {
	s := p.s
	start := p.i
	j := start
	for j < len(s) && isNameByte(s[j]) {
		j++
	}
	if j < len(s) && s[j] >= utf8.RuneSelf {
		return "", false
	}
	n := s[start:j]
	if !asciiName(n) {
		return "", false
	}
	p.i = j
	return n, true
}

// nsname reads a name and splits it at its colon, as encoding/xml does.
func (p *fastParser) nsname() (prefix, local string, ok bool) {
	n, ok := p.name()
	if !ok {
		return "", "", false
	}
	c := strings.IndexByte(n, ':')
	if c < 0 {
		return "", n, true
	}
	if strings.IndexByte(n[c+1:], ':') >= 0 {
		return "", "", false
	}
	if c == 0 || c == len(n)-1 {
		return "", n, true
	}
	return n[:c], n[c+1:], true
}

func (p *fastParser) space() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\r', '\n', '\t':
			p.i++
		default:
			return
		}
	}
}

// startTag reads a start tag after its '<' and opens its element.
func (p *fastParser) startTag() (el *Element, empty, ok bool) {
	if len(p.stack) >= MaxDepth {
		return nil, false, false
	}
	prefix, local, ok := p.nsname()
	if !ok {
		return nil, false, false
	}
	s := p.s
	first := len(p.attrs)
	for {
		p.space()
		if p.i >= len(s) {
			return nil, false, false
		}
		c := s[p.i]
		if c == '/' {
			if p.i+1 >= len(s) || s[p.i+1] != '>' {
				return nil, false, false
			}
			p.i += 2
			empty = true
			break
		}
		if c == '>' {
			p.i++
			break
		}
		ap, al, ok := p.nsname()
		if !ok {
			return nil, false, false
		}
		p.space()
		if p.i >= len(s) {
			return nil, false, false
		}
		value := al
		if s[p.i] == '=' {
			p.i++
			p.space()
			if value, ok = p.attrValue(); !ok {
				return nil, false, false
			}
		}
		if len(p.attrs) == cap(p.attrs) {
			// The estimate was short (attributes without '='): go on in a
			// new slice, leaving the attributes handed out where they are.
			n := len(p.attrs) - first
			grown := make([]xml.Attr, n, max(2*n+8, min(2*cap(p.attrs), 4096)))
			copy(grown, p.attrs[first:])
			p.attrs, first = grown, 0
		}
		p.attrs = append(p.attrs, xml.Attr{Name: xml.Name{Space: ap, Local: al}, Value: value})
	}
	attrs := p.attrs[first:len(p.attrs):len(p.attrs)]

	nsMark := len(p.ns)
	for _, a := range attrs {
		if a.Name.Space == "xmlns" {
			p.ns = append(p.ns, nsBinding{a.Name.Local, a.Value})
		}
		if a.Name.Space == "" && a.Name.Local == "xmlns" {
			p.ns = append(p.ns, nsBinding{"", a.Value})
		}
	}
	for i := range attrs {
		attrs[i].Name.Space = p.translate(attrs[i].Name, false)
	}
	if len(p.els) == cap(p.els) {
		// A new slice, so that the elements handed out stay where they are.
		n := max(min(2*cap(p.els), p.elsLeft, 4096), 16)
		p.els = make([]Element, 0, n)
		p.elsLeft -= n
	}
	p.els = append(p.els, Element{
		Name:  local,
		Space: p.translate(xml.Name{Space: prefix, Local: local}, true),
		Attrs: attrs,
	})
	el = &p.els[len(p.els)-1]
	if len(p.stack) > 0 {
		p.pending = append(p.pending, node{el: el})
	}
	p.stack = append(p.stack, openElement{el: el, prefix: prefix, local: local, mark: len(p.pending), nsMark: nsMark})
	return el, empty, true
}

// translate returns the namespace of a name as encoding/xml's Token gives
// it: the URI bound to its prefix in the payload, else the prefix itself.
func (p *fastParser) translate(n xml.Name, isElement bool) string {
	switch {
	case n.Space == "xmlns":
		return n.Space
	case n.Space == "" && !isElement:
		return n.Space
	case n.Space == "xml":
		return xmlURL
	case n.Space == "" && n.Local == "xmlns":
		return n.Space
	}
	for j := len(p.ns) - 1; j >= 0; j-- {
		if p.ns[j].prefix == n.Space {
			return p.ns[j].uri
		}
	}
	return n.Space
}

// attrValue reads an attribute value after its '='.
func (p *fastParser) attrValue() (string, bool) {
	s := p.s
	if p.i >= len(s) {
		return "", false
	}
	q := s[p.i]
	if q != '"' && q != '\'' {
		// Unquoted, as HTML allows.
		start := p.i
		for p.i < len(s) {
			c := s[p.i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == ':' || c == '-') {
				return s[start:p.i], true
			}
			p.i++
		}
		return "", false
	}
	start := p.i + 1
	end := strings.IndexByte(s[start:], q)
	if end < 0 {
		return "", false
	}
	end += start
	raw := s[start:end]
	if strings.IndexByte(raw, '<') >= 0 {
		return "", false
	}
	p.i = end + 1
	if strings.IndexByte(raw, '&') < 0 && strings.IndexByte(raw, '\r') < 0 {
		return raw, true
	}
	return p.decode(raw)
}

// endTag reads an end tag after its "</" and closes the open element,
// which must have the same name.
func (p *fastParser) endTag() bool {
	prefix, local, ok := p.nsname()
	if !ok {
		return false
	}
	p.space()
	if p.i >= len(p.s) || p.s[p.i] != '>' {
		return false
	}
	p.i++
	if len(p.stack) == 0 {
		return false
	}
	top := p.stack[len(p.stack)-1]
	if top.local != local || top.prefix != prefix {
		return false
	}
	p.close()
	return true
}

// close closes the innermost open element.
func (p *fastParser) close() {
	top := p.stack[len(p.stack)-1]
	p.stack = p.stack[:len(p.stack)-1]
	if content := p.pending[top.mark:]; len(content) > 0 {
		start := len(p.nodes)
		p.nodes = append(p.nodes, content...)
		top.el.content = p.nodes[start:len(p.nodes):len(p.nodes)]
	}
	clear(p.pending[top.mark:])
	p.pending = p.pending[:top.mark]
	p.ns = p.ns[:top.nsMark]
}

// procInst skips a processing instruction after its "<?"; an XML
// declaration must not declare a version other than 1.0.
func (p *fastParser) procInst() bool {
	target, ok := p.name()
	if !ok {
		return false
	}
	p.space()
	end := strings.Index(p.s[p.i:], "?>")
	if end < 0 {
		return false
	}
	data := p.s[p.i : p.i+end]
	p.i += end + 2
	if target == "xml" {
		if v := declaredVersion(data); v != "" && v != "1.0" {
			return false
		}
	}
	return true
}

// declaredVersion finds the version of an XML declaration's content the
// way encoding/xml looks for it: the first "version=" directly followed by
// a quote, and the text up to the same quote.
func declaredVersion(s string) string {
	const param = "version="
	i := 0
	var quote byte
	for i < len(s) {
		rest := s[i:]
		k := strings.Index(rest, param)
		if k < 0 || k+len(param) >= len(rest) {
			return ""
		}
		c := rest[k+len(param)]
		i += k + len(param) + 1
		if c == '"' || c == '\'' {
			quote = c
			break
		}
	}
	if quote == 0 {
		return ""
	}
	j := strings.IndexByte(s[i:], quote)
	if j < 0 {
		return ""
	}
	return s[i : i+j]
}

// bang reads what follows "<!": a comment (skipped) or a CDATA section
// (its text). Directives are left to encoding/xml.
func (p *fastParser) bang() (text string, isText, ok bool) {
	s := p.s
	switch {
	case strings.HasPrefix(s[p.i:], "--"):
		p.i += 2
		end := strings.Index(s[p.i:], "--")
		if end < 0 || p.i+end+2 >= len(s) || s[p.i+end+2] != '>' {
			return "", false, false
		}
		p.i += end + 3
		return "", false, true
	case strings.HasPrefix(s[p.i:], "[CDATA["):
		p.i += len("[CDATA[")
		end := strings.Index(s[p.i:], "]]>")
		if end < 0 {
			return "", false, false
		}
		raw := s[p.i : p.i+end]
		p.i += end + 3
		if strings.IndexByte(raw, '\r') < 0 {
			return raw, true, true
		}
		out := p.buf[:0]
		for j := 0; j < len(raw); j++ {
			switch {
			case raw[j] == '\r':
				out = append(out, '\n')
			case raw[j] == '\n' && j > 0 && raw[j-1] == '\r':
			default:
				out = append(out, raw[j])
			}
		}
		p.buf = out
		return string(out), true, true
	}
	return "", false, false
}
