package node

import (
	"fmt"
	"os"
	"testing"
)

// TestMain points the user's config directory (and home) at a fresh one, so that the
// commands under test never read a sign-in (fairway login) of the person
// running the tests.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fairway-config-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// os.UserConfigDir reads XDG_CONFIG_HOME on Linux and HOME on macOS.
	os.Setenv("XDG_CONFIG_HOME", dir)
	os.Setenv("HOME", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
