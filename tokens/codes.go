package tokens

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
)

// UserCodeAlphabet is 20 consonants: no vowels (no words), no digits and no
// look-alikes (no 0/O, 1/I/L confusion with Y omitted too), as RFC 8628 §6.1
// suggests for codes typed on a phone.
const UserCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

// UserCodeLength is the number of significant characters in a user code.
const UserCodeLength = 8

// ErrInvalidUserCode is returned for input that cannot be a user code.
var ErrInvalidUserCode = errors.New("invalid user code")

// NewUserCode returns a random user code in its normalized form (8 letters,
// no dash). Each letter is drawn without modulo bias.
func NewUserCode() (string, error) {
	var b [UserCodeLength]byte
	buf := make([]byte, 1)
	for i := 0; i < UserCodeLength; {
		if _, err := rand.Read(buf); err != nil {
			return "", err
		}
		// 240 = 12*20: reject 240..255 so every letter is equally likely.
		if buf[0] >= 240 {
			continue
		}
		b[i] = UserCodeAlphabet[int(buf[0])%len(UserCodeAlphabet)]
		i++
	}
	return string(b[:]), nil
}

// FormatUserCode renders a normalized user code as XXXX-XXXX for display.
func FormatUserCode(code string) string {
	if len(code) != UserCodeLength {
		return code
	}
	return code[:4] + "-" + code[4:]
}

// NormalizeUserCode accepts what a person types: any case, with or without
// the dash, with spaces or other punctuation. It returns the 8-letter form or
// ErrInvalidUserCode. Input longer than a generous bound is refused without
// being scanned, so the work done is bounded.
func NormalizeUserCode(in string) (string, error) {
	if len(in) > 64 {
		return "", ErrInvalidUserCode
	}
	var b strings.Builder
	b.Grow(UserCodeLength)
	for _, r := range in {
		switch {
		case r >= 'a' && r <= 'z':
			r -= 'a' - 'A'
		case r >= 'A' && r <= 'Z':
		case isCodeSeparator(r):
			continue
		default:
			return "", ErrInvalidUserCode
		}
		if !strings.ContainsRune(UserCodeAlphabet, r) || b.Len() >= UserCodeLength {
			return "", ErrInvalidUserCode
		}
		b.WriteRune(r)
	}
	if b.Len() != UserCodeLength {
		return "", ErrInvalidUserCode
	}
	return b.String(), nil
}

// isCodeSeparator reports ASCII whitespace and punctuation, which people
// type or paste around a code (DESIGN §3: "other punctuation ignored").
// Digits, control characters and anything non-ASCII stay errors: a
// look-alike from another script must not be silently dropped or folded.
func isCodeSeparator(r rune) bool {
	switch {
	case r == ' ' || r == '\t' || r == '\n' || r == '\r':
		return true
	case r > ' ' && r < 0x7f:
		return !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z')
	}
	return false
}

// NewDeviceCode returns 256 random bits, unpadded base64url.
func NewDeviceCode() (string, error) { return RandomString(32) }

// RandomString returns n random bytes as unpadded base64url.
func RandomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Hash is the SHA-256 of a secret; it is what storage keeps instead of the
// secret itself.
type Hash [sha256.Size]byte

// HashOf hashes a secret string.
func HashOf(secret string) Hash { return sha256.Sum256([]byte(secret)) }

// Short is a hash's first 8 hex digits, safe to log.
func (h Hash) Short() string {
	const hexdigits = "0123456789abcdef"
	out := make([]byte, 8)
	for i := 0; i < 4; i++ {
		out[2*i] = hexdigits[h[i]>>4]
		out[2*i+1] = hexdigits[h[i]&0xf]
	}
	return string(out)
}

// IsZero reports whether h is the empty hash (a cleared, revoked row).
func (h Hash) IsZero() bool { return h == Hash{} }

// MarshalText encodes the hash as hex, so stored rows stay readable.
func (h Hash) MarshalText() ([]byte, error) {
	if h.IsZero() {
		return []byte{}, nil
	}
	return []byte(hex.EncodeToString(h[:])), nil
}

// UnmarshalText decodes a hex hash; empty text is the zero hash.
func (h *Hash) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*h = Hash{}
		return nil
	}
	if len(b) != 2*len(h) {
		return errors.New("tokens: bad hash length")
	}
	_, err := hex.Decode(h[:], b)
	return err
}
