package store

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// migration moves the file from version-1 to version (its index + 1).
type migration func(tx *bolt.Tx) error

// migrations is ordered: migrations[i] upgrades schema version i to i+1.
// Append only; never edit a released migration.
var migrations = []migration{
	createBucketsV1,
	createResourceServersV2,
	binaryTokenRowsV3,
}

// SchemaVersion is the layout this build writes.
func SchemaVersion() uint64 { return uint64(len(migrations)) }

// v1Buckets is the version-1 layout, frozen: later buckets come from later
// migrations, so a migration that transforms data finds the layout it was
// written for.
var v1Buckets = [][]byte{
	bucketMeta, bucketDeviceCodes, bucketUserCodes, bucketTokens, bucketTokenHashes,
	bucketTokenActive, bucketAccounts, bucketAccountEmails, bucketWorkspaces,
	bucketMemberships, bucketSessions, bucketClients, bucketNonces, bucketAudit,
}

func createBucketsV1(tx *bolt.Tx) error {
	for _, name := range v1Buckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return nil
}

// createResourceServersV2 adds the registry of resource servers that may
// introspect tokens (RFC 7662).
func createResourceServersV2(tx *bolt.Tx) error {
	_, err := tx.CreateBucketIfNotExists(bucketResourceServers)
	return err
}

// binaryTokenRowsV3 changes no bucket: from version 3 token rows may be
// binary (tokenrow.go), which older builds cannot read, so they must refuse
// the file. JSON rows stay valid and are rewritten as they are next written.
func binaryTokenRowsV3(*bolt.Tx) error { return nil }

func readVersion(tx *bolt.Tx) uint64 {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return 0
	}
	v := meta.Get([]byte("schema_version"))
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// migrate brings the file to SchemaVersion. A file already current is not
// written at all, so opening a file to read it (check, listing, audit)
// leaves it byte for byte as it was.
func (s *Store) migrate() error {
	cur, err := s.fileVersion()
	if err != nil || cur == SchemaVersion() {
		return err
	}
	return s.write(func(tx *bolt.Tx) error {
		cur, err := versionOf(tx)
		if err != nil {
			return err
		}
		for v := cur; v < SchemaVersion(); v++ {
			if err := migrations[v](tx); err != nil {
				return fmt.Errorf("migration %d->%d: %w", v, v+1, err)
			}
		}
		return tx.Bucket(bucketMeta).Put([]byte("schema_version"), u64(SchemaVersion()))
	})
}

func (s *Store) fileVersion() (v uint64, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		v, err = versionOf(tx)
		return err
	})
	return v, err
}

// versionOf reads the schema version and refuses what this build must not
// touch: a newer schema, and a bbolt file that is not Gatehouse's (no
// version, but buckets Gatehouse never writes). A version-0 file with no
// buckets at all is one whose first start died before its first commit.
func versionOf(tx *bolt.Tx) (uint64, error) {
	cur := readVersion(tx)
	if cur > SchemaVersion() {
		return cur, fmt.Errorf("%w: file schema %d, this build knows %d; upgrade gatehouse", ErrSchemaTooNew, cur, SchemaVersion())
	}
	if cur == 0 {
		if name := foreignBucket(tx); name != "" {
			return cur, fmt.Errorf("%w: %s is a bbolt file with no Gatehouse schema version and a bucket %q that Gatehouse never writes; point --data-dir at a Gatehouse data directory. Gatehouse has not changed it",
				ErrForeign, tx.DB().Path(), name)
		}
	}
	return cur, nil
}

func foreignBucket(tx *bolt.Tx) (name string) {
	tx.ForEach(func(k []byte, _ *bolt.Bucket) error {
		for _, b := range allBuckets {
			if string(b) == string(k) {
				return nil
			}
		}
		name = string(k)
		return errStop
	})
	return name
}

func (s *Store) checkVersion() error {
	return s.db.View(func(tx *bolt.Tx) error {
		cur, err := versionOf(tx)
		if err != nil {
			return err
		}
		if cur < SchemaVersion() {
			return fmt.Errorf("%w: file schema %d is older than this build's %d; run gatehouse serve once to migrate it", ErrInvalid, cur, SchemaVersion())
		}
		return nil
	})
}
