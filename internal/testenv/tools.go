package testenv

import (
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
