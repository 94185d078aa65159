package main

import (
	"strings"
	"testing"
)

// The end-to-end tests, which drive the built binary, live in server/e2e.

// TestHoistFlags: flags given after a command's positional arguments are
// moved before them, so `client add mytool --name X` works as people type it.
func TestHoistFlags(t *testing.T) {
	a := app()
	got := strings.Join(hoistFlags(a, []string{"gatehouse", "client", "add", "mytool", "--name", "My Tool", "--data-dir", "d"}), " ")
	if got != "gatehouse client add --name My Tool --data-dir d mytool" {
		t.Fatalf("hoistFlags: %q", got)
	}
	got = strings.Join(hoistFlags(a, []string{"gatehouse", "revoke", "--all", "--json"}), " ")
	if got != "gatehouse revoke --all --json" {
		t.Fatalf("boolean flags: %q", got)
	}
}
