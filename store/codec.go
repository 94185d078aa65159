package store

import (
	"encoding/json"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"
)

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	buf, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, buf)
}

// getJSON decodes the value at key into v; ErrNotFound when absent. Decoding
// copies, so nothing of bbolt's memory escapes.
func getJSON(b *bolt.Bucket, key []byte, v any) error {
	raw := b.Get(key)
	if raw == nil {
		return ErrNotFound
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("corrupt row %q in %s: %w", key, "bucket", err)
	}
	return nil
}

// activeKey is the active-per-device index key: length-prefixed fields so no
// choice of strings can collide.
func activeKey(email, issuer, clientID, label string) []byte {
	// Emails compare case-insensitively everywhere, so the key folds case:
	// the same person signing in as Ada@ and ada@ rotates one token.
	return lengthPrefixed(strings.ToLower(email), issuer, clientID, label)
}

// subjectPrefix is the start of every activeKey of one subject.
func subjectPrefix(email, issuer string) []byte {
	return lengthPrefixed(strings.ToLower(email), issuer)
}

func lengthPrefixed(fields ...string) []byte {
	var out []byte
	for _, f := range fields {
		out = append(out, byte(len(f)>>8), byte(len(f)))
		out = append(out, f...)
	}
	return out
}
