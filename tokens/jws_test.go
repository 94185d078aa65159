package tokens

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// A fixed clock and fixed keys: hand-made tokens and the committed fuzz
// corpus stay meaningful forever.
var (
	testNow = time.Unix(1_700_000_000, 0)
	key1    = bytes.Repeat([]byte{1}, MinJWSKeyLen)
	key2    = bytes.Repeat([]byte{2}, MinJWSKeyLen)
)

const (
	testLifetime = 10 * time.Minute
	hdrOK        = `{"alg":"HS256","kid":"k1","typ":"JWT"}`
)

func TestVerifyRefusesHostileTokens(t *testing.T) {
	ks := mustKeyset(t, "k1", map[string][]byte{"k1": key1, "k2": key2})
	good := craft(hdrOK, claimsJSON(nil), sha256.New, key1)
	h, p, s := splitJWS(t, good)
	tests := []struct {
		name    string
		token   string
		wantErr error // nil: the token verifies
	}{
		{"hand-made control token verifies", good, nil},
		{"token from Sign verifies", mustSign(t, ks, testClaims(AudStateEnvelope)), nil},
		{"typ may be left out", craft(`{"alg":"HS256","kid":"k1"}`, claimsJSON(nil), sha256.New, key1), nil},
		{"iat 30s ahead is clock skew", craft(hdrOK, claimsJSON(at("iat", 30*time.Second)), sha256.New, key1), nil},

		{"alg none, no signature", b64(`{"alg":"none","kid":"k1"}`) + "." + p + ".", ErrInvalidJWS},
		{"alg none, HMAC signature", craft(`{"alg":"none","kid":"k1"}`, claimsJSON(nil), sha256.New, key1), ErrInvalidJWS},
		{"alg HS512", craft(`{"alg":"HS512","kid":"k1"}`, claimsJSON(nil), sha512.New, key1), ErrInvalidJWS},
		{"alg RS256", rs256Token(t), ErrInvalidJWS},
		{"alg lower-case hs256", craft(`{"alg":"hs256","kid":"k1"}`, claimsJSON(nil), sha256.New, key1), ErrInvalidJWS},
		{"alg missing", craft(`{"kid":"k1"}`, claimsJSON(nil), sha256.New, key1), ErrInvalidJWS},
		{"alg duplicated", craft(`{"alg":"none","alg":"HS256","kid":"k1"}`, claimsJSON(nil), sha256.New, key1), ErrInvalidJWS},
		{"crit naming a claim", craft(`{"alg":"HS256","kid":"k1","crit":["exp"]}`, claimsJSON(nil), sha256.New, key1), ErrInvalidJWS},
		{"crit b64 false (RFC 7797)", craft(`{"alg":"HS256","kid":"k1","b64":false,"crit":["b64"]}`, claimsJSON(nil), sha256.New, key1), ErrInvalidJWS},
		{"empty crit", craft(`{"alg":"HS256","kid":"k1","crit":[]}`, claimsJSON(nil), sha256.New, key1), ErrInvalidJWS},
		{"b64 false without crit", craft(`{"alg":"HS256","kid":"k1","b64":false}`, claimsJSON(nil), sha256.New, key1), ErrInvalidJWS},
		{"embedded jwk", craft(`{"alg":"HS256","kid":"k1","jwk":{"kty":"oct","k":"AQ"}}`, claimsJSON(nil), sha256.New, key1), ErrInvalidJWS},
		{"unknown header parameter", craft(`{"alg":"HS256","kid":"k1","zip":"DEF"}`, claimsJSON(nil), sha256.New, key1), ErrInvalidJWS},
		{"typ other than JWT", craft(`{"alg":"HS256","kid":"k1","typ":"at+jwt"}`, claimsJSON(nil), sha256.New, key1), ErrInvalidJWS},
		{"header not an object", craft(`["HS256"]`, claimsJSON(nil), sha256.New, key1), ErrInvalidJWS},
		{"header null", craft(`null`, claimsJSON(nil), sha256.New, key1), ErrInvalidJWS},

		{"JSON flattened serialization", jsonSerialization(h, p, s), ErrInvalidJWS},
		{"JSON serialization after whitespace", " \n" + jsonSerialization(h, p, s), ErrInvalidJWS},
		{"JSON general serialization", fmt.Sprintf(`{"payload":%q,"signatures":[{"protected":%q,"signature":%q}]}`, p, h, s), ErrInvalidJWS},
		{"empty", "", ErrInvalidJWS},
		{"two segments", h + "." + p, ErrInvalidJWS},
		{"four segments", good + ".", ErrInvalidJWS},
		{"empty payload segment", h + ".." + s, ErrInvalidJWS},
		{"line break inside", h[:5] + "\n" + h[5:] + "." + p + "." + s, ErrInvalidJWS},
		{"padding added", h + "." + p + "." + s + "=", ErrInvalidJWS},
		{"surrounding space", " " + good + " ", ErrInvalidJWS},
		{"over 8 KiB though well signed", craft(hdrOK, claimsJSON(set("email", strings.Repeat("a", 9000))), sha256.New, key1), ErrInvalidJWS},

		{"unknown kid", craft(`{"alg":"HS256","kid":"k9"}`, claimsJSON(nil), sha256.New, key1), ErrUnknownKey},
		{"missing kid", craft(`{"alg":"HS256"}`, claimsJSON(nil), sha256.New, key1), ErrUnknownKey},
		{"empty kid", craft(`{"alg":"HS256","kid":""}`, claimsJSON(nil), sha256.New, key1), ErrUnknownKey},
		{"kid not a string", craft(`{"alg":"HS256","kid":1}`, claimsJSON(nil), sha256.New, key1), ErrUnknownKey},
		{"kid names another known key", craft(`{"alg":"HS256","kid":"k2"}`, claimsJSON(nil), sha256.New, key1), ErrInvalidJWS},

		{"tampered payload", h + "." + b64(claimsJSON(set("aud", AudApprovalGrant))) + "." + s, ErrInvalidJWS},
		{"tampered header", b64(`{"alg":"HS256","kid":"k1"}`) + "." + p + "." + s, ErrInvalidJWS},
		{"tampered signature", h + "." + p + "." + flipBit(t, s), ErrInvalidJWS},
		{"signature with non-canonical last character", h + "." + p + "." + s[:len(s)-1] + nonCanonical(s), ErrInvalidJWS},
		{"truncated signature", h + "." + p + "." + s[:len(s)-2], ErrInvalidJWS},
		{"signature under a key not in the set", craft(hdrOK, claimsJSON(nil), sha256.New, bytes.Repeat([]byte{9}, 32)), ErrInvalidJWS},

		{"wrong aud", craft(hdrOK, claimsJSON(set("aud", "someone-else")), sha256.New, key1), ErrWrongAudience},
		{"aud as an array", craft(hdrOK, claimsJSON(set("aud", []string{AudStateEnvelope})), sha256.New, key1), ErrInvalidJWS},
		{"aud missing", craft(hdrOK, claimsJSON(del("aud")), sha256.New, key1), ErrInvalidJWS},
		{"exp missing", craft(hdrOK, claimsJSON(del("exp")), sha256.New, key1), ErrInvalidJWS},
		{"exp not a number", craft(hdrOK, claimsJSON(set("exp", "tomorrow")), sha256.New, key1), ErrInvalidJWS},
		{"expired exactly now", craft(hdrOK, claimsJSON(at("exp", 0)), sha256.New, key1), ErrExpired},
		{"expired a minute ago", craft(hdrOK, claimsJSON(at("exp", -time.Minute), at("iat", -5*time.Minute)), sha256.New, key1), ErrExpired},
		{"far-future exp", craft(hdrOK, claimsJSON(at("exp", 365*24*time.Hour)), sha256.New, key1), ErrLifetimeTooLong},
		{"exp near the NumericDate limit", craft(hdrOK, claimsJSON(set("exp", int64(1)<<62-1024)), sha256.New, key1), ErrLifetimeTooLong},
		{"iat missing", craft(hdrOK, claimsJSON(del("iat")), sha256.New, key1), ErrInvalidJWS},
		{"iat 31s ahead", craft(hdrOK, claimsJSON(at("iat", 31*time.Second)), sha256.New, key1), ErrIssuedInFuture},
		{"iat far ahead", craft(hdrOK, claimsJSON(at("iat", time.Hour), at("exp", 2*time.Hour)), sha256.New, key1), ErrIssuedInFuture},
		{"exp before iat", craft(hdrOK, claimsJSON(at("iat", 20*time.Second), at("exp", 10*time.Second)), sha256.New, key1), ErrInvalidJWS},
		{"nonce missing", craft(hdrOK, claimsJSON(del("nonce")), sha256.New, key1), ErrInvalidJWS},
		{"nonce empty", craft(hdrOK, claimsJSON(set("nonce", "")), sha256.New, key1), ErrInvalidJWS},
		{"payload not JSON", craft(hdrOK, "not json", sha256.New, key1), ErrInvalidJWS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ks.Verify(tt.token, AudStateEnvelope, testNow, testLifetime)
			checkVerify(t, c, err, tt.wantErr)
		})
	}
}

func TestVerifyRefusesEveryCrossKindSwap(t *testing.T) {
	ks := mustKeyset(t, "k1", map[string][]byte{"k1": key1})
	auds := []string{AudStateEnvelope, AudSubjectAssertion, AudApprovalGrant}
	for _, minted := range auds {
		tok := mustSign(t, ks, testClaims(minted))
		for _, want := range auds {
			t.Run(minted+" verified as "+want, func(t *testing.T) {
				c, err := ks.Verify(tok, want, testNow, testLifetime)
				if minted == want {
					checkVerify(t, c, err, nil)
				} else {
					checkVerify(t, c, err, ErrWrongAudience)
				}
			})
		}
	}
	t.Run("empty wanted audience", func(t *testing.T) {
		c, err := ks.Verify(mustSign(t, ks, testClaims(AudStateEnvelope)), "", testNow, testLifetime)
		checkVerify(t, c, err, ErrWrongAudience)
	})
}

func TestVerifyLifetimeBound(t *testing.T) {
	ks := mustKeyset(t, "k1", map[string][]byte{"k1": key1})
	c := testClaims(AudApprovalGrant)
	c.Expiry = jwt.NewNumericDate(testNow.Add(testLifetime))
	tok := mustSign(t, ks, c)
	tests := []struct {
		name        string
		maxLifetime time.Duration
		wantErr     error
	}{
		{"lifetime equal to the bound", testLifetime, nil},
		{"lifetime one second over the bound", testLifetime - time.Second, ErrLifetimeTooLong},
		{"zero bound means unbounded", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ks.Verify(tok, AudApprovalGrant, testNow, tt.maxLifetime)
			checkVerify(t, c, err, tt.wantErr)
		})
	}
}

func TestSignRoundTripsEveryClaim(t *testing.T) {
	ks := mustKeyset(t, "k1", map[string][]byte{"k1": key1})
	want := testClaims(AudSubjectAssertion)
	want.Issuer = "https://gatehouse.example"
	want.Subject = "idp-subject-42"
	want.UserCode = "BCDFGHJK"
	want.Email = "ada@example.com"
	want.SubjectIssuer = "https://idp.example"
	want.CallbackURL = "https://gatehouse.example/sso/callback"
	want.CSRFToken = "csrf-1"
	got, err := ks.Verify(mustSign(t, ks, want), AudSubjectAssertion, testNow, testLifetime)
	if err != nil {
		t.Fatal(err)
	}
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(want)
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Fatalf("round trip:\n got %s\nwant %s", gotJSON, wantJSON)
	}
}

func TestSignWritesAPinnedHeader(t *testing.T) {
	ks := mustKeyset(t, "k1", map[string][]byte{"k1": key1, "k2": key2})
	h, _, _ := splitJWS(t, mustSign(t, ks, testClaims(AudStateEnvelope)))
	raw, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"alg": "HS256", "kid": "k1", "typ": "JWT"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("header %v, want %v", got, want)
	}
}

func TestSignRefusesIncompleteClaims(t *testing.T) {
	ks := mustKeyset(t, "k1", map[string][]byte{"k1": key1})
	tests := []struct {
		name string
		edit func(*Claims)
	}{
		{"no aud", func(c *Claims) { c.Audience = "" }},
		{"no iat", func(c *Claims) { c.IssuedAt = nil }},
		{"no exp", func(c *Claims) { c.Expiry = nil }},
		{"no nonce", func(c *Claims) { c.Nonce = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testClaims(AudStateEnvelope)
			tt.edit(&c)
			if tok, err := ks.Sign(c); !errors.Is(err, ErrInvalidJWS) || tok != "" {
				t.Fatalf("Sign = %q, %v; want ErrInvalidJWS", tok, err)
			}
		})
	}
}

func TestNewKeyset(t *testing.T) {
	tests := []struct {
		name    string
		active  string
		keys    map[string][]byte
		wantErr error
	}{
		{"one 32-byte key", "k1", map[string][]byte{"k1": key1}, nil},
		{"longer keys are fine", "k1", map[string][]byte{"k1": bytes.Repeat([]byte{1}, 64)}, nil},
		{"empty key", "k1", map[string][]byte{"k1": {}}, ErrShortKey},
		{"nil key", "k1", map[string][]byte{"k1": nil}, ErrShortKey},
		{"31-byte key", "k1", map[string][]byte{"k1": key1[:31]}, ErrShortKey},
		{"short old key", "k1", map[string][]byte{"k1": key1, "k0": []byte("short")}, ErrShortKey},
		{"empty kid", "", map[string][]byte{"": key1}, ErrUnknownKey},
		{"active kid missing", "k2", map[string][]byte{"k1": key1}, ErrUnknownKey},
		{"no keys", "k1", nil, ErrUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ks, err := NewKeyset(tt.active, tt.keys)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (ks != nil) {
				t.Fatalf("NewKeyset = %v, %v; want %v", ks, err, tt.wantErr)
			}
		})
	}
}

func TestKeysetCopiesItsKeys(t *testing.T) {
	key := bytes.Clone(key1)
	keys := map[string][]byte{"k1": key}
	ks := mustKeyset(t, "k1", keys)
	tok := mustSign(t, ks, testClaims(AudStateEnvelope))
	key[0] ^= 0xff
	keys["k1"] = key2
	c, err := ks.Verify(tok, AudStateEnvelope, testNow, testLifetime)
	checkVerify(t, c, err, nil)
}

func TestKeyRotation(t *testing.T) {
	before := mustKeyset(t, "k1", map[string][]byte{"k1": key1})
	during := mustKeyset(t, "k2", map[string][]byte{"k1": key1, "k2": key2})
	after := mustKeyset(t, "k2", map[string][]byte{"k2": key2})
	old := mustSign(t, before, testClaims(AudApprovalGrant))
	fresh := mustSign(t, during, testClaims(AudApprovalGrant))
	tests := []struct {
		name    string
		ks      *Keyset
		token   string
		wantErr error
	}{
		{"old token verifies once a new key is active", during, old, nil},
		{"new token is signed by the new key", after, fresh, nil},
		{"new token is unknown to a node not yet rotated", before, fresh, ErrUnknownKey},
		{"old token fails once its key is removed", after, old, ErrUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.ks.Verify(tt.token, AudApprovalGrant, testNow, testLifetime)
			checkVerify(t, c, err, tt.wantErr)
		})
	}
}

func checkVerify(t *testing.T, c Claims, err, wantErr error) {
	t.Helper()
	if wantErr == nil {
		if err != nil || c.Nonce == "" {
			t.Fatalf("Verify = %+v, %v; want success", c, err)
		}
		return
	}
	if !errors.Is(err, wantErr) || !errors.Is(err, ErrInvalidJWS) {
		t.Fatalf("Verify err = %v; want %v wrapped in ErrInvalidJWS", err, wantErr)
	}
	if c != (Claims{}) {
		t.Fatalf("Verify returned claims %+v alongside an error", c)
	}
}

func testClaims(aud string) Claims {
	return Claims{
		Audience: aud,
		IssuedAt: jwt.NewNumericDate(testNow),
		Expiry:   jwt.NewNumericDate(testNow.Add(5 * time.Minute)),
		Nonce:    "nonce-1",
	}
}

// claimsJSON is a valid state-envelope payload after edits.
func claimsJSON(edits ...func(map[string]any)) string {
	m := map[string]any{
		"aud":   AudStateEnvelope,
		"iat":   testNow.Unix(),
		"exp":   testNow.Add(5 * time.Minute).Unix(),
		"nonce": "nonce-1",
	}
	for _, edit := range edits {
		if edit != nil {
			edit(m)
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func set(k string, v any) func(map[string]any) { return func(m map[string]any) { m[k] = v } }
func del(k string) func(map[string]any)        { return func(m map[string]any) { delete(m, k) } }

// at sets a NumericDate claim to testNow+d.
func at(k string, d time.Duration) func(map[string]any) { return set(k, testNow.Add(d).Unix()) }

// craft builds a compact JWS by hand so the test can say things go-jose
// would refuse to say.
func craft(header, payload string, h func() hash.Hash, key []byte) string {
	input := b64(header) + "." + b64(payload)
	mac := hmac.New(h, key)
	mac.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func jsonSerialization(h, p, s string) string {
	return fmt.Sprintf(`{"payload":%q,"protected":%q,"signature":%q}`, p, h, s)
}

func splitJWS(t testing.TB, tok string) (h, p, s string) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("%q is not compact", tok)
	}
	return parts[0], parts[1], parts[2]
}

func flipBit(t *testing.T, seg string) string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	raw[0] ^= 1
	return base64.RawURLEncoding.EncodeToString(raw)
}

// nonCanonical returns a last character that decodes to the same bytes as
// seg's last character but sets the bits unpadded base64 must leave zero
// (a 32-byte MAC leaves 2 such bits).
func nonCanonical(seg string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, seg[len(seg)-1])
	return string(alphabet[i|1])
}

func rs256Token(t *testing.T) string {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1")
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: priv}, opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(testClaims(AudStateEnvelope)).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func mustKeyset(t testing.TB, active string, keys map[string][]byte) *Keyset {
	t.Helper()
	ks, err := NewKeyset(active, keys)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

func mustSign(t testing.TB, ks *Keyset, c Claims) string {
	t.Helper()
	tok, err := ks.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestKeysetIsSafeForConcurrentUse(t *testing.T) {
	ks := mustKeyset(t, "k2", map[string][]byte{"k1": key1, "k2": key2})
	done := make(chan error)
	for i := 0; i < 8; i++ {
		go func() {
			tok, err := ks.Sign(testClaims(AudApprovalGrant))
			if err == nil {
				_, err = ks.Verify(tok, AudApprovalGrant, testNow, testLifetime)
			}
			done <- err
		}()
	}
	for i := 0; i < 8; i++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
