package bench

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// meter counts a bbolt file's write commits over the runs it wraps, with
// the pages they wrote and the time spent writing and syncing them: what a
// group of writes costs on disk, for Gatehouse's file and a baseline's
// alike. Reading the numbers takes one read transaction.
type meter struct {
	db      *bolt.DB
	unit    string // what one operation is, e.g. "creates"
	commits int
	pages   int64
	disk    time.Duration
	wall    time.Duration
	ops     int
}

type meterSnap struct {
	txid  int
	pages int64
	disk  time.Duration
	at    time.Time
}

func (m *meter) snap() meterSnap {
	s := meterSnap{at: time.Now()}
	m.db.View(func(tx *bolt.Tx) error { s.txid = tx.ID(); return nil }) // bbolt numbers commits
	st := m.db.Stats().TxStats
	s.pages, s.disk = st.GetWrite(), st.GetWriteTime()
	return s
}

// wrap returns run with its commits counted.
func (m *meter) wrap(run runner) runner {
	return func(d time.Duration) Stats {
		before := m.snap()
		st := run(d)
		after := m.snap()
		m.commits += after.txid - before.txid
		m.pages += after.pages - before.pages - int64(after.txid-before.txid) // less one meta page each
		m.disk += after.disk - before.disk
		m.wall += after.at.Sub(before.at)
		m.ops += st.Requests
		return st
	}
}

func (m *meter) String() string {
	if m.commits <= 0 {
		return "no commits"
	}
	c := float64(m.commits)
	ops := ""
	if m.unit != "" {
		ops = fmt.Sprintf("%.2f %s, ", float64(m.ops)/c, m.unit)
	}
	return fmt.Sprintf("%.0f commits/s; per commit %s%.1f pages, %s writing them and syncing twice (%.0f%% of the time)",
		c/m.wall.Seconds(), ops, float64(m.pages)/c, dur(time.Duration(float64(m.disk)/c)), 100*m.disk.Seconds()/m.wall.Seconds())
}
