package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"runtime/debug"
	"strings"
	"syscall"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Disk faults and damaged files. Two promises live here:
//
//   - A write the disk refuses (full, over quota, read-only, I/O error) is
//     reported as such, so the server can answer "try again later" instead
//     of "internal error". bbolt rolls the transaction back, so nothing of
//     it is on disk; the next write after the cause is fixed succeeds.
//   - A data file bbolt cannot open safely (empty, truncated, not a bbolt
//     file) is refused with a message that says what is wrong and how to
//     fix it, before bbolt maps it: bbolt faults on pages past the end of a
//     short file instead of returning an error. The file is never written.

// ErrCorrupt is returned by Open and CheckFile for a file that is empty,
// truncated, or not a bbolt file.
var ErrCorrupt = errors.New("data file is damaged")

// diskErrnos are the errors of a disk that refuses writes.
var diskErrnos = []syscall.Errno{syscall.ENOSPC, syscall.EDQUOT, syscall.EFBIG, syscall.EROFS, syscall.EIO}

// IsDiskFault reports whether err is the disk refusing a write. bbolt
// formats some of these with %s (a failed file grow reads "file resize
// error: no space left on device"), dropping the errno, so the text is
// matched too.
func IsDiskFault(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, berrors.ErrMaxSizeReached) || errors.Is(err, ErrFailed) || errors.Is(err, ErrCommitUncertain) {
		return true
	}
	msg := err.Error()
	for _, e := range diskErrnos {
		if errors.Is(err, e) || strings.Contains(msg, e.Error()) {
			return true
		}
	}
	return false
}

// Layout of a bbolt meta page (go.etcd.io/bbolt/internal/common): a 16-byte
// page header, then magic, version, page size, flags (uint32 each), the
// root bucket (root page, sequence), freelist page, high-water page id and
// txid (uint64 each) and an FNV-64a checksum of everything before it. bbolt
// writes it in the machine's byte order.
const (
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
	pageHeaderSize = 16
	metaSize       = 64
	metaSumOffset  = 56
	noFreelist     = ^uint64(0)
)

type metaPage struct {
	pageSize             int64
	root, freelist, pgid uint64
	txid                 uint64
}

// readMeta reads the meta page at off; ok is false when it is missing or
// fails bbolt's own validation (magic, version, checksum).
func readMeta(r io.ReaderAt, off int64) (metaPage, bool) {
	buf := make([]byte, pageHeaderSize+metaSize)
	if _, err := r.ReadAt(buf, off); err != nil {
		return metaPage{}, false
	}
	m, ne := buf[pageHeaderSize:], binary.NativeEndian
	h := fnv.New64a()
	h.Write(m[:metaSumOffset])
	if ne.Uint32(m[0:]) != boltMagic || ne.Uint32(m[4:]) != boltVersion || h.Sum64() != ne.Uint64(m[metaSumOffset:]) {
		return metaPage{}, false
	}
	return metaPage{pageSize: int64(ne.Uint32(m[8:])), root: ne.Uint64(m[16:]), freelist: ne.Uint64(m[32:]),
		pgid: ne.Uint64(m[40:]), txid: ne.Uint64(m[48:])}, true
}

// validateFile refuses a data file bbolt cannot open safely. A missing file
// is fine (Open creates it). It only reads.
func validateFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return openError(path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return openError(path, err)
	}
	switch {
	case fi.IsDir():
		return fmt.Errorf("%w: %s is a directory, not a data file; move it away", ErrCorrupt, path)
	case fi.Size() == 0:
		return fmt.Errorf("%w: %s is empty (0 bytes). If the first start of this data directory was interrupted, delete it and start again; otherwise restore it from a backup. Gatehouse has not changed it",
			ErrCorrupt, path)
	}
	m, err := currentMeta(f, fi.Size())
	if err != nil {
		return fmt.Errorf("%w: %s %v. Restore it from a backup (gatehouse backup makes them), or move it away to start empty. Gatehouse has not changed it",
			ErrCorrupt, path, err)
	}
	if err := m.check(path, fi.Size()); err != nil {
		return err
	}
	return m.checkPages(f, path)
}

// currentMeta finds the page size the way bbolt does (the first meta page,
// else the second at each possible page size) and returns the valid meta
// page with the highest txid, the one bbolt would use.
func currentMeta(r io.ReaderAt, size int64) (metaPage, error) {
	m0, ok0 := readMeta(r, 0)
	pageSize := m0.pageSize
	for i := 0; !ok0 && i <= 14; i++ {
		if m1, ok := readMeta(r, 1024<<i); ok {
			pageSize = m1.pageSize
			break
		}
	}
	if pageSize < 512 || pageSize > 1<<24 || pageSize&(pageSize-1) != 0 {
		return metaPage{}, errors.New("is not a Gatehouse data file or is damaged: it has no valid bbolt header")
	}
	if size < 2*pageSize {
		return metaPage{}, fmt.Errorf("is truncated: it is %d bytes, shorter than its two %d-byte header pages", size, pageSize)
	}
	m1, ok1 := readMeta(r, pageSize)
	m, ok := m0, ok0
	if ok1 && (!ok0 || m1.txid > m0.txid) {
		m, ok = m1, true
	}
	switch {
	case ok && m.pageSize != pageSize:
		// Both pages must agree on the page size the file was read with;
		// a header that says otherwise (0, say) describes another file.
		return metaPage{}, fmt.Errorf("is damaged: its current header says %d-byte pages, not %d", m.pageSize, pageSize)
	case ok:
		return m, nil
	}
	return metaPage{}, errors.New("is not a Gatehouse data file or is damaged: both bbolt header pages are invalid")
}

// check compares the meta page with the file it came from.
func (m metaPage) check(path string, size int64) error {
	// Compare in pages, not bytes: pgid × pageSize from a damaged header
	// can overflow and wrap to a small "needed" size.
	if pages := uint64(size / m.pageSize); m.pgid > pages {
		return fmt.Errorf("%w: %s is truncated: it is %d bytes but its header says %d pages of %d bytes. It was cut short (an interrupted copy or restore?); restore it from a backup. Gatehouse has not changed it",
			ErrCorrupt, path, size, m.pgid, m.pageSize)
	}
	if m.root >= m.pgid || m.freelist != noFreelist && m.freelist >= m.pgid {
		return fmt.Errorf("%w: %s is damaged: its header points past the end of the data; restore it from a backup. Gatehouse has not changed it",
			ErrCorrupt, path)
	}
	return nil
}

// bbolt page flags (go.etcd.io/bbolt/internal/common).
const (
	branchPageFlag   = 0x01
	leafPageFlag     = 0x02
	freelistPageFlag = 0x10
)

// checkPages reads the two pages bolt.Open and the first transaction
// visit, the freelist and the root bucket, and refuses one of the wrong
// kind: bbolt panics on them.
func (m metaPage) checkPages(r io.ReaderAt, path string) error {
	flags := func(id uint64) uint16 {
		var hdr [pageHeaderSize]byte
		if _, err := r.ReadAt(hdr[:], int64(id)*m.pageSize); err != nil {
			return 0
		}
		return binary.NativeEndian.Uint16(hdr[8:])
	}
	if m.freelist != noFreelist && flags(m.freelist) != freelistPageFlag ||
		flags(m.root)&(branchPageFlag|leafPageFlag) == 0 {
		return fmt.Errorf("%w: %s is damaged: its freelist or root page is overwritten; restore it from a backup. Gatehouse has not changed it",
			ErrCorrupt, path)
	}
	return nil
}

// openBolt is bolt.Open with damaged pages turned into an error (see
// guard). validateFile has already refused what it can see cheaply, so
// this is the last line.
func openBolt(path string, opt *bolt.Options) (db *bolt.DB, err error) {
	err = guard(path, func() error {
		db, err = bolt.Open(path, 0o600, opt)
		return err
	})
	return db, err
}

// guard runs f, which reads the file through bbolt, turning a panic or a
// fault on the memory map into ErrCorrupt: bbolt panics on some damaged
// pages, and a start-up must fail with a message, not a crash. (When
// bolt.Open itself panics, its mapping keeps the file locked until the
// process exits; start-up stops then anyway.)
func guard(path string, f func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %s cannot be read (%v); restore it from a backup. Gatehouse has not changed it", ErrCorrupt, path, r)
		}
	}()
	return f()
}

// openError adds what to do to the errors of opening the file.
func openError(path string, err error) error {
	switch {
	case errors.Is(err, ErrCorrupt):
		return err
	case errors.Is(err, syscall.EROFS):
		return fmt.Errorf("open %s: %w: the data directory is on a read-only file system; remount it read-write or point --data-dir at a writable directory", path, err)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("open %s: %w: run gatehouse as the user that owns the data directory, or chown the directory (mode 700) and its files (mode 600) to this user", path, err)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrChecksum):
		return fmt.Errorf("%w: %s is not a Gatehouse data file or is damaged (%w); restore it from a backup. Gatehouse has not changed it", ErrCorrupt, path, err)
	}
	return fmt.Errorf("open %s: %w", path, err)
}
