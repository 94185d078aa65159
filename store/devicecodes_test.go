package store

import (
	"testing"
	"time"

	"gatehouse/tokens"
)

func TestCreateDeviceCode(t *testing.T) {
	s := mustOpen(t)
	dc := pendingCode("BCDFGHJK", "cli", "laptop", t0)
	dc.Status = StatusApproved // the store ignores what the caller says
	if err := s.CreateDeviceCode(dc); err != nil {
		t.Fatalf("CreateDeviceCode: %v", err)
	}

	byHash, err := s.DeviceCodeByHash(dc.Hash)
	if err != nil {
		t.Fatalf("DeviceCodeByHash: %v", err)
	}
	byUser, err := s.DeviceCodeByUserCode("BCDFGHJK")
	if err != nil {
		t.Fatalf("DeviceCodeByUserCode: %v", err)
	}
	for _, got := range []DeviceCode{byHash, byUser} {
		if got.Hash != dc.Hash || got.UserCode != "BCDFGHJK" || got.ClientID != "cli" || got.DeviceLabel != "laptop" {
			t.Errorf("got %+v", got)
		}
		if got.Status != StatusPending || got.Subject != nil {
			t.Errorf("new code status %q subject %v, want pending without subject", got.Status, got.Subject)
		}
		if !got.ExpiresAt.Equal(t0.Add(codeTTL)) || !got.CreatedAt.Equal(t0) {
			t.Errorf("times: created %v expires %v", got.CreatedAt, got.ExpiresAt)
		}
	}
	if idx := rawGet(t, s, bucketUserCodes, []byte("BCDFGHJK")); string(idx) != string(dc.Hash[:]) {
		t.Errorf("user_code index = %x, want %x", idx, dc.Hash)
	}
}

func TestCreateDeviceCodeUserCodeCollision(t *testing.T) {
	tests := []struct {
		name    string
		at      time.Duration // second code's creation, after the first's
		wantErr error
	}{
		{"live code holds its user code", codeTTL - time.Second, ErrExists},
		{"code expiring this instant frees it", codeTTL, nil},
		{"stale expired code frees it", codeTTL + time.Hour, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustOpen(t)
			first := mustCreateCode(t, s, "BCDFGHJK", "cli", "laptop", t0)
			second := pendingCode("BCDFGHJK", "cli", "desktop", t0.Add(tc.at))
			err := s.CreateDeviceCode(second)
			wantErr(t, "second CreateDeviceCode", err, tc.wantErr)

			got, err := s.DeviceCodeByUserCode("BCDFGHJK")
			if err != nil {
				t.Fatalf("DeviceCodeByUserCode: %v", err)
			}
			if tc.wantErr != nil {
				if got.Hash != first.Hash {
					t.Errorf("user code now points at %x, want the first code", got.Hash[:4])
				}
				if _, err := s.DeviceCodeByHash(second.Hash); err != ErrNotFound {
					t.Errorf("refused code stored anyway: err = %v", err)
				}
				return
			}
			if got.Hash != second.Hash || got.DeviceLabel != "desktop" {
				t.Errorf("user code points at %+v, want the second code", got)
			}
			_, err = s.DeviceCodeByHash(first.Hash)
			wantErr(t, "stale code after reuse of its user code", err, ErrNotFound)
			if n := keyCount(t, s, bucketDeviceCodes); n != 1 {
				t.Errorf("%d code rows, want 1", n)
			}
		})
	}
}

func TestCreateDeviceCodeDuplicateHash(t *testing.T) {
	s := mustOpen(t)
	dc := mustCreateCode(t, s, "BCDFGHJK", "cli", "laptop", t0)
	again := dc
	again.UserCode = "MNPQRSTV"
	wantErr(t, "same device code hash, other user code", s.CreateDeviceCode(again), ErrExists)
	if _, err := s.DeviceCodeByUserCode("MNPQRSTV"); err != ErrNotFound {
		t.Errorf("refused code's user code indexed: err = %v", err)
	}
}

func TestDeviceCodeLookupsUnknown(t *testing.T) {
	s := mustOpen(t)
	_, err := s.DeviceCodeByHash(tokens.HashOf("nope"))
	wantErr(t, "DeviceCodeByHash", err, ErrNotFound)
	_, err = s.DeviceCodeByUserCode("BCDFGHJK")
	wantErr(t, "DeviceCodeByUserCode", err, ErrNotFound)
}

func TestResolveDeviceCode(t *testing.T) {
	tests := []struct {
		name       string
		approve    bool
		wantStatus string
		wantEvent  string
	}{
		{"approve", true, StatusApproved, "device.approved"},
		{"deny", false, StatusDenied, "device.denied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustOpen(t)
			mustCreateCode(t, s, "BCDFGHJK", "cli", "laptop", t0)
			at := t0.Add(time.Minute)
			got := mustResolve(t, s, "BCDFGHJK", tc.approve, bob, at)
			if got.Status != tc.wantStatus || got.Subject == nil || *got.Subject != bob || !got.ResolvedAt.Equal(at) {
				t.Errorf("returned %+v", got)
			}
			stored, err := s.DeviceCodeByUserCode("BCDFGHJK")
			if err != nil {
				t.Fatal(err)
			}
			if stored.Status != tc.wantStatus || stored.Subject == nil || *stored.Subject != bob {
				t.Errorf("stored %+v", stored)
			}
			evs := eventsOfType(t, s, tc.wantEvent)
			if len(evs) != 1 || evs[0].Actor != bob.Email || evs[0].Client != "cli" || !evs[0].At.Equal(at) {
				t.Errorf("%s events = %+v", tc.wantEvent, evs)
			}
		})
	}
}

func TestResolveDeviceCodeRefusals(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(t *testing.T, s *Store)
		userCode string
		at       time.Duration
		wantErr  error
	}{
		{"unknown user code", func(*testing.T, *Store) {}, "ZZZZZZZZ", time.Minute, ErrNotFound},
		{"already approved", func(t *testing.T, s *Store) {
			mustResolve(t, s, "BCDFGHJK", true, bob, t0.Add(time.Second))
		}, "BCDFGHJK", time.Minute, ErrAlreadyResolved},
		{"already denied", func(t *testing.T, s *Store) {
			mustResolve(t, s, "BCDFGHJK", false, bob, t0.Add(time.Second))
		}, "BCDFGHJK", time.Minute, ErrAlreadyResolved},
		{"expired at its expiry instant", func(*testing.T, *Store) {}, "BCDFGHJK", codeTTL, ErrNotFound},
		{"expired long ago", func(*testing.T, *Store) {}, "BCDFGHJK", 3 * codeTTL, ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustOpen(t)
			mustCreateCode(t, s, "BCDFGHJK", "cli", "laptop", t0)
			tc.setup(t, s)
			before, _ := s.DeviceCodeByUserCode("BCDFGHJK")
			_, err := s.ResolveDeviceCode(Resolution{UserCode: tc.userCode, Approve: true, Subject: aliceSSO, Now: t0.Add(tc.at)})
			wantErr(t, "ResolveDeviceCode", err, tc.wantErr)
			after, _ := s.DeviceCodeByUserCode("BCDFGHJK")
			if after.Status != before.Status || (after.Subject == nil) != (before.Subject == nil) ||
				(after.Subject != nil && *after.Subject != *before.Subject) {
				t.Errorf("refused resolution changed the code: %+v -> %+v", before, after)
			}
		})
	}
}
