package tokens

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// FuzzHashUnmarshalText checks Hash's text form ("a hex hash; empty text
// is the zero hash"):
//
//   - UnmarshalText accepts exactly the empty text and 64 hex digits (either
//     case), and then holds the bytes they spell;
//   - what it accepts marshals back to the same digits in lower case, or to
//     the empty text for the zero hash, and unmarshals again to the same
//     hash;
//   - any hash (here: built from the fuzzed bytes) marshals to "" (zero) or
//     64 lower-case hex digits whose first 8 are Short(), and round-trips
//     through UnmarshalText and through JSON.
func FuzzHashUnmarshalText(f *testing.F) {
	h := HashOf("gh_secret")
	hexh, _ := h.MarshalText()
	for _, s := range []string{
		string(hexh),
		strings.ToUpper(string(hexh)),
		"",
		strings.Repeat("0", 64),
		strings.Repeat("f", 64),
		strings.Repeat("F", 63) + "g",
		string(hexh[:63]),
		string(hexh) + "0",
		string(hexh[:62]) + "\x00\x00",
		" " + string(hexh[1:]),
		strings.Repeat("é", 32),
		"0x" + string(hexh[2:]),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var got Hash
		err := got.UnmarshalText(b)
		if wantOK := len(b) == 0 || len(b) == 64 && isHex(b); wantOK != (err == nil) {
			t.Fatalf("UnmarshalText(%q) = %v; want it accepted: %v", b, err, wantOK)
		}
		if err == nil {
			var want Hash
			for i := range want {
				if len(b) > 0 {
					want[i] = hexVal(b[2*i])<<4 | hexVal(b[2*i+1])
				}
			}
			if got != want {
				t.Fatalf("UnmarshalText(%q) = %x, want %x", b, got, want)
			}
			text, err := got.MarshalText()
			wantText := bytes.ToLower(b)
			if got.IsZero() {
				wantText = []byte{}
			}
			if err != nil || !bytes.Equal(text, wantText) {
				t.Fatalf("MarshalText after UnmarshalText(%q) = %q, %v; want %q", b, text, err, wantText)
			}
		}

		// Any hash round-trips.
		var h Hash
		copy(h[:], b)
		text, err := h.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case h.IsZero() && len(text) != 0:
			t.Fatalf("zero hash marshals to %q", text)
		case !h.IsZero() && (len(text) != 64 || !isHex(text) || !bytes.Equal(text, bytes.ToLower(text))):
			t.Fatalf("%x marshals to %q", h, text)
		case !h.IsZero() && h.Short() != string(text[:8]):
			t.Fatalf("Short() = %q, text %q", h.Short(), text)
		}
		var back Hash
		if err := back.UnmarshalText(text); err != nil || back != h {
			t.Fatalf("UnmarshalText(%q) = %x, %v; want %x", text, back, err, h)
		}
		j, err := json.Marshal(struct{ H Hash }{h})
		if err != nil {
			t.Fatal(err)
		}
		var v struct{ H Hash }
		if err := json.Unmarshal(j, &v); err != nil || v.H != h {
			t.Fatalf("JSON %s read back as %x, %v; want %x", j, v.H, err, h)
		}
	})
}

func isHex(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func hexVal(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}
