package store

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	berrors "go.etcd.io/bbolt/errors"
)

func TestIsDiskFault(t *testing.T) {
	pathErr := func(errno syscall.Errno) error {
		return &fs.PathError{Op: "write", Path: "/data/gatehouse.db", Err: errno}
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"write: no space left", pathErr(syscall.ENOSPC), true},
		{"wrapped by a store method", fmt.Errorf("consume: %w", pathErr(syscall.ENOSPC)), true},
		{"over quota", pathErr(syscall.EDQUOT), true},
		{"file size limit", pathErr(syscall.EFBIG), true},
		{"read-only file system", pathErr(syscall.EROFS), true},
		{"I/O error", pathErr(syscall.EIO), true},
		{"fdatasync errno", syscall.EIO, true},
		{"bbolt grow, errno flattened by %s", fmt.Errorf("file resize error: %s", syscall.ENOSPC), true},
		{"bbolt grow sync", fmt.Errorf("file sync error: %s", syscall.EIO), true},
		{"bbolt max size", berrors.ErrMaxSizeReached, true},
		{"not found", ErrNotFound, false},
		{"permission denied is not transient", pathErr(syscall.EACCES), false},
		{"database not open", berrors.ErrDatabaseNotOpen, false},
		{"nil", nil, false},
	}
	for _, tc := range tests {
		if got := IsDiskFault(tc.err); got != tc.want {
			t.Errorf("%s: IsDiskFault(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}

// populatedFile writes a data file with a few hundred rows and returns its
// bytes and page size.
func populatedFile(t *testing.T) ([]byte, int) {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rows := make([]Token, 300)
	for i := range rows {
		rows[i] = seedRow(i, t0)
	}
	seedTokens(t, s, rows)
	seedTokens(t, s, []Token{seedRow(300, t0)}) // the last commit
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	return raw, int(binary.NativeEndian.Uint32(raw[pageHeaderSize+8:]))
}

// TestOpenRefusesDamagedFiles: a file bbolt cannot open safely is refused
// with a message that says what is wrong and what to do, and is left
// byte-for-byte as it was; bbolt never gets to fault on it.
func TestOpenRefusesDamagedFiles(t *testing.T) {
	raw, page := populatedFile(t)
	garbage := make([]byte, 64<<10)
	rand.Read(garbage)
	withBadFreelist := bytes.Clone(raw)
	m, _ := currentMeta(bytes.NewReader(raw), int64(len(raw)))
	copy(withBadFreelist[int(m.freelist)*page:], bytes.Repeat([]byte{0xA5}, page))
	bothMetasBad := bytes.Clone(raw)
	bothMetasBad[pageHeaderSize+metaSumOffset] ^= 0xFF
	bothMetasBad[page+pageHeaderSize+metaSumOffset] ^= 0xFF

	tests := []struct {
		name    string
		content []byte
		want    string
	}{
		{"empty", []byte{}, "is empty"},
		{"a few bytes", []byte("not a database"), "no valid bbolt header"},
		{"random garbage", garbage, "no valid bbolt header"},
		{"truncated to half", raw[:len(raw)/2], "is truncated"},
		{"truncated inside the first page", raw[:100], "is truncated"},
		{"only the two meta pages", raw[:2*page], "is truncated"},
		{"both meta pages damaged", bothMetasBad, "no valid bbolt header"},
		{"freelist page overwritten", withBadFreelist, "freelist or root page is overwritten"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, FileName)
			if err := os.WriteFile(path, tc.content, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := Open(dir, Options{})
			if err == nil {
				s.Close()
				t.Fatal("Open accepted the file")
			}
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(strings.ToLower(err.Error()), "restore") {
				t.Errorf("Open: %v; want ErrCorrupt saying %q and how to restore", err, tc.want)
			}
			if err := CheckFile(path); err == nil {
				t.Error("CheckFile passed")
			}
			if got, _ := os.ReadFile(path); !bytes.Equal(got, tc.content) {
				t.Errorf("the file changed: %d bytes, was %d", len(got), len(tc.content))
			}
		})
	}
}

// TestGuardTurnsAPanicIntoAnError: damage bbolt panics on deeper in the
// file, when a start-up reads it, stops start-up with ErrCorrupt.
func TestGuardTurnsAPanicIntoAnError(t *testing.T) {
	err := guard("/data/gatehouse.db", func() error {
		var p *metaPage
		return fmt.Errorf("%d", p.pgid) // a nil dereference, as a bad page id would fault
	})
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "restore it from a backup") {
		t.Fatalf("guard: %v", err)
	}
}

// TestOpenSurvivesATornMetaPage: a crash in the middle of writing a meta
// page leaves it failing its checksum; bbolt then uses the other one, which
// describes the previous commit. The guard must not refuse that file.
func TestOpenSurvivesATornMetaPage(t *testing.T) {
	raw, page := populatedFile(t)
	m0, _ := readMeta(bytes.NewReader(raw), 0)
	m1, _ := readMeta(bytes.NewReader(raw), int64(page))
	newest := 0
	if m1.txid > m0.txid {
		newest = page
	}
	torn := bytes.Clone(raw)
	copy(torn[newest+pageHeaderSize+20:], []byte("torn write"))
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), torn, 0o600); err != nil {
		t.Fatal(err)
	}
	s := mustOpenDir(t, dir)
	if _, err := s.TokenByID(seedRow(0, t0).ID); err != nil {
		t.Fatalf("a row committed before the torn commit: %v", err)
	}
	if _, err := s.TokenByID(seedRow(300, t0).ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the row of the torn commit: %v; want it gone with its meta page", err)
	}
}

// TestWriteFaultRollsBackAndRecovers: when the disk refuses a write the
// store says so (IsDiskFault), reads go on, nothing of the refused write is
// on disk, and writes succeed again, on the same open store, once the disk
// takes them. Two real faults: a file size limit (EFBIG, any user), and a
// full tmpfs (ENOSPC; needs mount, so root: CI runs as root).
func TestWriteFaultRollsBackAndRecovers(t *testing.T) {
	t.Run("file size limit", func(t *testing.T) {
		dir := t.TempDir()
		testWriteFault(t, dir, func(path string) func() { return limitFileSize(t, fileSizeOf(t, path)) })
	})
	t.Run("full file system", func(t *testing.T) {
		dir := mountTmpfs(t, "512k")
		testWriteFault(t, dir, func(string) func() { return fillDisk(t, dir) })
	})
}

// testWriteFault seeds a store, applies the fault, writes until the disk
// refuses, checks reads and rollback, lifts the fault and writes again.
func testWriteFault(t *testing.T, dir string, fault func(dbPath string) (lift func())) {
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	seed := mustCreateCode(t, s, userCodeFor("seed"), "cli", "seed", t0)
	lift := fault(s.Path())
	var refused DeviceCode
	for i := 0; ; i++ {
		dc := pendingCode(userCodeFor(fmt.Sprintf("fill-%d", i)), "cli", "fill", t0)
		err := s.CreateDeviceCode(dc)
		if err == nil {
			if i > 5000 {
				lift()
				t.Fatal("the disk never refused a write")
			}
			continue
		}
		if !IsDiskFault(err) {
			lift()
			t.Fatalf("write %d failed with %v, which IsDiskFault does not recognise", i, err)
		}
		refused = dc
		break
	}
	if _, err := s.DeviceCodeByHash(seed.Hash); err != nil {
		t.Errorf("read during the fault: %v", err)
	}
	lift()
	if _, err := s.DeviceCodeByHash(refused.Hash); !errors.Is(err, ErrNotFound) {
		t.Errorf("the refused write left its row behind: %v", err)
	}
	if err := s.CreateDeviceCode(refused); err != nil {
		t.Fatalf("write after the fault is lifted: %v", err)
	}
	if err := s.Check(); err != nil {
		t.Fatalf("check after the fault: %v", err)
	}
	s.Close()
	if err := CheckFile(filepath.Join(dir, FileName)); err != nil {
		t.Fatalf("CheckFile after the fault: %v", err)
	}
}

func fileSizeOf(t *testing.T, path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// limitFileSize makes writes past size fail with EFBIG in this process (Go
// ignores SIGXFSZ). Tests in this package do not run in parallel, so no
// other test writes files meanwhile.
func limitFileSize(t *testing.T, size int64) func() {
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: uint64(size), Max: old.Max}); err != nil {
		t.Fatal(err)
	}
	restored := false
	restore := func() {
		if !restored {
			restored = true
			syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old)
		}
	}
	t.Cleanup(restore)
	return restore
}

// mountTmpfs mounts a small tmpfs for the test, or skips when this user may
// not mount (CI runs as root and may; the file size limit case runs
// everywhere).
func mountTmpfs(t *testing.T, size string) string {
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v %s); the file size limit case covers write faults", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// fillDisk writes a filler file until the file system is full; the
// returned func deletes it.
func fillDisk(t *testing.T, dir string) func() {
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling the disk: %v", err)
			}
			break
		}
	}
	f.Close()
	return func() { os.Remove(path) }
}
