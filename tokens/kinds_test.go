package tokens

import (
	"errors"
	"strings"
	"testing"
)

func TestKindNewMintsATokenItsKindRecognises(t *testing.T) {
	for _, k := range []Kind{Account, External} {
		t.Run(k.Name, func(t *testing.T) {
			tok, hash, err := k.New()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(tok, k.Prefix) || len(tok) != len(k.Prefix)+tokenBodyLen {
				t.Fatalf("token %q has the wrong shape", tok)
			}
			if hash != HashOf(tok) {
				t.Fatal("returned hash is not HashOf(token)")
			}
			got, err := KindOf(tok)
			if err != nil || got.Name != k.Name {
				t.Fatalf("KindOf = %v, %v; want %s", got.Name, err, k.Name)
			}
			if other, _, _ := k.New(); other == tok {
				t.Fatal("two tokens alike")
			}
		})
	}
}

func TestKindOf(t *testing.T) {
	body := strings.Repeat("A", tokenBodyLen)
	tests := []struct {
		name, token, want string // want "" means ErrMalformedToken
	}{
		{"account token", "dfoa_" + body, "account"},
		{"external token", "dfoe_" + body, "external"},
		{"base64url dash and underscore allowed", "dfoa_" + strings.Repeat("-_", 21) + "x", "account"},
		{"empty", "", ""},
		{"prefix only", "dfoa_", ""},
		{"unknown prefix", "dfox_" + body, ""},
		{"prefix in upper case", "DFOA_" + body, ""},
		{"body one short", "dfoa_" + body[1:], ""},
		{"body one long", "dfoa_" + body + "A", ""},
		{"standard base64 plus", "dfoa_" + body[1:] + "+", ""},
		{"standard base64 slash", "dfoa_" + body[1:] + "/", ""},
		{"padding", "dfoa_" + body[1:] + "=", ""},
		{"space inside", "dfoa_" + body[1:] + " ", ""},
		{"non-ASCII body", "dfoa_" + body[2:] + "é", ""},
		{"leading space", " dfoa_" + body[1:], ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := KindOf(tt.token)
			if tt.want == "" {
				if !errors.Is(err, ErrMalformedToken) || k.Name != "" {
					t.Fatalf("KindOf(%q) = %q, %v; want ErrMalformedToken", tt.token, k.Name, err)
				}
				return
			}
			if err != nil || k.Name != tt.want {
				t.Fatalf("KindOf(%q) = %q, %v; want %q", tt.token, k.Name, err, tt.want)
			}
		})
	}
}

func TestDisplayPrefixShowsKindPrefixAndFourCharacters(t *testing.T) {
	tok, _, err := External.New()
	if err != nil {
		t.Fatal(err)
	}
	if got := DisplayPrefix(tok); got != tok[:len("dfoe_")+4] {
		t.Fatalf("DisplayPrefix = %q", got)
	}
	for _, bad := range []string{"", "dfoe_", "dfoe_abcd", "garbage-token-value"} {
		if got := DisplayPrefix(bad); got != "" {
			t.Fatalf("DisplayPrefix(%q) = %q, want empty", bad, got)
		}
	}
}

func TestKindByName(t *testing.T) {
	tests := []struct {
		name   string
		want   Kind
		wantOK bool
	}{
		{"account", Account, true},
		{"external", External, true},
		{"", Kind{}, false},
		{"Account", Kind{}, false},
		{"dfoa_", Kind{}, false},
	}
	for _, tt := range tests {
		k, ok := KindByName(tt.name)
		if ok != tt.wantOK || k.Name != tt.want.Name || k.Prefix != tt.want.Prefix {
			t.Errorf("KindByName(%q) = %+v, %v", tt.name, k, ok)
		}
	}
}

func TestScopesComeFromTheRegistry(t *testing.T) {
	if !Account.HasScope("full") || Account.HasScope("apps:run") || Account.ScopeString() != "full" {
		t.Errorf("account scopes: %v", Account.Scopes)
	}
	if !External.HasScope("apps:run") || External.HasScope("full") || External.ScopeString() != "apps:run" {
		t.Errorf("external scopes: %v", External.Scopes)
	}
	if Account.HasScope("") {
		t.Error("empty scope granted")
	}
}

func TestParseBearer(t *testing.T) {
	tests := []struct {
		name, header, want string
		wantErr            error
	}{
		{"canonical", "Bearer abc", "abc", nil},
		{"scheme lower case", "bearer abc", "abc", nil},
		{"scheme upper case", "BEARER abc", "abc", nil},
		{"scheme mixed case", "bEaReR abc", "abc", nil},
		{"several spaces", "Bearer    abc", "abc", nil},
		{"every b64token character", "Bearer aZ09-._~+/", "aZ09-._~+/", nil},
		{"trailing padding", "Bearer abc==", "abc==", nil},
		{"real token", "Bearer dfoa_" + strings.Repeat("A", 43), "dfoa_" + strings.Repeat("A", 43), nil},
		{"512 characters", "Bearer " + strings.Repeat("a", 512), strings.Repeat("a", 512), nil},
		{"empty header", "", "", ErrNoBearer},
		{"scheme only", "Bearer", "", ErrNoBearer},
		{"scheme and space only", "Bearer ", "", ErrNoBearer},
		{"basic auth", "Basic dXNlcjpwYXNz", "", ErrNoBearer},
		{"no space after scheme", "Bearerabc", "", ErrNoBearer},
		{"tab after scheme", "Bearer\tabc", "", ErrNoBearer},
		{"leading space", " Bearer abc", "", ErrNoBearer},
		{"scheme prefix of a longer word", "Bearers abc", "", ErrNoBearer},
		{"spaces but no credential", "Bearer   ", "", ErrMalformedToken},
		{"padding only", "Bearer ==", "", ErrMalformedToken},
		{"padding in the middle", "Bearer ab=c", "", ErrMalformedToken},
		{"two credentials", "Bearer abc def", "", ErrMalformedToken},
		{"trailing space", "Bearer abc ", "", ErrMalformedToken},
		{"comma", "Bearer abc,def", "", ErrMalformedToken},
		{"quotes", `Bearer "abc"`, "", ErrMalformedToken},
		{"non-ASCII", "Bearer abcé", "", ErrMalformedToken},
		{"NUL", "Bearer abc\x00", "", ErrMalformedToken},
		{"CRLF injection", "Bearer abc\r\nX: y", "", ErrMalformedToken},
		{"513 characters", "Bearer " + strings.Repeat("a", 513), "", ErrMalformedToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseBearer(tt.header)
			if !errors.Is(err, tt.wantErr) || got != tt.want {
				t.Fatalf("ParseBearer(%q) = %q, %v; want %q, %v", tt.header, got, err, tt.want, tt.wantErr)
			}
		})
	}
}
