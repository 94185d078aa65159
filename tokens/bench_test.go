package tokens

import (
	"bytes"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
)

// Benchmarks of the primitives on the hot paths: a bearer check runs
// ParseBearer, KindOf and HashOf; a flow start NewUserCode and
// NewDeviceCode; a mint Kind.New; the SSO branch Keyset Sign and Verify.
// `go test -bench . ./tokens/`; they assert nothing about speed.

var (
	benchSink    any
	benchToken   = Account.Prefix + "q2Zp9mX4YtR7wK1vB8nL3cJ6hF0dS5aE2gU4iO7pQ9s"
	benchHeader  = "Bearer " + benchToken
	benchJWSKey  = bytes.Repeat([]byte{7}, MinJWSKeyLen)
	benchJWSTime = time.Unix(1_700_000_000, 0)
)

func BenchmarkNewUserCode(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		c, err := NewUserCode()
		if err != nil {
			b.Fatal(err)
		}
		benchSink = c
	}
}

func BenchmarkNewDeviceCode(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		c, err := NewDeviceCode()
		if err != nil {
			b.Fatal(err)
		}
		benchSink = c
	}
}

func BenchmarkNormalizeUserCode(b *testing.B) {
	for _, in := range []struct{ name, code string }{
		{"canonical", "BCDFGHJK"},
		{"typed", "bcdf-ghjk"},
		{"pasted", "  Bcdf ghjk\n"},
	} {
		b.Run(in.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c, err := NormalizeUserCode(in.code)
				if err != nil {
					b.Fatal(err)
				}
				benchSink = c
			}
		})
	}
}

func BenchmarkKindNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		tok, h, err := Account.New()
		if err != nil {
			b.Fatal(err)
		}
		benchSink, benchSink = tok, h
	}
}

func BenchmarkHashOf(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchToken)))
	for b.Loop() {
		benchSink = HashOf(benchToken)
	}
}

func BenchmarkKindOf(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		k, err := KindOf(benchToken)
		if err != nil {
			b.Fatal(err)
		}
		benchSink = k.Name
	}
}

func BenchmarkParseBearer(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		tok, err := ParseBearer(benchHeader)
		if err != nil {
			b.Fatal(err)
		}
		benchSink = tok
	}
}

// BenchmarkBearerPrimitives is the pure part of one bearer check: parse the
// header, check the kind, hash the token.
func BenchmarkBearerPrimitives(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		tok, err := ParseBearer(benchHeader)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := KindOf(tok); err != nil {
			b.Fatal(err)
		}
		benchSink = HashOf(tok)
	}
}

func benchKeyset(b *testing.B) *Keyset {
	b.Helper()
	ks, err := NewKeyset("k1", map[string][]byte{"k1": benchJWSKey})
	if err != nil {
		b.Fatal(err)
	}
	return ks
}

func benchClaims() Claims {
	return Claims{Issuer: "https://gatehouse.example", Subject: "ada", Audience: AudApprovalGrant,
		IssuedAt: jwt.NewNumericDate(benchJWSTime), Expiry: jwt.NewNumericDate(benchJWSTime.Add(5 * time.Minute)),
		Nonce: "n0nce-n0nce-n0nce", UserCode: "BCDFGHJK", Email: "ada@example.com", SubjectIssuer: "https://idp.example"}
}

func BenchmarkKeysetSign(b *testing.B) {
	ks := benchKeyset(b)
	c := benchClaims()
	b.ReportAllocs()
	for b.Loop() {
		s, err := ks.Sign(c)
		if err != nil {
			b.Fatal(err)
		}
		benchSink = s
	}
}

func BenchmarkKeysetVerify(b *testing.B) {
	ks := benchKeyset(b)
	signed, err := ks.Sign(benchClaims())
	if err != nil {
		b.Fatal(err)
	}
	now := benchJWSTime.Add(time.Minute)
	b.ReportAllocs()
	for b.Loop() {
		c, err := ks.Verify(signed, AudApprovalGrant, now, 10*time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		benchSink = c
	}
}
