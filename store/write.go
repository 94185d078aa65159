package store

import (
	"errors"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Every write transaction goes through Store.write. It exists for one
// failure that bbolt cannot report honestly: a commit writes its meta page
// and then syncs it, and when that sync fails bbolt rolls the transaction
// back in memory while the new meta page is already in the page cache, so
// the "rolled back" change is visible to the next transaction and may or
// may not be on disk. Answering "nothing changed" (503, try again) would
// then be a lie that later writes build on. write detects it (the failed
// transaction's id became the visible one) and stops the store: every later
// write fails with ErrFailed, and Failed() tells the server to shut down so
// a restart reads the file as the disk has it.

var (
	// ErrCommitUncertain is the answer to the write whose commit failed
	// after its meta page was written: it may or may not be on disk.
	ErrCommitUncertain = errors.New("the disk failed while committing; whether this write is on disk is unknown")
	// ErrFailed is the answer to every write after ErrCommitUncertain.
	ErrFailed = errors.New("store stopped taking writes after a disk failure; restart gatehouse")
	// ErrForeign is returned by Open for a bbolt file that is not a
	// Gatehouse data file.
	ErrForeign = errors.New("not a Gatehouse data file")

	errStop = errors.New("stop iteration")
)

// failure is the store's one-way switch to "no more writes".
type failure struct {
	once sync.Once
	ch   chan struct{}
	err  error
}

func newFailure() *failure { return &failure{ch: make(chan struct{})} }

func (f *failure) set(err error) {
	f.once.Do(func() { f.err = err; close(f.ch) })
}

func (f *failure) failed() bool {
	select {
	case <-f.ch:
		return true
	default:
		return false
	}
}

// Failed is closed when the store has stopped taking writes; Err then says
// why. The server shuts down on it.
func (s *Store) Failed() <-chan struct{} { return s.fail.ch }

// Err is the disk error that stopped the store, or nil.
func (s *Store) Err() error {
	if !s.fail.failed() {
		return nil
	}
	return s.fail.err
}

// write runs fn in one bbolt write transaction. Writers are serialized here
// (bbolt serializes them anyway), so after a failed commit the visible
// transaction id tells whether that commit's meta page landed.
func (s *Store) write(fn func(*bolt.Tx) error) error { return s.writeTx(fn, true) }

// writeTx is write; clears says whether a success proves the disk takes
// writes again (the readiness probe's tiny rewrite does not: it fits in
// pages the file already has).
func (s *Store) writeTx(fn func(*bolt.Tx) error, clears bool) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.fail.failed() {
		return ErrFailed
	}
	id := 0
	var events []Event
	err := s.boltUpdate(func(tx *bolt.Tx) error {
		id, events = tx.ID(), nil
		from := auditSeq(tx)
		if err := fn(tx); err != nil {
			return err
		}
		if s.onEvent != nil {
			events = eventsSince(tx, from)
		}
		return nil
	})
	if err == nil {
		for _, ev := range events {
			s.onEvent(ev)
		}
	}
	if err != nil && id != 0 && s.visibleTxID() >= id {
		s.fail.set(err)
		return fmt.Errorf("%w: %w", ErrCommitUncertain, err)
	}
	switch {
	case err != nil && IsDiskFault(err):
		s.lastFault.Store(&diskFault{at: time.Now(), err: err})
	case err == nil && clears:
		s.lastFault.Store(nil)
	}
	return err
}

type diskFault struct {
	at  time.Time
	err error
}

// WriteFault is the last write the disk refused, when no write has
// succeeded since (zero time and nil otherwise). Readiness reports it.
func (s *Store) WriteFault() (time.Time, error) {
	if f := s.lastFault.Load(); f != nil {
		return f.at, f.err
	}
	return time.Time{}, nil
}

// boltUpdate is db.Update; tests replace it to inject a commit that fails
// after its meta page landed, which no ordinary disk produces on demand.
func (s *Store) boltUpdate(fn func(*bolt.Tx) error) error {
	if s.updateHook != nil {
		return s.updateHook(fn)
	}
	return s.db.Update(fn)
}

func (s *Store) visibleTxID() int {
	id := 0
	s.db.View(func(tx *bolt.Tx) error { id = tx.ID(); return nil })
	return id
}
