package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Token rows are read on every bearer check, so since schema 3 they are a
// fixed binary layout rather than JSON (decoding JSON was most of a bearer
// check's own CPU time). Rows written by schemas 1 and 2 are JSON objects;
// they still decode (a JSON row starts with '{', a binary one with its
// version byte) and become binary the next time they are written, so an
// upgrade rewrites nothing at start-up.
//
// Layout, version 1:
//
//	byte      0x01
//	byte      1 if a hash follows, else 0
//	[32]byte  hash (only when present)
//	11 x      uvarint length + bytes: ID, Kind, Prefix, SubjectEmail,
//	          SubjectIssuer, AccountID, WorkspaceID, ClientID, DeviceLabel,
//	          LastSeenBy, RevokedReason
//	6 x       time: byte 0 (zero time) or 1 + varint Unix seconds +
//	          uvarint nanoseconds (< 1e9), read back in UTC:
//	          CreatedAt, RotatedAt, ExpiresAt, LastUsedAt, LastSeenByAt,
//	          RevokedAt
//
// Nothing may follow the last time.
const tokenRowV1 = 0x01

var errTokenRow = errors.New("corrupt token row")

// EncodeTokenRow is the stored form of a token row; exported for tools that
// seed large files straight into bbolt (the benchmark harness).
func EncodeTokenRow(t Token) []byte {
	b := make([]byte, 0, 160+len(t.SubjectEmail)+len(t.SubjectIssuer)+len(t.DeviceLabel))
	b = append(b, tokenRowV1)
	if t.Hash.IsZero() {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = append(b, t.Hash[:]...)
	}
	for _, s := range t.rowStrings() {
		b = binary.AppendUvarint(b, uint64(len(*s)))
		b = append(b, *s...)
	}
	for _, at := range t.rowTimes() {
		if at.IsZero() {
			b = append(b, 0)
			continue
		}
		b = append(b, 1)
		b = binary.AppendVarint(b, at.Unix())
		b = binary.AppendUvarint(b, uint64(at.Nanosecond()))
	}
	return b
}

// decodeToken reads a row in either format. The result shares no memory
// with v, so it may outlive the transaction v came from.
func decodeToken(v []byte) (Token, error) {
	var t Token
	if len(v) > 0 && v[0] == '{' {
		if err := json.Unmarshal(v, &t); err != nil {
			return Token{}, fmt.Errorf("%w: %w", errTokenRow, err)
		}
		return t, nil
	}
	if len(v) < 2 || v[0] != tokenRowV1 {
		return Token{}, fmt.Errorf("%w: unknown format", errTokenRow)
	}
	// One copy of the row as a string; every string field is a substring
	// of it, so decoding allocates once for all of them.
	r := rowReader{s: string(v), off: 2}
	if v[1] == 1 {
		copy(t.Hash[:], r.take(len(t.Hash)))
	} else if v[1] != 0 {
		return Token{}, fmt.Errorf("%w: bad hash flag", errTokenRow)
	}
	for _, s := range t.rowStrings() {
		*s = r.str()
	}
	for _, at := range t.rowTimes() {
		*at = r.time()
	}
	if r.err != nil || r.off != len(r.s) {
		return Token{}, fmt.Errorf("%w: truncated or trailing bytes", errTokenRow)
	}
	return t, nil
}

// getToken decodes the row at key; ErrNotFound when absent.
func getToken(b *bolt.Bucket, key []byte, t *Token) error {
	raw := b.Get(key)
	if raw == nil {
		return ErrNotFound
	}
	var err error
	*t, err = decodeToken(raw)
	if err != nil {
		return fmt.Errorf("token %q: %w", key, err)
	}
	return nil
}

func (t *Token) rowStrings() [11]*string {
	return [11]*string{&t.ID, &t.Kind, &t.Prefix, &t.SubjectEmail, &t.SubjectIssuer, &t.AccountID,
		&t.WorkspaceID, &t.ClientID, &t.DeviceLabel, &t.LastSeenBy, &t.RevokedReason}
}

func (t *Token) rowTimes() [6]*time.Time {
	return [6]*time.Time{&t.CreatedAt, &t.RotatedAt, &t.ExpiresAt, &t.LastUsedAt, &t.LastSeenByAt, &t.RevokedAt}
}

// rowReader walks a binary row; the first error sticks and later reads
// return zero values.
type rowReader struct {
	s   string
	off int
	err error
}

func (r *rowReader) take(n int) string {
	if r.err != nil || n < 0 || n > len(r.s)-r.off {
		r.err = errTokenRow
		return ""
	}
	out := r.s[r.off : r.off+n]
	r.off += n
	return out
}

// uvarint reads what binary.AppendUvarint wrote, from the string itself
// (no conversion to []byte, which would copy).
func (r *rowReader) uvarint() uint64 {
	var x uint64
	for shift := uint(0); r.err == nil && shift < 64; shift += 7 {
		if r.off >= len(r.s) {
			break
		}
		c := r.s[r.off]
		r.off++
		if c < 0x80 {
			if shift == 63 && c > 1 {
				break
			}
			return x | uint64(c)<<shift
		}
		x |= uint64(c&0x7f) << shift
	}
	r.err = errTokenRow
	return 0
}

func (r *rowReader) str() string {
	n := r.uvarint()
	if n > uint64(len(r.s)) {
		r.err = errTokenRow
		return ""
	}
	return r.take(int(n))
}

func (r *rowReader) time() time.Time {
	switch flag := r.take(1); {
	case r.err != nil:
		return time.Time{}
	case flag == "\x00":
		return time.Time{}
	case flag != "\x01":
		r.err = errTokenRow
		return time.Time{}
	}
	ux := r.uvarint() // binary.AppendVarint's zig-zag encoding
	sec := int64(ux >> 1)
	if ux&1 != 0 {
		sec = ^sec
	}
	nsec := r.uvarint()
	if r.err != nil || nsec >= 1e9 {
		r.err = errTokenRow
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}
