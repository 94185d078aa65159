package main

import (
	"strings"
	"testing"
)

// TestServeRefusesNegativePruneWindows: a negative retention would make
// the scheduled prune delete live tokens, so start-up refuses it by name.
func TestServeRefusesNegativePruneWindows(t *testing.T) {
	for _, tc := range []struct{ flag, value string }{
		{"--retention", "-400h"}, {"--audit-retention", "-5h"}, {"--prune-every", "-1s"},
	} {
		dir := t.TempDir()
		out, code := gatehouse(t, "", "serve", "--data-dir", dir, "--listen", "127.0.0.1:0", tc.flag, tc.value)
		if code == 0 || !strings.Contains(out, tc.flag+" must not be negative") {
			t.Errorf("serve %s %s: exit %d, %q; want a failure naming the flag", tc.flag, tc.value, code, out)
		}
	}
}
