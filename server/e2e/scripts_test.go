package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSystemdUnitIsHardened keeps the shipped unit's protections from
// being lost in an edit. (systemd-analyze verify needs systemd, which CI
// containers lack; this checks the lines themselves.)
func TestSystemdUnitIsHardened(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "scripts", "gatehouse.service"))
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]bool{}
	for _, l := range strings.Split(string(raw), "\n") {
		lines[strings.TrimSpace(l)] = true
	}
	for _, want := range []string{
		"User=gatehouse", "StateDirectory=gatehouse", "StateDirectoryMode=0700", "UMask=0077",
		"ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "PrivateDevices=yes", "NoNewPrivileges=yes",
		"CapabilityBoundingSet=", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "SystemCallFilter=@system-service",
		"MemoryDenyWriteExecute=yes", "RestrictSUIDSGID=yes", "KillSignal=SIGTERM",
		"ExecStart=/usr/local/bin/gatehouse serve --data-dir /var/lib/gatehouse",
	} {
		if !lines[want] {
			t.Errorf("scripts/gatehouse.service lacks %q", want)
		}
	}
}
