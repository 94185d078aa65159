package tokens

import (
	"errors"
	"strings"
	"testing"
)

// cheapArgon2 keeps tests fast; only TestDefaultArgon2RoundTrip pays for the
// real cost.
var cheapArgon2 = Argon2Params{Memory: 1024, Time: 1, Threads: 1}

func TestVerifyPasswordRightAndWrong(t *testing.T) {
	enc := mustHashPassword(t, "correct horse", cheapArgon2)
	tests := []struct {
		name, password string
		want           bool
	}{
		{"right password", "correct horse", true},
		{"wrong password", "battery staple", false},
		{"empty password", "", false},
		{"case differs", "Correct horse", false},
		{"trailing space", "correct horse ", false},
		{"prefix", "correct", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := VerifyPassword(enc, tt.password)
			if err != nil || ok != tt.want {
				t.Fatalf("VerifyPassword(%q) = %v, %v; want %v", tt.password, ok, err, tt.want)
			}
		})
	}
}

func TestHashPasswordIsSaltedAndSelfDescribing(t *testing.T) {
	a := mustHashPassword(t, "pw", cheapArgon2)
	b := mustHashPassword(t, "pw", cheapArgon2)
	if a == b {
		t.Fatal("same password hashed twice gave the same string: no salt")
	}
	if !strings.HasPrefix(a, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Fatalf("hash %q does not record its parameters", a)
	}
}

func TestDefaultArgon2RoundTrip(t *testing.T) {
	enc := mustHashPassword(t, "pw", DefaultArgon2)
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Fatalf("hash %q", enc)
	}
	if ok, err := VerifyPassword(enc, "pw"); !ok || err != nil {
		t.Fatalf("VerifyPassword = %v, %v", ok, err)
	}
}

func TestHashPasswordRefusesParamsArgon2WouldPanicOn(t *testing.T) {
	for _, p := range []Argon2Params{
		{Memory: 1024, Time: 0, Threads: 1},
		{Memory: 1024, Time: 1, Threads: 0},
		{Memory: maxArgon2Memory + 1, Time: 1, Threads: 1},
		{Memory: 1024, Time: maxArgon2Time + 1, Threads: 1},
	} {
		if _, err := HashPassword("pw", p); !errors.Is(err, ErrBadArgon2Params) {
			t.Errorf("HashPassword(%+v) err = %v, want ErrBadArgon2Params", p, err)
		}
	}
}

func TestVerifyPasswordRefusesMalformedHashes(t *testing.T) {
	good := mustHashPassword(t, "pw", cheapArgon2)
	parts := strings.Split(good, "$") // "", argon2id, v=19, m=..., salt, key
	with := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, "$")
	}
	tests := []struct{ name, encoded string }{
		{"empty", ""},
		{"garbage", "not a hash"},
		{"dollars only", "$$$$$"},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"argon2i", with(1, "argon2i")},
		{"argon2d", with(1, "argon2d")},
		{"text before the first dollar", "x" + good},
		{"extra field", good + "$x"},
		{"missing key", strings.Join(parts[:5], "$")},
		{"version 16", with(2, "v=16")},
		{"version with junk", with(2, "v=19x")},
		{"version missing", with(2, "19")},
		{"params reordered", with(3, "t=1,m=1024,p=1")},
		{"params with spaces", with(3, "m=1024, t=1, p=1")},
		{"params with leading zeros", with(3, "m=01024,t=1,p=1")},
		{"params with plus sign", with(3, "m=+1024,t=1,p=1")},
		{"params with trailing junk", with(3, "m=1024,t=1,p=1x")},
		{"negative memory", with(3, "m=-1,t=1,p=1")},
		{"zero time would panic argon2", with(3, "m=1024,t=0,p=1")},
		{"zero threads would panic argon2", with(3, "m=1024,t=1,p=0")},
		{"threads overflow uint8", with(3, "m=1024,t=1,p=256")},
		{"memory overflow uint32", with(3, "m=4294967296,t=1,p=1")},
		{"memory over the cap", with(3, "m=4194304,t=1,p=1")},
		{"time over the cap", with(3, "m=1024,t=100,p=1")},
		{"salt not base64", with(4, "!!!!!!!!!!!!")},
		{"salt padded", with(4, parts[4]+"==")},
		{"salt with a line break", with(4, parts[4][:4]+"\n"+parts[4][4:])},
		{"salt too short", with(4, "AAAA")},
		{"salt empty", with(4, "")},
		{"key empty", with(5, "")},
		{"key one byte", with(5, "AA")},
		{"key too short", with(5, "AAAAAAAAAAAAAAAAAAAA")},
		{"key too long", with(5, strings.Repeat("A", 128))},
		{"key non-canonical last character", with(5, parts[5][:len(parts[5])-1]+"B")},
		{"key url alphabet", with(5, strings.Repeat("_", 43))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := VerifyPassword(tt.encoded, "pw")
			if ok || !errors.Is(err, ErrBadPasswordHash) {
				t.Fatalf("VerifyPassword(%q) = %v, %v; want ErrBadPasswordHash", tt.encoded, ok, err)
			}
		})
	}
}

func TestVerifyPasswordTamperedKeyIsAMismatch(t *testing.T) {
	enc := mustHashPassword(t, "pw", cheapArgon2)
	i := strings.LastIndexByte(enc, '$') + 1 // first key character: 6 whole bits
	swap := "A"
	if enc[i] == 'A' {
		swap = "B"
	}
	if ok, err := VerifyPassword(enc[:i]+swap+enc[i+1:], "pw"); ok || err != nil {
		t.Fatalf("tampered key: VerifyPassword = %v, %v; want false, nil", ok, err)
	}
}

func mustHashPassword(t *testing.T, pw string, p Argon2Params) string {
	t.Helper()
	enc, err := HashPassword(pw, p)
	if err != nil {
		t.Fatal(err)
	}
	return enc
}
