package tokens

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are the argon2id cost settings (RFC 9106 §4, the second
// recommended option: 64 MiB, 3 passes).
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// DefaultArgon2 is used for every new password hash.
var DefaultArgon2 = Argon2Params{Memory: 64 * 1024, Time: 3, Threads: 2}

var (
	// ErrBadPasswordHash means a stored hash could not be parsed.
	ErrBadPasswordHash = errors.New("unrecognised password hash")
	// ErrBadArgon2Params means HashPassword was given settings that argon2
	// would panic on or that VerifyPassword would later refuse.
	ErrBadArgon2Params = errors.New("argon2 parameters out of range")
)

// Bounds on what a stored hash may ask for. The cost bounds stop a corrupt
// row from costing gigabytes or minutes per login; the length bounds stop a
// one-byte key, which any password would match one time in 256.
const (
	maxArgon2Memory = 1 << 21 // KiB, 2 GiB
	maxArgon2Time   = 16
	saltLen         = 16
	minSaltLen      = 8 // RFC 9106 §3.1
	maxSaltLen      = 64
	keyLen          = 32
	minKeyLen       = 16
	maxKeyLen       = 64
)

// phcHash is a parsed "$argon2id$v=19$m=..,t=..,p=..$salt$key" string.
type phcHash struct {
	params Argon2Params
	salt   []byte
	key    []byte
}

var phcB64 = base64.RawStdEncoding.Strict()

// HashPassword returns a PHC-format argon2id hash of password.
func HashPassword(password string, p Argon2Params) (string, error) {
	if !p.valid() {
		return "", fmt.Errorf("%w: %+v", ErrBadArgon2Params, p)
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, keyLen)
	return fmt.Sprintf("$argon2id$%s$%s$%s$%s",
		versionField(), p.field(), phcB64.EncodeToString(salt), phcB64.EncodeToString(key)), nil
}

// VerifyPassword reports whether password matches the PHC hash, comparing in
// constant time. Any encoding HashPassword could not have produced is
// ErrBadPasswordHash, never a panic.
func VerifyPassword(encoded, password string) (bool, error) {
	h, err := parsePHC(encoded)
	if err != nil {
		return false, err
	}
	p := h.params
	got := argon2.IDKey([]byte(password), h.salt, p.Time, p.Memory, p.Threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(got, h.key) == 1, nil
}

// parsePHC accepts only the canonical form HashPassword writes: each field
// must re-encode to exactly the text it came from, so there is one spelling
// of every hash.
func parsePHC(encoded string) (phcHash, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != versionField() {
		return phcHash{}, ErrBadPasswordHash
	}
	p, err := parseParams(parts[3])
	if err != nil {
		return phcHash{}, err
	}
	salt, err := decodePHCBytes(parts[4], minSaltLen, maxSaltLen)
	if err != nil {
		return phcHash{}, err
	}
	key, err := decodePHCBytes(parts[5], minKeyLen, maxKeyLen)
	if err != nil {
		return phcHash{}, err
	}
	return phcHash{params: p, salt: salt, key: key}, nil
}

func parseParams(s string) (Argon2Params, error) {
	var p Argon2Params
	if _, err := fmt.Sscanf(s, "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return Argon2Params{}, ErrBadPasswordHash
	}
	// Sscanf tolerates spaces, signs, leading zeros and trailing junk.
	if p.field() != s || !p.valid() {
		return Argon2Params{}, ErrBadPasswordHash
	}
	return p, nil
}

// decodePHCBytes decodes unpadded standard base64, refusing the line breaks
// the decoder would otherwise skip.
func decodePHCBytes(s string, minLen, maxLen int) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, ErrBadPasswordHash
	}
	b, err := phcB64.DecodeString(s)
	if err != nil || len(b) < minLen || len(b) > maxLen {
		return nil, ErrBadPasswordHash
	}
	return b, nil
}

// valid reports whether argon2 can run with p (it panics on zero time or
// threads) within the cost bounds.
func (p Argon2Params) valid() bool {
	return p.Time >= 1 && p.Time <= maxArgon2Time && p.Threads >= 1 && p.Memory <= maxArgon2Memory
}

func (p Argon2Params) field() string {
	return fmt.Sprintf("m=%d,t=%d,p=%d", p.Memory, p.Time, p.Threads)
}

func versionField() string { return fmt.Sprintf("v=%d", argon2.Version) }
