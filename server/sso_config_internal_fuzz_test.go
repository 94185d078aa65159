package server

import (
	"bytes"
	"encoding/base64"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gatehouse/tokens"
)

// FuzzParseSSOKeys checks what ParseSSOKeys promises for --sso-keys:
//
//   - an error is ErrSSOKeySpec, with no keys, and its text is one of the
//     three fixed messages naming at most a kid of the spec: key material
//     is never echoed;
//   - an accepted spec yields one key per non-blank item (a kid given twice
//     is refused, never silently overwritten), each kid non-empty, trimmed
//     and free of ':' and ',';
//   - what is accepted round-trips: the keys written back as KID:KEY in the
//     standard alphabet, the URL-safe one, padded or not, read back equal;
//   - the key set built from them (SSOConfig.validate) accepts the keys
//     exactly when each is at least tokens.MinJWSKeyLen bytes, and its
//     error does not echo key material either.
func FuzzParseSSOKeys(f *testing.F) {
	k32 := bytes.Repeat([]byte{0xfb}, 32) // "+/" in standard base64, "-_" in URL-safe
	k31 := bytes.Repeat([]byte{0x5a}, 31)
	std, url := base64.StdEncoding.EncodeToString(k32), base64.URLEncoding.EncodeToString(k32)
	for _, s := range []string{
		"k1:" + std,
		"k1:" + url,
		"k1:" + strings.TrimRight(std, "="),
		"k1:" + std + "====",
		" k1 : " + std + " ,, k2:" + url + " ,",
		"k1:" + std + ",k2:" + base64.StdEncoding.EncodeToString(k31),
		"k1:" + std + ",k1:" + url,
		"k1:" + std + ", k1 :" + url,
		"my kid:" + std,
		"k1:",
		"k1",
		":" + std,
		"  :" + std,
		"k1:not base64!",
		"k1:ab+c_d",
		"k1:" + std + ":extra",
		"k1:" + std[:len(std)-3],
		",,, ,",
		"",
		"k\x00:\xff\xfe",
		"kid:" + strings.Repeat("A", 4096),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		keys, err := ParseSSOKeys(spec)
		items, kids := ssoSpecItems(spec)
		if err != nil {
			if keys != nil {
				t.Fatalf("error %v with keys %v", err, keys)
			}
			checkSSOKeyError(t, err, kids)
			return
		}
		if len(keys) != len(items) {
			t.Fatalf("%d keys from %d items %q", len(keys), len(items), items)
		}
		for kid := range keys {
			if kid == "" || kid != strings.TrimSpace(kid) || strings.ContainsAny(kid, ":,") {
				t.Fatalf("bad kid %q accepted", kid)
			}
			if !slices.Contains(kids, kid) {
				t.Fatalf("kid %q is not in the spec", kid)
			}
		}

		// Round trip, in every spelling the doc comment allows.
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			var parts []string
			for kid, key := range keys {
				parts = append(parts, kid+":"+enc.EncodeToString(key))
			}
			again, err := ParseSSOKeys(strings.Join(parts, ","))
			if err != nil {
				t.Fatalf("re-reading %q: %v", parts, err)
			}
			if len(again) != len(keys) {
				t.Fatalf("re-reading %q: %d keys, want %d", parts, len(again), len(keys))
			}
			for kid, key := range keys {
				if !bytes.Equal(again[kid], key) {
					t.Fatalf("re-reading %q: kid %q is %x, want %x", parts, kid, again[kid], key)
				}
			}
		}

		// The key set: every key must be long enough, and the error (if any)
		// never shows a key.
		if len(keys) == 0 {
			return
		}
		var active string
		short := false
		for kid, key := range keys {
			if active == "" || kid < active {
				active = kid
			}
			short = short || len(key) < tokens.MinJWSKeyLen
		}
		c := &SSOConfig{ACSURL: "https://acs.example.test/initiate", Keys: keys, ActiveKID: active,
			Issuers: []string{"https://idp.example.test"}}
		verr := c.validate()
		if short != (verr != nil) {
			t.Fatalf("validate = %v with a key shorter than %d bytes: %v", verr, tokens.MinJWSKeyLen, short)
		}
		if verr != nil {
			if !errors.Is(verr, ErrConfig) || !errors.Is(verr, tokens.ErrShortKey) {
				t.Fatalf("validate: %v, want ErrConfig and ErrShortKey", verr)
			}
			for _, it := range items {
				_, enc, _ := strings.Cut(it, ":")
				if enc = strings.TrimSpace(enc); len(enc) >= 8 && strings.Contains(verr.Error(), enc) &&
					!strings.Contains(strings.Join(kids, "\n"), enc) {
					t.Fatalf("validate error %q shows the key %q", verr, enc)
				}
			}
			return
		}
		if c.keyset == nil {
			t.Fatal("validate passed without building the key set")
		}
	})
}

// ssoSpecItems returns the trimmed non-blank items of spec and the trimmed
// text before the first ':' of each.
func ssoSpecItems(spec string) (items, kids []string) {
	for _, it := range strings.Split(spec, ",") {
		if it = strings.TrimSpace(it); it == "" {
			continue
		}
		items = append(items, it)
		kid, _, _ := strings.Cut(it, ":")
		kids = append(kids, strings.TrimSpace(kid))
	}
	return items, kids
}

// checkSSOKeyError: the error is one of the fixed messages, naming (quoted)
// only a kid of the spec, so no key material can be in it.
func checkSSOKeyError(t *testing.T, err error, kids []string) {
	t.Helper()
	if !errors.Is(err, ErrSSOKeySpec) {
		t.Fatalf("error %v is not ErrSSOKeySpec", err)
	}
	msg := err.Error()
	if msg == ErrSSOKeySpec.Error()+": want KID:BASE64KEY[,KID:BASE64KEY...]" {
		return
	}
	for _, kid := range kids {
		q := strconv.Quote(kid)
		switch msg {
		case ErrSSOKeySpec.Error() + ": the key of kid " + q + " is not base64":
			return
		case ErrSSOKeySpec.Error() + ": kid " + q + " given twice":
			n := 0
			for _, k := range kids {
				if k == kid {
					n++
				}
			}
			if n < 2 {
				t.Fatalf("%v, but kid %q is given %d time(s)", err, kid, n)
			}
			return
		}
	}
	t.Fatalf("unexpected error text %q (kids %q)", msg, kids)
}
