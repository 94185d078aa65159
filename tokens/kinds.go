package tokens

import (
	"errors"
	"strings"
)

// Kind is one family of bearer token. Its scopes come from this registry and
// never from storage, so a tampered row cannot widen what a token may do.
type Kind struct {
	Name        string   // stable name stored with the token row
	Prefix      string   // what every token of this kind starts with
	SubjectType string   // "account" or "external"
	Scopes      []string // granted scopes, fixed per kind
}

var (
	// Account tokens belong to local accounts.
	Account = Kind{Name: "account", Prefix: "dfoa_", SubjectType: "account", Scopes: []string{"full"}}
	// External tokens belong to subjects signed in through SSO.
	External = Kind{Name: "external", Prefix: "dfoe_", SubjectType: "external", Scopes: []string{"apps:run"}}
)

var registry = []Kind{Account, External}

// tokenBodyLen is the length of 32 random bytes in unpadded base64url.
const tokenBodyLen = 43

// ErrMalformedToken is returned for a bearer value no kind could have made.
var ErrMalformedToken = errors.New("malformed token")

// KindByName returns the registered kind with that name.
func KindByName(name string) (Kind, bool) {
	for _, k := range registry {
		if k.Name == name {
			return k, true
		}
	}
	return Kind{}, false
}

// KindOf returns the kind of a presented token after checking its shape.
// The check is cheap and constant in the token's secret part.
func KindOf(token string) (Kind, error) {
	for _, k := range registry {
		if strings.HasPrefix(token, k.Prefix) {
			if len(token) != len(k.Prefix)+tokenBodyLen || !isBase64URL(token[len(k.Prefix):]) {
				return Kind{}, ErrMalformedToken
			}
			return k, nil
		}
	}
	return Kind{}, ErrMalformedToken
}

// New mints a fresh token of this kind: the plaintext to hand out once, and
// the hash to store.
func (k Kind) New() (string, Hash, error) {
	body, err := RandomString(32)
	if err != nil {
		return "", Hash{}, err
	}
	tok := k.Prefix + body
	return tok, HashOf(tok), nil
}

// HasScope reports whether the kind grants scope.
func (k Kind) HasScope(scope string) bool {
	for _, s := range k.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// ScopeString is the space-separated scope list of RFC 6749 §3.3.
func (k Kind) ScopeString() string { return strings.Join(k.Scopes, " ") }

// DisplayPrefix is what may be shown of a token: its kind prefix and the
// first 4 characters of its random part.
func DisplayPrefix(token string) string {
	k, err := KindOf(token)
	if err != nil {
		return ""
	}
	return token[:len(k.Prefix)+4]
}

func isBase64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// ErrNoBearer means the Authorization header carried no bearer credential.
var ErrNoBearer = errors.New("no bearer token")

// ParseBearer extracts the credential from an Authorization header value per
// RFC 6750 §2.1: scheme "Bearer" (any case), one or more spaces, a b64token.
func ParseBearer(header string) (string, error) {
	if header == "" {
		return "", ErrNoBearer
	}
	const scheme = "bearer"
	if len(header) < len(scheme)+2 || !strings.EqualFold(header[:len(scheme)], scheme) || header[len(scheme)] != ' ' {
		return "", ErrNoBearer
	}
	cred := strings.TrimLeft(header[len(scheme):], " ")
	if cred == "" || len(cred) > 512 || !isB64Token(cred) {
		return "", ErrMalformedToken
	}
	return cred, nil
}

// isB64Token checks RFC 6750's b64token grammar: 1*( ALPHA / DIGIT /
// "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-._~+/", c) >= 0) {
			break
		}
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}
