package tokens

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejson "github.com/go-jose/go-jose/v4/json"
	"github.com/go-jose/go-jose/v4/jwt"
)

// The short-lived envelopes of the SSO branch share one key set and one
// claim shape. What keeps one from being replayed as another is aud, which
// Verify compares exactly, so every caller names the kind it expects.
const (
	AudStateEnvelope    = "gatehouse:sso-state"
	AudSubjectAssertion = "gatehouse:sso-assertion"
	AudApprovalGrant    = "gatehouse:approval-grant"
	AudDevicesSession   = "gatehouse:sso-devices" // My devices for an SSO subject
)

const (
	// MinJWSKeyLen is the HS256 key floor: RFC 7518 §3.2 asks for a key at
	// least as long as the hash output.
	MinJWSKeyLen = 32
	// maxJWSLen bounds the work done on a presented token before anything
	// is decoded; our own tokens are a few hundred bytes.
	maxJWSLen = 8 << 10
	// iatSkew tolerates clocks between instances that disagree a little.
	iatSkew = 30 * time.Second
)

// Every refusal from Verify wraps ErrInvalidJWS; the more specific sentinels
// are wrapped alongside it so a caller may tell why, e.g. to show "this link
// has expired" instead of a generic error.
var (
	ErrInvalidJWS      = errors.New("invalid JWS")
	ErrShortKey        = errors.New("JWS key shorter than 32 bytes")
	ErrUnknownKey      = errors.New("unknown JWS key id")
	ErrWrongAudience   = errors.New("wrong audience")
	ErrExpired         = errors.New("expired")
	ErrIssuedInFuture  = errors.New("issued in the future")
	ErrLifetimeTooLong = errors.New("lifetime too long")
)

// jwsB64 refuses non-canonical encodings (stray low bits in the last
// character) so no two strings carry the same signed token.
var jwsB64 = base64.RawURLEncoding.Strict()

// Keyset holds the HMAC keys by kid. Only the active key signs; every key
// verifies, so a rotated-out key keeps its tokens valid until they expire
// and is then dropped from the set. A Keyset is immutable and safe for
// concurrent use.
type Keyset struct {
	active string
	keys   map[string][]byte
}

// Claims is the payload of every envelope. Which fields are set depends on
// the kind (aud); Audience, IssuedAt, Expiry and Nonce are always required.
type Claims struct {
	Issuer        string           `json:"iss,omitempty"` // the Gatehouse that minted it
	Subject       string           `json:"sub,omitempty"` // the subject at SubjectIssuer
	Audience      string           `json:"aud"`           // one string, never an array
	IssuedAt      *jwt.NumericDate `json:"iat"`
	Expiry        *jwt.NumericDate `json:"exp"`
	Nonce         string           `json:"nonce"` // recorded by the server to make the token single-use
	UserCode      string           `json:"user_code,omitempty"`
	Email         string           `json:"email,omitempty"`
	SubjectIssuer string           `json:"subject_issuer,omitempty"`
	CallbackURL   string           `json:"idp_callback_url,omitempty"`
	CSRFToken     string           `json:"csrf_token,omitempty"`
	Purpose       string           `json:"purpose,omitempty"` // "devices": a My devices sign-in, no user_code
}

// NewKeyset copies keys, so later changes to the map do not reach it.
func NewKeyset(active string, keys map[string][]byte) (*Keyset, error) {
	ks := &Keyset{active: active, keys: make(map[string][]byte, len(keys))}
	for kid, key := range keys {
		if kid == "" {
			return nil, fmt.Errorf("%w: empty kid", ErrUnknownKey)
		}
		if len(key) < MinJWSKeyLen {
			return nil, fmt.Errorf("%w: kid %q has %d bytes", ErrShortKey, kid, len(key))
		}
		ks.keys[kid] = bytes.Clone(key)
	}
	if _, ok := ks.keys[active]; !ok {
		return nil, fmt.Errorf("%w: active kid %q not in key set", ErrUnknownKey, active)
	}
	return ks, nil
}

// Sign returns c as a compact HS256 JWS under the active key. It refuses
// claims Verify would refuse for being incomplete, so the mistake shows up
// where it was made.
func (ks *Keyset) Sign(c Claims) (string, error) {
	if err := c.checkComplete(); err != nil {
		return "", err
	}
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", ks.active)
	key := jose.SigningKey{Algorithm: jose.HS256, Key: ks.keys[ks.active]}
	signer, err := jose.NewSigner(key, opts)
	if err != nil {
		return "", refuse(ErrInvalidJWS, err.Error())
	}
	return jwt.Signed(signer).Claims(c).Serialize()
}

// Verify returns the claims of token if it is a compact HS256 JWS signed by
// a key in ks, meant for wantAud, unexpired at now and, when maxLifetime > 0,
// issued for no longer than maxLifetime. Checking that the nonce has not
// been used before is the caller's job. On error the claims are zero: a
// caller never sees claims that did not pass.
func (ks *Keyset) Verify(token, wantAud string, now time.Time, maxLifetime time.Duration) (Claims, error) {
	kid, err := checkCompact(token)
	if err != nil {
		return Claims{}, err
	}
	key, ok := ks.keys[kid]
	if !ok {
		return Claims{}, refuse(ErrUnknownKey, fmt.Sprintf("kid %q", kid))
	}
	c, err := verifySigned(token, kid, key)
	if err != nil {
		return Claims{}, err
	}
	if err := c.check(wantAud, now, maxLifetime); err != nil {
		return Claims{}, err
	}
	return c, nil
}

// checkCompact vets the token's shape and header before go-jose sees it,
// and returns its kid. go-jose would also accept the JSON serialization,
// a "b64" header or an embedded jwk; none of those are ours, so the header
// may hold only alg, kid and typ.
func checkCompact(token string) (string, error) {
	if len(token) > maxJWSLen {
		return "", refuse(ErrInvalidJWS, fmt.Sprintf("longer than %d bytes", maxJWSLen))
	}
	if strings.HasPrefix(strings.TrimSpace(token), "{") {
		return "", refuse(ErrInvalidJWS, "JSON serialization refused")
	}
	segs := strings.Split(token, ".")
	if len(segs) != 3 {
		return "", refuse(ErrInvalidJWS, "not three segments")
	}
	var header []byte
	for i, seg := range segs {
		// isBase64URL also refuses the line breaks base64 would skip.
		b, err := jwsB64.DecodeString(seg)
		if seg == "" || !isBase64URL(seg) || err != nil {
			return "", refuse(ErrInvalidJWS, fmt.Sprintf("segment %d is not canonical base64url", i))
		}
		if i == 0 {
			header = b
		}
	}
	return checkHeader(header)
}

// checkHeader pins alg to HS256 by exact, case-sensitive match and refuses
// every header parameter we do not write, crit included. go-jose's decoder
// refuses duplicate names, so "alg" cannot say one thing here and another
// to go-jose.
func checkHeader(raw []byte) (string, error) {
	var h map[string]any
	if err := josejson.Unmarshal(raw, &h); err != nil || h == nil {
		return "", refuse(ErrInvalidJWS, "header is not a JSON object")
	}
	if _, ok := h["crit"]; ok {
		return "", refuse(ErrInvalidJWS, "crit header refused")
	}
	for name := range h {
		if name != "alg" && name != "kid" && name != "typ" {
			return "", refuse(ErrInvalidJWS, fmt.Sprintf("header %q refused", name))
		}
	}
	if alg, _ := h["alg"].(string); alg != string(jose.HS256) {
		return "", refuse(ErrInvalidJWS, "alg must be HS256")
	}
	if typ, ok := h["typ"]; ok && typ != "JWT" {
		return "", refuse(ErrInvalidJWS, "typ must be JWT")
	}
	kid, _ := h["kid"].(string)
	if kid == "" {
		return "", refuse(ErrUnknownKey, "kid missing or not a string")
	}
	return kid, nil
}

// verifySigned checks the MAC with go-jose, the algorithm list pinned again,
// and decodes the claims only once it holds.
func verifySigned(token, kid string, key []byte) (Claims, error) {
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.HS256})
	if err != nil {
		return Claims{}, refuse(ErrInvalidJWS, err.Error())
	}
	if len(tok.Headers) != 1 || tok.Headers[0].KeyID != kid {
		return Claims{}, refuse(ErrInvalidJWS, "header mismatch")
	}
	var c Claims
	if err := tok.Claims(key, &c); err != nil {
		return Claims{}, refuse(ErrInvalidJWS, err.Error())
	}
	return c, nil
}

func (c Claims) checkComplete() error {
	if c.Audience == "" || c.IssuedAt == nil || c.Expiry == nil || c.Nonce == "" {
		return refuse(ErrInvalidJWS, "aud, iat, exp and nonce are required")
	}
	return nil
}

// check applies the registered-claim rules to claims whose MAC has passed,
// so the specific errors are only ever reported for our own tokens.
func (c Claims) check(wantAud string, now time.Time, maxLifetime time.Duration) error {
	if err := c.checkComplete(); err != nil {
		return err
	}
	if c.Audience != wantAud {
		return refuse(ErrWrongAudience, fmt.Sprintf("got %q, want %q", c.Audience, wantAud))
	}
	exp, iat := c.Expiry.Time(), c.IssuedAt.Time()
	if !now.Before(exp) {
		return refuse(ErrExpired, fmt.Sprintf("at %s", exp.UTC().Format(time.RFC3339)))
	}
	if iat.After(now.Add(iatSkew)) {
		return refuse(ErrIssuedInFuture, fmt.Sprintf("at %s", iat.UTC().Format(time.RFC3339)))
	}
	if exp.Before(iat) {
		return refuse(ErrInvalidJWS, "exp before iat")
	}
	// Sub saturates, so a far-future exp cannot overflow into a short span.
	if maxLifetime > 0 && exp.Sub(iat) > maxLifetime {
		return refuse(ErrLifetimeTooLong, fmt.Sprintf("%s > %s", exp.Sub(iat), maxLifetime))
	}
	return nil
}

// refuse wraps ErrInvalidJWS, and reason too when it is more specific.
// detail must never carry the token, a key or a nonce.
func refuse(reason error, detail string) error {
	if reason == ErrInvalidJWS {
		return fmt.Errorf("%w: %s", ErrInvalidJWS, detail)
	}
	return fmt.Errorf("%w: %w: %s", ErrInvalidJWS, reason, detail)
}
