package testenv

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// Rapper returns the path of raptor's rapper, the RDF parser the tests
// check Turtle, N-Triples and RDF/XML with; the test fails when it is
// missing (`task setup` installs it).
func Rapper(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("rapper")
	if err != nil {
		t.Fatalf("rapper (Debian's raptor2-utils) is missing: run `task setup` (scripts/tools.sh install): %v", err)
	}
	return p
}

// NodeTools returns the folder of the project's npm checkers (tools/node,
// holding node_modules), for `node` scripts that require them; the test
// fails when they are not installed (`task setup` installs them).
func NodeTools(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "tools", "node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "rdf-validate-shacl")); err != nil {
		t.Fatalf("the npm checkers of tools/node are not installed: run `task setup` (scripts/tools.sh install): %v", err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is missing: run `task setup`: %v", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// DCATAPShapes are the shapes files the node's output is validated
// against: the generated shapes of DCAT-AP 3.0.1 and the hand-written
// constraints of its HTML edition (in ../shared/data/dcat-ap), and the
// project's supplement tools/node/shapes/fairway-dates.ttl, which applies
// the release's date rule that its own shapes attach with a misspelt term
// (why the others are left out: docs/dcat-ap.md).
var DCATAPShapes = []string{"3.0.1_shacl_dcat-ap-SHACL.ttl", "3.0.1_html_shacl_shapes.ttl", "fairway-dates.ttl"}

// SHACL validates the RDF file data (Turtle .ttl, N-Triples .nt, RDF/XML
// .rdf or JSON-LD .jsonld) with tools/node/shacl.mjs (rdf-validate-shacl)
// against shapes files (DCATAPShapes when none are given): each is the
// name of a file of tools/node/shapes or of ../shared/data/dcat-ap. It
// returns the validator's report and whether it found violations. A usage
// or parse error fails the test.
func SHACL(t testing.TB, data string, shapes ...string) (report string, violations bool) {
	t.Helper()
	if len(shapes) == 0 {
		shapes = DCATAPShapes
	}
	tools := NodeTools(t)
	args := []string{filepath.Join(tools, "shacl.mjs")}
	for _, s := range shapes {
		if own := filepath.Join(tools, "shapes", s); fileExists(own) {
			args = append(args, own)
		} else {
			args = append(args, SharedData(t, "dcat-ap", s))
		}
	}
	args = append(args, data)
	out, err := exec.Command("node", args...).CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), false
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		return string(out), true
	default:
		t.Fatalf("shacl.mjs: %v\n%s", err, out)
		return "", false
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// Chromium returns the path of the headless browser the page tests drive
// (Debian's chromium, through tools/node's playwright-core): CHROMIUM when
// set, else chromium on the PATH. The test fails when it is missing (`task
// setup` installs it).
func Chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("CHROMIUM=%s: %v: run `task setup` (scripts/tools.sh install)", p, err)
		}
		return p
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium (Debian's chromium) is missing: run `task setup` (scripts/tools.sh install): %v", err)
	}
	if _, err := os.Stat(filepath.Join(NodeTools(t), "node_modules", "playwright-core")); err != nil {
		t.Fatalf("playwright-core of tools/node is not installed: run `task setup` (scripts/tools.sh install): %v", err)
	}
	return p
}
