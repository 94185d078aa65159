package store

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Group commit. Writes on the hot paths (codes created, approved, consumed)
// go through one writer goroutine: it takes
// every write waiting at that moment and runs them in one bbolt transaction,
// so N concurrent requests share one fsync. A lone write runs at once (no
// batching timer, unlike bolt.DB.Batch), and every caller is answered only
// after the commit holding its write is on disk.

// maxGroup bounds how many writes share one transaction.
const maxGroup = 256

// refusal marks an error returned before the function wrote anything: the
// group goes on without it instead of rolling back. Store methods wrap their
// business answers (not found, expired, pending...) with refuse.
type refusal struct{ err error }

func (r refusal) Error() string { return r.err.Error() }
func (r refusal) Unwrap() error { return r.err }

// refuse returns err marked as "nothing written".
func refuse(err error) error { return refusal{err} }

// ErrClosed is returned for writes after Close.
var ErrClosed = errors.New("store is closed")

type call struct {
	fn  func(*bolt.Tx) error
	err chan error
}

type committer struct {
	write func(func(*bolt.Tx) error) error // Store.write
	queue chan *call                       // unbuffered: a send succeeds only when the writer takes it
	stop  chan struct{}
	done  chan struct{}
}

func newCommitter(write func(func(*bolt.Tx) error) error) *committer {
	c := &committer{write: write, queue: make(chan *call), stop: make(chan struct{}), done: make(chan struct{})}
	go c.loop()
	return c
}

// do runs fn in a group transaction and returns its own error.
func (c *committer) do(fn func(*bolt.Tx) error) error {
	cl := &call{fn: fn, err: make(chan error, 1)}
	select {
	case c.queue <- cl:
		return unrefuse(<-cl.err)
	case <-c.stop:
		return ErrClosed
	}
}

func unrefuse(err error) error {
	var r refusal
	if errors.As(err, &r) {
		return r.err
	}
	return err
}

func (c *committer) close() {
	close(c.stop)
	<-c.done
}

func (c *committer) loop() {
	defer close(c.done)
	for {
		select {
		case first := <-c.queue:
			c.run(c.gather(first))
		case <-c.stop:
			return
		}
	}
}

// gather takes the writes already waiting behind first.
func (c *committer) gather(first *call) []*call {
	calls := []*call{first}
	for len(calls) < maxGroup {
		select {
		case cl := <-c.queue:
			calls = append(calls, cl)
		default:
			return calls
		}
	}
	return calls
}

// run commits calls together. A refusal answers its caller and the group
// goes on; any other error rolls the group back, and then the calls before
// it run again together, it runs alone, and the calls after it together.
func (c *committer) run(calls []*call) {
	if len(calls) == 0 {
		return
	}
	results := make([]error, len(calls))
	failed := -1
	err := c.update(func(tx *bolt.Tx) error {
		for i, cl := range calls {
			failed = i // stays set if fn panics
			results[i] = cl.fn(tx)
			if results[i] != nil && !isRefusal(results[i]) {
				return results[i]
			}
		}
		failed = -1
		return nil
	})
	switch {
	case err == nil:
		for i, cl := range calls {
			cl.err <- results[i]
		}
	case failed < 0: // the commit itself failed (disk full, I/O): everyone hears it
		for _, cl := range calls {
			cl.err <- err
		}
	default:
		c.run(calls[:failed])
		calls[failed].err <- c.update(calls[failed].fn)
		c.run(calls[failed+1:])
	}
}

// update is Store.write that turns a panic in fn into an error, since it runs
// on the writer goroutine where nothing else would recover it.
func (c *committer) update(fn func(*bolt.Tx) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("store: panic in write: %v", r)
		}
	}()
	return c.write(fn)
}

func isRefusal(err error) bool {
	var r refusal
	return errors.As(err, &r)
}
