package tokens

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func FuzzNormalizeUserCode(f *testing.F) {
	for _, s := range []string{
		"BCDF-GHJK", "bcdf ghjk", "BCDFGHJK", "", "AEIOU", "BCDF-GHJ0", "BCDF–GHJK",
		"(bcdf)[ghjk]", "BCDFGHJKL", strings.Repeat("-", 64) + "B", "BCDF\xffGHJK", "ＢＣＤＦＧＨＪＫ",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := NormalizeUserCode(in)
		if err != nil {
			if !errors.Is(err, ErrInvalidUserCode) || out != "" {
				t.Fatalf("NormalizeUserCode(%q) = %q, %v", in, out, err)
			}
			return
		}
		if len(out) != UserCodeLength || strings.Trim(out, UserCodeAlphabet) != "" {
			t.Fatalf("NormalizeUserCode(%q) = %q: not 8 alphabet letters", in, out)
		}
		if again, err := NormalizeUserCode(out); err != nil || again != out {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", in, out, again, err)
		}
		if letters := strings.Map(keepLetters, strings.ToUpper(in)); letters != out {
			t.Fatalf("NormalizeUserCode(%q) = %q, but its letters are %q", in, out, letters)
		}
	})
}

func keepLetters(r rune) rune {
	if r >= 'A' && r <= 'Z' {
		return r
	}
	return -1
}

func FuzzParseBearer(f *testing.F) {
	for _, s := range []string{
		"Bearer abc", "bearer dfoa_" + strings.Repeat("A", 43), "Basic dXNlcjpwYXNz", "Bearer", "Bearer ",
		"Bearer  abc==", "Bearer a=b", "BEARER\tabc", "Bearer abc def", "Bearer é", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		cred, err := ParseBearer(header)
		if err != nil {
			if !errors.Is(err, ErrNoBearer) && !errors.Is(err, ErrMalformedToken) || cred != "" {
				t.Fatalf("ParseBearer(%q) = %q, %v", header, cred, err)
			}
			return
		}
		if !strings.EqualFold(header[:7], "bearer ") || !strings.HasSuffix(header, cred) {
			t.Fatalf("ParseBearer(%q) = %q: not the header's credential", header, cred)
		}
		if cred == "" || len(cred) > 512 || !isB64Token(cred) || strings.TrimLeft(header[7:], " ") != cred {
			t.Fatalf("ParseBearer(%q) = %q: not a b64token", header, cred)
		}
	})
}

func FuzzKindOf(f *testing.F) {
	body := strings.Repeat("A", tokenBodyLen)
	for _, s := range []string{"dfoa_" + body, "dfoe_" + body, "dfox_" + body, "dfoa_", "", "dfoa_" + body + "=", "dfoe_" + body[1:] + "+"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		k, err := KindOf(token)
		if err != nil {
			if !errors.Is(err, ErrMalformedToken) || k.Name != "" || DisplayPrefix(token) != "" {
				t.Fatalf("KindOf(%q) = %+v, %v", token, k, err)
			}
			return
		}
		if !strings.HasPrefix(token, k.Prefix) || len(token) != len(k.Prefix)+tokenBodyLen || !isBase64URL(token[len(k.Prefix):]) {
			t.Fatalf("KindOf(%q) accepted a token of the wrong shape as %s", token, k.Name)
		}
		if byName, ok := KindByName(k.Name); !ok || byName.Prefix != k.Prefix {
			t.Fatalf("kind %q not found by name", k.Name)
		}
		if p := DisplayPrefix(token); p != token[:len(k.Prefix)+4] {
			t.Fatalf("DisplayPrefix(%q) = %q", token, p)
		}
	})
}

// fuzzPassword is what every FuzzVerifyPassword seed that verifies was made
// from; it is fixed so the committed corpus keeps meaning the same thing.
const fuzzPassword = "fuzz"

func FuzzVerifyPassword(f *testing.F) {
	enc, err := HashPassword(fuzzPassword, cheapArgon2)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		enc, enc + "$", strings.Replace(enc, "t=1", "t=0", 1), strings.Replace(enc, "p=1", "p=0", 1),
		strings.Replace(enc, "v=19", "v=16", 1), "$argon2id$v=19$m=8,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA",
		"", "$$$$$", "$argon2id$v=19$m=1,t=1,p=1$$",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, encoded string) {
		// A valid hash may legitimately ask for up to 2 GiB; running those
		// would test argon2, not our parser, and stall the fuzzer.
		if h, err := parsePHC(encoded); err == nil && uint64(h.params.Memory)*uint64(h.params.Time) > 64*1024 {
			t.Skip("too costly to run")
		}
		ok, err := VerifyPassword(encoded, fuzzPassword)
		if err != nil && (ok || !errors.Is(err, ErrBadPasswordHash)) {
			t.Fatalf("VerifyPassword(%q) = %v, %v", encoded, ok, err)
		}
		if _, perr := parsePHC(encoded); (perr == nil) != (err == nil) {
			t.Fatalf("VerifyPassword and parsePHC disagree on %q: %v vs %v", encoded, err, perr)
		}
	})
}

func FuzzVerifyJWS(f *testing.F) {
	ks := mustKeyset(f, "k1", map[string][]byte{"k1": key1, "k2": key2})
	good := craft(hdrOK, claimsJSON(nil), sha256.New, key1)
	parts := strings.Split(good, ".")
	for _, s := range []string{
		good,
		mustSign(f, ks, testClaims(AudStateEnvelope)),
		mustSign(f, ks, testClaims(AudApprovalGrant)),
		craft(`{"alg":"none","kid":"k1"}`, claimsJSON(nil), sha256.New, key1),
		craft(`{"alg":"HS512","kid":"k1"}`, claimsJSON(nil), sha512.New, key1),
		craft(`{"alg":"HS256","kid":"k1","crit":["b64"],"b64":false}`, claimsJSON(nil), sha256.New, key1),
		craft(`{"alg":"HS256","kid":"k2"}`, claimsJSON(nil), sha256.New, key1),
		craft(hdrOK, claimsJSON(at("exp", -time.Minute)), sha256.New, key1),
		jsonSerialization(parts[0], parts[1], parts[2]),
		parts[0] + "." + parts[1] + ".",
		good[:len(good)-1],
		"", ".", "..", "{",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		c, err := ks.Verify(token, AudStateEnvelope, testNow, testLifetime)
		if err != nil {
			if !errors.Is(err, ErrInvalidJWS) || c != (Claims{}) {
				t.Fatalf("Verify(%q) = %+v, %v", token, c, err)
			}
			return
		}
		if why := notCorrectlySigned(token, ks); why != "" {
			t.Fatalf("Verify accepted %q: %s", token, why)
		}
		if c.Audience != AudStateEnvelope || c.Nonce == "" || !testNow.Before(c.Expiry.Time()) {
			t.Fatalf("Verify accepted claims it should not: %+v", c)
		}
	})
}

// notCorrectlySigned is an oracle for FuzzVerifyJWS that shares no code
// with Verify: it redoes the HMAC with the standard library.
func notCorrectlySigned(token string, ks *Keyset) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "not three segments"
	}
	var h struct{ Alg, Kid string }
	raw, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil || json.Unmarshal(raw, &h) != nil || h.Alg != "HS256" {
		return "header is not HS256"
	}
	key, ok := ks.keys[h.Kid]
	if !ok {
		return "unknown kid"
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if base64.RawURLEncoding.EncodeToString(mac.Sum(nil)) != parts[2] {
		return "MAC does not match"
	}
	return ""
}
