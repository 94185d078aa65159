package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/fnv"
	"math/big"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// encodeMeta writes a bbolt meta page (16-byte page header, then the
// 64-byte meta) as documented in faults.go, with a correct checksum.
func encodeMeta(pageID uint64, pageSize, flags uint32, root, seq, freelist, pgid, txid uint64) []byte {
	buf := make([]byte, pageHeaderSize+metaSize)
	ne := binary.NativeEndian
	ne.PutUint64(buf[0:], pageID)
	ne.PutUint16(buf[8:], 0x04) // meta page flag
	m := buf[pageHeaderSize:]
	ne.PutUint32(m[0:], boltMagic)
	ne.PutUint32(m[4:], boltVersion)
	ne.PutUint32(m[8:], pageSize)
	ne.PutUint32(m[12:], flags)
	ne.PutUint64(m[16:], root)
	ne.PutUint64(m[24:], seq)
	ne.PutUint64(m[32:], freelist)
	ne.PutUint64(m[40:], pgid)
	ne.PutUint64(m[48:], txid)
	h := fnv.New64a()
	h.Write(m[:metaSumOffset])
	ne.PutUint64(m[metaSumOffset:], h.Sum64())
	return buf
}

// FuzzReadMeta checks readMeta (and currentMeta, which picks the meta page
// bbolt would use) on arbitrary bytes:
//
//   - nothing panics, at any offset, negative or past the end;
//   - an accepted page lies wholly inside the data, carries the magic, the
//     version and a matching FNV-64a checksum, and its fields are the ones
//     at the documented offsets;
//   - the check refuses damage: changing any one byte of the 64-byte meta
//     makes readMeta refuse the page, while the 16-byte page header is not
//     covered and changes nothing;
//   - currentMeta answers a page size that is a power of two in
//     [512, 16 MiB] with both meta pages inside the file, and the valid meta
//     page with the highest txid.
func FuzzReadMeta(f *testing.F) {
	// Small pages keep the inputs small, so the fuzzer stays fast.
	page := encodeMeta(0, 512, 0, 3, 0, 2, 4, 1)
	file := make([]byte, 4*512)
	copy(file, page)
	copy(file[512:], encodeMeta(1, 512, 0, 3, 0, 2, 4, 2))
	f.Add(page, int64(0), uint8(0), uint8(1))
	f.Add(file, int64(0), uint8(20), uint8(0xff))
	f.Add(file, int64(512), uint8(70), uint8(1))
	f.Add(file[:512+40], int64(512), uint8(0), uint8(0))
	f.Add(page, int64(-1), uint8(0), uint8(0))
	f.Add(page[:79], int64(0), uint8(0), uint8(0))
	f.Add(append(make([]byte, 1024), encodeMeta(1, 1024, 0, 3, 0, 2, 4, 9)...), int64(1024), uint8(0), uint8(1))
	f.Add(encodeMeta(0, 3000, 0, 3, 0, 2, 4, 1), int64(0), uint8(8), uint8(0))
	f.Add([]byte("not a database"), int64(0), uint8(0), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, off int64, at, mask uint8) {
		r := bytes.NewReader(data)
		m, ok := readMeta(r, off)
		if ok {
			if off < 0 || off > int64(len(data))-(pageHeaderSize+metaSize) {
				t.Fatalf("accepted a meta page at %d of %d bytes", off, len(data))
			}
			raw := data[off+pageHeaderSize : off+pageHeaderSize+metaSize]
			ne := binary.NativeEndian
			h := fnv.New64a()
			h.Write(raw[:metaSumOffset])
			if ne.Uint32(raw) != boltMagic || ne.Uint32(raw[4:]) != boltVersion || ne.Uint64(raw[metaSumOffset:]) != h.Sum64() {
				t.Fatalf("accepted a meta page without magic, version or checksum: %x", raw)
			}
			want := metaPage{pageSize: int64(ne.Uint32(raw[8:])), root: ne.Uint64(raw[16:]), freelist: ne.Uint64(raw[32:]),
				pgid: ne.Uint64(raw[40:]), txid: ne.Uint64(raw[48:])}
			if m != want {
				t.Fatalf("readMeta = %+v, want %+v", m, want)
			}

			if mask != 0 {
				i := int64(at) % (pageHeaderSize + metaSize)
				bad := bytes.Clone(data)
				bad[off+i] ^= mask
				m2, ok2 := readMeta(bytes.NewReader(bad), off)
				if i < pageHeaderSize && (!ok2 || m2 != m) {
					t.Fatalf("changing page header byte %d: %+v, %v; want %+v", i, m2, ok2, m)
				}
				if i >= pageHeaderSize && ok2 {
					t.Fatalf("changing meta byte %d (^%#x) went unnoticed: %+v", i-pageHeaderSize, mask, m2)
				}
			}
		} else if m != (metaPage{}) {
			t.Fatalf("refused page with fields %+v", m)
		}

		cur, err := currentMeta(r, int64(len(data)))
		if err != nil {
			return
		}
		ps := cur.pageSize
		if ps < 512 || ps > 1<<24 || ps&(ps-1) != 0 || int64(len(data)) < 2*ps {
			t.Fatalf("currentMeta page size %d in a %d-byte file", ps, len(data))
		}
		m0, ok0 := readMeta(r, 0)
		m1, ok1 := readMeta(r, ps)
		switch {
		case ok0 && ok1:
			if want := map[bool]metaPage{true: m1, false: m0}[m1.txid > m0.txid]; cur != want {
				t.Fatalf("currentMeta = %+v, want the newer of %+v and %+v", cur, m0, m1)
			}
		case ok0 && cur != m0, ok1 && cur != m1:
			t.Fatalf("currentMeta = %+v, not the only valid page (%+v %v, %+v %v)", cur, m0, ok0, m1, ok1)
		case !ok0 && !ok1:
			t.Fatalf("currentMeta = %+v with no valid meta page", cur)
		}
	})
}

// FuzzMetaCheck builds meta pages from fuzzed fields:
//
//   - readMeta reads back exactly the fields written;
//   - check accepts the header only when the file holds every page it
//     claims (pgid pages of pageSize bytes, counted without overflow) and
//     the root and the freelist (unless there is none) are below pgid; its
//     error is ErrCorrupt.
func FuzzMetaCheck(f *testing.F) {
	f.Add(uint32(4096), uint64(3), uint64(2), uint64(4), uint64(7), int64(4*4096))
	f.Add(uint32(4096), uint64(3), noFreelist, uint64(4), uint64(7), int64(4*4096))
	f.Add(uint32(4096), uint64(3), uint64(2), uint64(5), uint64(7), int64(4*4096))
	f.Add(uint32(4096), uint64(4), uint64(2), uint64(4), uint64(7), int64(4*4096))
	f.Add(uint32(4096), uint64(3), uint64(9), uint64(4), uint64(7), int64(4*4096))
	f.Add(uint32(512), uint64(0), uint64(0), uint64(0), uint64(0), int64(0))
	f.Add(uint32(1<<24), uint64(1), uint64(2), uint64(3), ^uint64(0), int64(1<<62))
	f.Fuzz(func(t *testing.T, pageSize uint32, root, freelist, pgid, txid uint64, size int64) {
		raw := encodeMeta(0, pageSize, 0, root, 0, freelist, pgid, txid)
		m, ok := readMeta(bytes.NewReader(raw), 0)
		want := metaPage{pageSize: int64(pageSize), root: root, freelist: freelist, pgid: pgid, txid: txid}
		if !ok || m != want {
			t.Fatalf("readMeta of %+v = %+v, %v", want, m, ok)
		}
		err := m.check("/data/gatehouse.db", size)
		need := new(big.Int).Mul(new(big.Int).SetUint64(pgid), big.NewInt(int64(pageSize)))
		fits := need.Cmp(big.NewInt(size)) <= 0
		inside := root < pgid && (freelist == noFreelist || freelist < pgid)
		if (err == nil) != (fits && inside) {
			t.Fatalf("check(%+v, size %d) = %v; the file holds the %v bytes claimed: %v, root and freelist inside: %v",
				m, size, err, need, fits, inside)
		}
		if err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("check: %v, want ErrCorrupt", err)
		}
	})
}

// FuzzReadVersion checks how the schema version is read from the meta
// bucket: an 8-byte value is a big-endian version, anything else (or no
// value) is version 0; versionOf refuses a version newer than this build
// with ErrSchemaTooNew, and a version-0 file holding a bucket Gatehouse
// never writes with ErrForeign. Each input runs in a write transaction that
// is rolled back, so the file is never written.
func FuzzReadVersion(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 3}, true, "")
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 4}, true, "")
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0}, true, "tokens")
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0}, true, "not-gatehouse")
	f.Add([]byte{3}, true, "")
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 3}, true, "")
	f.Add([]byte{}, true, "")
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, true, "")
	f.Add([]byte(nil), false, "")
	f.Add([]byte(nil), false, "widgets")
	db, err := bolt.Open(filepath.Join(f.TempDir(), "v.db"), 0o600, &bolt.Options{NoSync: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	f.Fuzz(func(t *testing.T, value []byte, withMeta bool, bucket string) {
		tx, err := db.Begin(true)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if withMeta {
			meta, err := tx.CreateBucket(bucketMeta)
			if err != nil {
				t.Fatal(err)
			}
			if len(value) > 0 {
				if err := meta.Put([]byte("schema_version"), value); err != nil {
					t.Fatal(err)
				}
			}
		}
		extra := false
		if bucket != "" && bucket != string(bucketMeta) && len(bucket) <= bolt.MaxKeySize {
			if _, err := tx.CreateBucket([]byte(bucket)); err != nil {
				t.Fatal(err)
			}
			extra = true
		}

		want := uint64(0)
		if withMeta && len(value) == 8 {
			want = binary.BigEndian.Uint64(value)
		}
		if got := readVersion(tx); got != want {
			t.Fatalf("readVersion of %x = %d, want %d", value, got, want)
		}
		foreign := extra
		for _, b := range allBuckets {
			foreign = foreign && string(b) != bucket
		}
		v, err := versionOf(tx)
		switch {
		case v != want:
			t.Fatalf("versionOf = %d, want %d", v, want)
		case want > SchemaVersion():
			if !errors.Is(err, ErrSchemaTooNew) {
				t.Fatalf("versionOf(%d): %v, want ErrSchemaTooNew", want, err)
			}
		case want == 0 && foreign:
			if !errors.Is(err, ErrForeign) {
				t.Fatalf("versionOf with bucket %q: %v, want ErrForeign", bucket, err)
			}
		case err != nil:
			t.Fatalf("versionOf(%d) with bucket %q: %v", want, bucket, err)
		}
	})
}
