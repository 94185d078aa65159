package store

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestGroupCommitIsolatesFailures: in one group, a refusal answers only its
// caller, a real failure rolls back only its own writes, a panic becomes an
// error, and every other write commits.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	s := mustOpen(t)
	boom := errors.New("boom")
	const n = 60
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = s.update(func(tx *bolt.Tx) error {
				b := tx.Bucket(bucketNonces)
				switch i % 4 {
				case 1:
					return refuse(ErrExists)
				case 2:
					if err := b.Put([]byte(fmt.Sprintf("half-%d", i)), u64(1)); err != nil {
						return err
					}
					return boom
				case 3:
					if i == 3 {
						panic("write exploded")
					}
				}
				return b.Put([]byte(fmt.Sprintf("ok-%d", i)), u64(1))
			})
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		switch {
		case i%4 == 1 && !errors.Is(err, ErrExists):
			t.Errorf("call %d: %v, want the refusal", i, err)
		case i%4 == 2 && !errors.Is(err, boom):
			t.Errorf("call %d: %v, want its own failure", i, err)
		case i == 3 && err == nil:
			t.Errorf("a panicking write must fail")
		case (i%4 == 0 || i%4 == 3 && i != 3) && err != nil:
			t.Errorf("call %d: %v, want success", i, err)
		}
	}
	s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketNonces).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if string(k[:4]) == "half" {
				t.Errorf("a failed write left %s behind", k)
			}
		}
		return nil
	})
	for i := 0; i < n; i++ {
		ok := s.db.View(func(tx *bolt.Tx) error {
			if tx.Bucket(bucketNonces).Get([]byte(fmt.Sprintf("ok-%d", i))) == nil {
				return ErrNotFound
			}
			return nil
		}) == nil
		if want := i%4 == 0 || i%4 == 3 && i != 3; ok != want {
			t.Errorf("ok-%d committed=%v, want %v", i, ok, want)
		}
	}
}

func TestWriteAfterCloseFails(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := s.ClaimNonce("n", t0); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
}
