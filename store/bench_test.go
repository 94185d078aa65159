package store

import (
	"fmt"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"gatehouse/tokens"
)

// userCodeN is the i-th user code: unique for every i < 20^8.
func userCodeN(i int) string {
	out := make([]byte, tokens.UserCodeLength)
	for j := len(out) - 1; j >= 0; j-- {
		out[j] = tokens.UserCodeAlphabet[i%len(tokens.UserCodeAlphabet)]
		i /= len(tokens.UserCodeAlphabet)
	}
	return string(out)
}

// seedCodes writes n codes straight into the code buckets in one
// transaction, resolved as status with subj (pending when status is "").
// Code i's device label is label(i).
func seedCodes(tb testing.TB, s *Store, n int, status string, subj *Subject, label func(int) string) []DeviceCode {
	tb.Helper()
	out := make([]DeviceCode, n)
	err := s.db.Update(func(tx *bolt.Tx) error {
		codes, users := tx.Bucket(bucketDeviceCodes), tx.Bucket(bucketUserCodes)
		for i := range out {
			dc := pendingCode(userCodeN(i), "cli", label(i), t0)
			dc.Status, dc.Subject = StatusPending, nil
			if status != "" {
				dc.Status, dc.Subject, dc.ResolvedAt = status, subj, t0
			}
			if err := putJSON(codes, dc.Hash[:], dc); err != nil {
				return err
			}
			if err := users.Put([]byte(dc.UserCode), dc.Hash[:]); err != nil {
				return err
			}
			out[i] = dc
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func BenchmarkCreateDeviceCode(b *testing.B) {
	s := mustOpen(b)
	codes := make([]DeviceCode, b.N)
	for i := range codes {
		codes[i] = pendingCode(userCodeN(i), "cli", "laptop", t0)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range codes {
		if err := s.CreateDeviceCode(codes[i]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkResolveDeviceCode(b *testing.B) {
	s := mustOpen(b)
	codes := seedCodes(b, s, b.N, "", nil, func(int) string { return "laptop" })
	b.ReportAllocs()
	b.ResetTimer()
	for _, dc := range codes {
		_, err := s.ResolveDeviceCode(Resolution{UserCode: dc.UserCode, Approve: true, Subject: bob, Now: t0.Add(time.Minute)})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkConsumeDeviceCode is the winning poll: consume and mint. "new"
// mints a token per code (distinct devices); "rotate" rotates one device's
// token in place each time.
func BenchmarkConsumeDeviceCode(b *testing.B) {
	labels := map[string]func(int) string{
		"new":    func(i int) string { return fmt.Sprintf("device-%d", i) },
		"rotate": func(int) string { return "laptop" },
	}
	for _, name := range []string{"new", "rotate"} {
		b.Run(name, func(b *testing.B) {
			s := mustOpen(b)
			subj := bob
			codes := seedCodes(b, s, b.N, StatusApproved, &subj, labels[name])
			b.ReportAllocs()
			b.ResetTimer()
			for i, dc := range codes {
				if _, err := s.ConsumeDeviceCode(mintFor(dc, tokens.External, fmt.Sprintf("tok-%07d", i), t0.Add(time.Minute))); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTokenByHash looks tokens up in a store of 100k; the fixture is
// built once, in batches, and shared by the sub-benchmarks.
func BenchmarkTokenByHash(b *testing.B) {
	const n = 100_000
	s := mustOpen(b)
	rows := make([]Token, n)
	hashes := make([]tokens.Hash, n)
	for i := range rows {
		rows[i] = seedRow(i, t0)
		hashes[i] = rows[i].Hash
	}
	seedTokens(b, s, rows)

	b.Run("hit", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := s.TokenByHash(hashes[i%n]); err != nil {
				b.Fatal(err)
			}
			i += 7919 // stride through the keyspace
		}
	})
	b.Run("miss", func(b *testing.B) {
		miss := tokens.HashOf("never minted")
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.TokenByHash(miss); err != ErrNotFound {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkPrune deletes N dead token rows from among N live ones per
// iteration; the dead rows are re-seeded outside the timer.
func BenchmarkPrune(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			s := mustOpen(b)
			live := make([]Token, n)
			for i := range live {
				live[i] = seedRow(2*i+1, t0)
				live[i].ExpiresAt = pruneNow.Add(day)
			}
			seedTokens(b, s, live)
			dead := make([]Token, n)
			for i := range dead {
				dead[i] = deadFates[i%len(deadFates)](seedRow(2*i, t0))
			}
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				seedTokens(b, s, dead)
				b.StartTimer()
				c, err := s.Prune(prunePolicy(false))
				if err != nil || c.Tokens != n {
					b.Fatalf("Prune = %+v, %v; want %d tokens", c, err, n)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
