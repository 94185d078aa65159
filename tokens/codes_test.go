package tokens

import (
	"encoding/base64"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestNormalizeUserCode(t *testing.T) {
	tests := []struct {
		name, in, want string // want "" means ErrInvalidUserCode
	}{
		{"normalized form passes through", "BCDFGHJK", "BCDFGHJK"},
		{"display form loses its dash", "BCDF-GHJK", "BCDFGHJK"},
		{"lower case is upper-cased", "bcdf-ghjk", "BCDFGHJK"},
		{"mixed case is upper-cased", "bCdF-gHjK", "BCDFGHJK"},
		{"spaces are ignored", " BCDF GHJK ", "BCDFGHJK"},
		{"tabs and line breaks are ignored", "\tBCDF\r\nGHJK\n", "BCDFGHJK"},
		{"many dashes are ignored", "--B-C-D-F--G-H-J-K--", "BCDFGHJK"},
		{"dots, colons, slashes are ignored", "BC.DF:GH/JK", "BCDFGHJK"},
		{"other ASCII punctuation is ignored", "(BCDF),[GHJK]!#*+=?\"'", "BCDFGHJK"},
		{"every alphabet letter is accepted", "vwxz-qrst", "VWXZQRST"},
		{"64 bytes of padding is still read", "BCDF-GHJK" + strings.Repeat(" ", 55), "BCDFGHJK"},
		{"empty", "", ""},
		{"only punctuation", "----", ""},
		{"seven letters", "BCDF-GHJ", ""},
		{"nine letters", "BCDF-GHJKL", ""},
		{"vowel A", "ACDF-GHJK", ""},
		{"vowel e", "bcdf-ghje", ""},
		{"vowels I O U", "BCDF-GIOU", ""},
		{"Y is not in the alphabet", "BCDF-GHJY", ""},
		{"digit zero", "BCDF-GHJ0", ""},
		{"digit one", "1CDF-GHJK", ""},
		{"control character", "BCDF\x00GHJK", ""},
		{"DEL", "BCDF\x7fGHJK", ""},
		{"fullwidth letter", "BCDF-GHJＫ", ""},
		{"Cyrillic look-alike", "BCDF-GHJК", ""},
		{"en dash", "BCDF–GHJK", ""},
		{"non-breaking space", "BCDF\u00a0GHJK", ""},
		{"Kelvin sign does not fold to K", "BCDF-GHJ\u212a", ""},
		{"invalid UTF-8", "BCDF\xffGHJK", ""},
		{"65 bytes refused unread", "BCDF-GHJK" + strings.Repeat(" ", 56), ""},
		{"long input refused", strings.Repeat("B", 1000), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeUserCode(tt.in)
			if tt.want == "" {
				if !errors.Is(err, ErrInvalidUserCode) || got != "" {
					t.Fatalf("NormalizeUserCode(%q) = %q, %v; want ErrInvalidUserCode", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("NormalizeUserCode(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestNewUserCodeIsEightAlphabetLettersThatNormalizeToThemselves(t *testing.T) {
	for i := 0; i < 1000; i++ {
		code := mustUserCode(t)
		if len(code) != UserCodeLength || strings.Trim(code, UserCodeAlphabet) != "" {
			t.Fatalf("NewUserCode() = %q", code)
		}
		if got, err := NormalizeUserCode(code); err != nil || got != code {
			t.Fatalf("NormalizeUserCode(%q) = %q, %v", code, got, err)
		}
		if got, err := NormalizeUserCode(strings.ToLower(FormatUserCode(code))); err != nil || got != code {
			t.Fatalf("typed back %q: got %q, %v", FormatUserCode(code), got, err)
		}
	}
}

// chiSquareBound is far in the tail of chi-square with 19 degrees of freedom
// (P(X > 80) is about 1e-9), so a fair generator never trips it. Plain
// byte%20 over 200000 letters scores about 190, so modulo bias always does.
const chiSquareBound = 80

const uniformityLetters = 200000

func TestNewUserCodeLettersAreUniform(t *testing.T) {
	var counts [len(UserCodeAlphabet)]int
	for n := 0; n < uniformityLetters/UserCodeLength; n++ {
		for _, c := range []byte(mustUserCode(t)) {
			counts[strings.IndexByte(UserCodeAlphabet, c)]++
		}
	}
	if x := chiSquare(counts[:]); x > chiSquareBound {
		t.Fatalf("chi-square %.1f > %d; counts %v", x, chiSquareBound, counts)
	}
}

// The bound is only worth having if it catches the bug it is for.
func TestChiSquareBoundCatchesModuloBias(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var counts [len(UserCodeAlphabet)]int
	for n := 0; n < uniformityLetters; n++ {
		counts[byte(r.Uint32())%byte(len(UserCodeAlphabet))]++
	}
	x := chiSquare(counts[:])
	t.Logf("byte%%20 chi-square %.1f", x)
	if x <= chiSquareBound {
		t.Fatalf("chi-square %.1f of byte%%20 within bound %d; counts %v", x, chiSquareBound, counts)
	}
}

func chiSquare(counts []int) float64 {
	total := 0
	for _, c := range counts {
		total += c
	}
	want := float64(total) / float64(len(counts))
	x := 0.0
	for _, c := range counts {
		d := float64(c) - want
		x += d * d / want
	}
	return x
}

func TestFormatUserCode(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"normalized code gets a dash in the middle", "BCDFGHJK", "BCDF-GHJK"},
		{"wrong length is left alone", "BCDFGHJ", "BCDFGHJ"},
		{"empty is left alone", "", ""},
		{"already formatted is left alone", "BCDF-GHJK", "BCDF-GHJK"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FormatUserCode(tt.in); got != tt.want {
				t.Fatalf("FormatUserCode(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNewDeviceCodeHasAtLeast128BitsAndIsURLSafe(t *testing.T) {
	code, err := NewDeviceCode()
	if err != nil {
		t.Fatal(err)
	}
	if !isBase64URL(code) {
		t.Fatalf("device code %q is not URL-safe", code)
	}
	raw, err := base64.RawURLEncoding.DecodeString(code)
	if err != nil || len(raw)*8 < 128 {
		t.Fatalf("device code %q decodes to %d bits, %v", code, len(raw)*8, err)
	}
}

func TestNewDeviceCodeIsUnique(t *testing.T) {
	seen := make(map[string]bool)
	for i := 0; i < 10000; i++ {
		code, err := NewDeviceCode()
		if err != nil {
			t.Fatal(err)
		}
		if seen[code] {
			t.Fatalf("device code %q repeated", code)
		}
		seen[code] = true
	}
}

func TestHashShortIsFirstEightHexDigitsOfSHA256(t *testing.T) {
	// SHA-256("abc") = ba7816bf...
	if got := HashOf("abc").Short(); got != "ba7816bf" {
		t.Fatalf("Short() = %q", got)
	}
	if HashOf("abc") == HashOf("abd") {
		t.Fatal("different secrets hash alike")
	}
}

func mustUserCode(t *testing.T) string {
	t.Helper()
	code, err := NewUserCode()
	if err != nil {
		t.Fatal(err)
	}
	return code
}
