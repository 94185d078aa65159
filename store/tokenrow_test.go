package store

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"gatehouse/tokens"
)

var fullToken = Token{ID: "tok_1", Hash: tokens.HashOf("dfoe_x"), Kind: "external", Prefix: "dfoe_abc",
	SubjectEmail: "ada@example.com", SubjectIssuer: "https://idp.example", AccountID: "acc", WorkspaceID: "ws",
	ClientID: "cli", DeviceLabel: "laptop ünïcode", CreatedAt: t0, RotatedAt: t0.Add(time.Hour),
	ExpiresAt: t0.Add(24 * time.Hour), LastUsedAt: t0.Add(2 * time.Hour), LastSeenBy: "billing",
	LastSeenByAt: t0.Add(3 * time.Hour), RevokedAt: t0.Add(4*time.Hour + 5), RevokedReason: "admin"}

func TestTokenRowRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		tok  Token
	}{
		{"every field", fullToken},
		{"zero value", Token{}},
		{"no hash (retired)", func() Token { x := fullToken; x.Hash = tokens.Hash{}; return x }()},
		{"before 1970 and far future", Token{ID: "t", CreatedAt: time.Date(1969, 7, 20, 20, 17, 0, 0, time.UTC),
			ExpiresAt: time.Date(2261, 1, 1, 0, 0, 0, 0, time.UTC)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeToken(EncodeTokenRow(tc.tok))
			if err != nil || got != tc.tok {
				t.Fatalf("round trip: %+v, %v\nwant %+v", got, err, tc.tok)
			}
		})
	}
}

// A row written by schema 1-2 (JSON) decodes to the same token.
func TestTokenRowReadsJSONRows(t *testing.T) {
	raw, err := json.Marshal(fullToken)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeToken(raw)
	if err != nil || got != fullToken {
		t.Fatalf("JSON row: %+v, %v", got, err)
	}
}

// The decoded token must not alias the row: bbolt reuses that memory once
// the transaction ends.
func TestTokenRowDoesNotAliasItsInput(t *testing.T) {
	row := EncodeTokenRow(fullToken)
	got, err := decodeToken(row)
	if err != nil {
		t.Fatal(err)
	}
	for i := range row {
		row[i] = 'X'
	}
	if got != fullToken {
		t.Fatalf("decoded token changed with its input: %+v", got)
	}
}

func TestTokenRowRefusesDamage(t *testing.T) {
	good := EncodeTokenRow(fullToken)
	for _, tc := range []struct {
		name string
		row  []byte
	}{
		{"empty", nil},
		{"unknown version", append([]byte{0x02}, good[1:]...)},
		{"bad hash flag", append([]byte{tokenRowV1, 7}, good[2:]...)},
		{"truncated by one", good[:len(good)-1]},
		{"truncated in the hash", good[:10]},
		{"trailing byte", append(append([]byte(nil), good...), 0)},
		{"string longer than the row", []byte{tokenRowV1, 0, 0xff, 0x01}},
		{"overlong varint", append([]byte{tokenRowV1, 0}, bytes.Repeat([]byte{0xff}, 11)...)},
		{"broken JSON", []byte(`{"id":`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := decodeToken(tc.row); err == nil {
				t.Fatalf("decoded %+v from a damaged row", got)
			}
		})
	}
}

// FuzzDecodeToken: no input panics, and whatever decodes re-encodes to a
// row that decodes to the same token.
func FuzzDecodeToken(f *testing.F) {
	f.Add(EncodeTokenRow(fullToken))
	f.Add(EncodeTokenRow(Token{}))
	raw, _ := json.Marshal(fullToken)
	f.Add(raw)
	f.Add([]byte{tokenRowV1, 1})
	f.Fuzz(func(t *testing.T, row []byte) {
		tok, err := decodeToken(row)
		if err != nil {
			return
		}
		again, err := decodeToken(EncodeTokenRow(tok))
		if err != nil || again != tok {
			t.Fatalf("re-encoded row: %+v, %v; want %+v", again, err, tok)
		}
	})
}
