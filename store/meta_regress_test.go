package store

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A current header page (the newer one) that says its pages are 0 bytes
// (or any size other than the one the file was read with) is refused as
// damaged, never divided by: start-up and `gatehouse check` must answer,
// not panic.
func TestHeaderWithAnotherPageSizeIsRefused(t *testing.T) {
	const ps = 4096
	data := make([]byte, 4*ps)
	copy(data, encodeMeta(0, ps, 0, 3, 0, 2, 4, 1))
	copy(data[ps:], encodeMeta(1, 0, 0, 3, 0, 2, 4, 2))
	path := filepath.Join(t.TempDir(), FileName)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := validateFile(path); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("validateFile = %v, want ErrCorrupt", err)
	}
	if err := CheckFile(path); err == nil {
		t.Fatal("CheckFile accepted the file")
	}
}
