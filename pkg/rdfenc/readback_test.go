package rdfenc

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/knakk/rdf"

	"github.com/panosc/fairway/internal/testenv"
)

// readBack parses a document with a parser nobody here wrote: raptor's
// rapper for Turtle, N-Triples and RDF/XML, the npm jsonld package for
// JSON-LD. It returns their N-Triples (N-Quads of the default graph).
func readBack(t testing.TB, f Format, doc []byte) (string, error) {
	t.Helper()
	// Not t.TempDir: a subtest's name may hold '#', which rapper takes
	// for a fragment of the file's URI.
	dir, err := os.MkdirTemp("", "rdfenc")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	var cmd *exec.Cmd
	switch f {
	case JSONLD:
		tools := testenv.NodeTools(t)
		cmd = exec.Command("node", filepath.Join(tools, "jsonld-to-nquads.mjs"))
		cmd.Stdin = bytes.NewReader(doc)
	default:
		name := map[Format]string{Turtle: "turtle", NTriples: "ntriples", RDFXML: "rdfxml"}[f]
		path := filepath.Join(dir, "doc."+f.Extension())
		if err := os.WriteFile(path, doc, 0o600); err != nil {
			t.Fatal(err)
		}
		cmd = exec.Command(testenv.Rapper(t), "-q", "-i", name, "-o", "ntriples", path, "http://invalid.example/base/")
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s: %w: %s", cmd.Args[0], err, errb.String())
	}
	if errb.Len() > 0 {
		return "", fmt.Errorf("%s warned: %s", cmd.Args[0], errb.String())
	}
	return out.String(), nil
}

// readBackCanonical reads a document back with the third-party parser of
// its format and returns its triples as canonical lines.
func readBackCanonical(t testing.TB, f Format, doc []byte) []string {
	t.Helper()
	out, err := readBack(t, f, doc)
	if err != nil {
		t.Fatalf("%v\n--- document:\n%.3000s", err, doc)
	}
	got, err := parseNT(out)
	if err != nil {
		t.Fatal(err)
	}
	return canonical(got)
}

// parseNT reads N-Triples (as rapper and jsonld print them) strictly.
func parseNT(s string) ([]triple, error) {
	var out []triple
	for n, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p := &ntParser{s: line}
		var tr triple
		var err error
		if tr.s, err = p.term(); err == nil {
			if tr.p, err = p.term(); err == nil {
				tr.o, err = p.term()
			}
		}
		if err == nil {
			p.space()
			if p.rest() != "." {
				err = fmt.Errorf("trailing %q", p.rest())
			}
		}
		if err != nil {
			return nil, fmt.Errorf("line %d %q: %w", n+1, line, err)
		}
		out = append(out, tr)
	}
	return out, nil
}

type ntParser struct {
	s   string
	pos int
}

func (p *ntParser) rest() string { return p.s[p.pos:] }

func (p *ntParser) space() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t') {
		p.pos++
	}
}

func (p *ntParser) term() (term, error) {
	p.space()
	r := p.rest()
	switch {
	case strings.HasPrefix(r, "<"):
		end := strings.IndexByte(r, '>')
		if end < 0 {
			return term{}, fmt.Errorf("unterminated IRI")
		}
		v, err := unescapeNT(r[1:end])
		p.pos += end + 1
		return term{kind: kindIRI, value: v}, err
	case strings.HasPrefix(r, "_:"):
		end := strings.IndexAny(r, " \t")
		if end < 0 {
			return term{}, fmt.Errorf("unterminated blank node")
		}
		p.pos += end
		return term{kind: kindBlank, value: r[2:end]}, nil
	case strings.HasPrefix(r, `"`):
		i := 1
		for ; i < len(r); i++ {
			if r[i] == '\\' {
				i++
				continue
			}
			if r[i] == '"' {
				break
			}
		}
		if i >= len(r) {
			return term{}, fmt.Errorf("unterminated literal")
		}
		v, err := unescapeNT(r[1:i])
		if err != nil {
			return term{}, err
		}
		p.pos += i + 1
		l := term{kind: kindLiteral, value: v}
		r = p.rest()
		switch {
		case strings.HasPrefix(r, "@"):
			end := strings.IndexAny(r, " \t")
			l.lang = strings.ToLower(r[1:end])
			p.pos += end
		case strings.HasPrefix(r, "^^<"):
			end := strings.IndexByte(r, '>')
			dt, err := unescapeNT(r[3:end])
			if err != nil {
				return term{}, err
			}
			if dt != xsdString {
				l.datatype = dt
			}
			p.pos += end + 1
		}
		return l, nil
	}
	return term{}, fmt.Errorf("no term at %q", r)
}

func unescapeNT(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		i++
		if i >= len(s) {
			return "", fmt.Errorf("dangling backslash")
		}
		switch s[i] {
		case 't':
			b.WriteByte('\t')
		case 'b':
			b.WriteByte('\b')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		case '"', '\'', '\\':
			b.WriteByte(s[i])
		case 'u', 'U':
			n := 4
			if s[i] == 'U' {
				n = 8
			}
			if i+1+n > len(s) {
				return "", fmt.Errorf("short \\%c escape", s[i])
			}
			v, err := strconv.ParseUint(s[i+1:i+1+n], 16, 32)
			if err != nil {
				return "", err
			}
			b.WriteRune(rune(v))
			i += n
		default:
			return "", fmt.Errorf("unknown escape \\%c", s[i])
		}
	}
	return b.String(), nil
}

// canonical returns a graph's triples as sorted N-Triples lines, each blank
// node labelled by a digest of the non-blank terms around it (enough for
// the graphs of these tests, whose blank nodes all differ in those).
func canonical(ts []triple) []string {
	sig := map[string][]string{}
	for _, t := range ts {
		if t.s.kind == kindBlank && t.o.kind != kindBlank {
			sig[t.s.value] = append(sig[t.s.value], "out "+t.p.value+" "+lineOf(t.o))
		}
		if t.o.kind == kindBlank && t.s.kind != kindBlank {
			sig[t.o.value] = append(sig[t.o.value], "in "+lineOf(t.s)+" "+t.p.value)
		}
	}
	label := func(x term) term {
		x.lang = strings.ToLower(x.lang)
		if x.kind != kindBlank {
			return x
		}
		s := sig[x.value]
		sort.Strings(s)
		sum := sha256.Sum256([]byte(strings.Join(s, "\n")))
		return term{kind: kindBlank, value: "c" + hex.EncodeToString(sum[:8])}
	}
	seen := map[string]bool{}
	var out []string
	for _, t := range ts {
		l := lineOf(label(t.s)) + " " + lineOf(label(t.p)) + " " + lineOf(label(t.o)) + " ."
		if !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}

func lineOf(x term) string {
	var b bytes.Buffer
	ntTerm(&b, x)
	return b.String()
}

// mustCheck checks a graph the tests built.
func mustCheck(t testing.TB, groups [][]rdf.Triple) []triple {
	t.Helper()
	var all []triple
	for _, g := range groups {
		ts, err := checkGroup(g)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, ts...)
	}
	return all
}

// diff describes how two canonical graphs differ.
func diff(want, got []string) string {
	w, g := map[string]bool{}, map[string]bool{}
	for _, l := range want {
		w[l] = true
	}
	for _, l := range got {
		g[l] = true
	}
	var b strings.Builder
	for _, l := range want {
		if !g[l] {
			fmt.Fprintf(&b, "missing: %.300s\n", l)
		}
	}
	for _, l := range got {
		if !w[l] {
			fmt.Fprintf(&b, "extra:   %.300s\n", l)
		}
	}
	return b.String()
}
