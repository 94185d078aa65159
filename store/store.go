package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"gatehouse/tokens"
)

// Sentinel errors. Callers test them with errors.Is.
var (
	ErrNotFound        = errors.New("not found")
	ErrExists          = errors.New("already exists")
	ErrExpired         = errors.New("expired")
	ErrPending         = errors.New("authorization pending")
	ErrDenied          = errors.New("access denied")
	ErrAlreadyResolved = errors.New("already approved or denied")
	ErrWrongClient     = errors.New("code belongs to another client")
	ErrRevoked         = errors.New("revoked")
	ErrDisabled        = errors.New("account disabled")
	ErrInUse           = errors.New("data file is in use by another process")
	ErrSchemaTooNew    = errors.New("data file was written by a newer Gatehouse")
	ErrInvalid         = errors.New("invalid value")
)

// FileName is the bbolt file's name inside the data directory.
const FileName = "gatehouse.db"

// PIDFileName records the pid of the serving process, so a second process
// can name it when the file is locked.
const PIDFileName = "gatehouse.pid"

var (
	bucketMeta          = []byte("meta")
	bucketDeviceCodes   = []byte("device_codes")
	bucketUserCodes     = []byte("user_codes")
	bucketTokens        = []byte("tokens")
	bucketTokenHashes   = []byte("token_hashes")
	bucketTokenActive   = []byte("token_active")
	bucketAccounts      = []byte("accounts")
	bucketAccountEmails = []byte("account_emails")
	bucketWorkspaces    = []byte("workspaces")
	bucketMemberships   = []byte("memberships")
	bucketSessions      = []byte("sessions")
	bucketClients       = []byte("clients")
	bucketNonces        = []byte("nonces")
	bucketAudit         = []byte("audit")
	// Schema version 2.
	bucketResourceServers = []byte("resource_servers")
)

var allBuckets = [][]byte{
	bucketMeta, bucketDeviceCodes, bucketUserCodes, bucketTokens, bucketTokenHashes,
	bucketTokenActive, bucketAccounts, bucketAccountEmails, bucketWorkspaces,
	bucketMemberships, bucketSessions, bucketClients, bucketNonces, bucketAudit,
	bucketResourceServers,
}

// Store is the bbolt-backed state of one Gatehouse.
type Store struct {
	db         *bolt.DB
	onResolved func(tokens.Hash)
	onEvent    func(Event)
	writes     *committer // group commit for hot-path writes; nil when read-only
	wmu        sync.Mutex // serializes write transactions (write.go)
	fail       *failure
	lastFault  atomic.Pointer[diskFault]        // write.go
	updateHook func(func(*bolt.Tx) error) error // tests only (write.go)
	closeOnce  sync.Once
}

// Options tune Open.
type Options struct {
	// LockTimeout bounds the wait for the file lock; default 2s.
	LockTimeout time.Duration
	// ReadOnly opens the file for reading only (check, listing).
	ReadOnly bool
	// OnResolved, when set, is called after a code's approval or denial
	// has committed, so held polls can answer at once.
	OnResolved func(deviceHash tokens.Hash)
	// OnEvent, when set, is called with every audit event after the
	// transaction that stored it has committed (the structured log).
	OnEvent func(Event)
}

// Open opens (creating if needed) the bbolt file in dir and migrates it to
// the current schema in one transaction.
func Open(dir string, opt Options) (*Store, error) {
	if opt.LockTimeout <= 0 {
		opt.LockTimeout = 2 * time.Second
	}
	path := filepath.Join(dir, FileName)
	if err := validateFile(path); err != nil { // before bbolt maps it (faults.go)
		return nil, err
	}
	db, err := openBolt(path, &bolt.Options{Timeout: opt.LockTimeout, ReadOnly: opt.ReadOnly})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, lockedError(dir)
	}
	if err != nil {
		return nil, openError(path, err)
	}
	s := &Store{db: db, onResolved: opt.OnResolved, onEvent: opt.OnEvent, fail: newFailure()}
	if opt.ReadOnly {
		err = guard(path, s.checkVersion)
	} else {
		err = guard(path, s.migrate)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	if !opt.ReadOnly {
		s.writes = newCommitter(s.write)
	}
	return s, nil
}

func lockedError(dir string) error {
	pid := "unknown pid"
	if b, err := os.ReadFile(filepath.Join(dir, PIDFileName)); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			pid = "pid " + strconv.Itoa(n)
		}
	}
	return fmt.Errorf("%w: %s is held by a running gatehouse serve (%s); stop it or run this command while it serves so it goes through its admin socket",
		ErrInUse, filepath.Join(dir, FileName), pid)
}

// Close closes the file.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		if s.writes != nil {
			s.writes.close()
		}
		err = s.db.Close()
	})
	return err
}

// update runs a hot-path write through group commit. fn must mark answers
// given before writing anything with refuse, and may run more than once.
func (s *Store) update(fn func(*bolt.Tx) error) error {
	if s.writes == nil {
		return s.write(fn)
	}
	return s.writes.do(fn)
}

// Path is the file's path.
func (s *Store) Path() string { return s.db.Path() }

// DB exposes the handle for backups and checks inside this package's callers
// that need raw statistics; it must not be used to write.
func (s *Store) DB() *bolt.DB { return s.db }

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

// clone copies a bbolt value so it may outlive its transaction.
func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}
