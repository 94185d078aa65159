package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Baselines are measured in the same run, on the same machine and disk, so
// every target is a ratio that does not depend on how fast this machine is.

// shape is a typical answer of a scenario: its status, body and how many
// header bytes it carried besides the ones net/http always writes.
type shape struct {
	status      int
	body        []byte
	headerBytes int
}

// autoHeaders are written by net/http for the bare server too, so they are
// not padded for.
var autoHeaders = map[string]bool{"Date": true, "Content-Length": true, "Content-Type": true}

// probe sends r once and records the answer's shape; want is the status a
// working server gives.
func probe(ctx context.Context, c *http.Client, r request, want int) (shape, error) {
	st, body, hdr, err := send(ctx, c, r)
	if err != nil {
		return shape{}, err
	}
	if st != want {
		return shape{}, errors.Join(errStatus, errors.New(r.method+" "+r.url+": "+http.StatusText(st)+": "+trim(string(body))))
	}
	n := 0
	for k, vs := range hdr {
		if autoHeaders[k] {
			continue
		}
		for _, v := range vs {
			n += len(k) + len(v) + 4 // "K: V\r\n"
		}
	}
	return shape{status: st, body: body, headerBytes: n}, nil
}

// bareServer is a bare net/http handler on loopback answering s: same
// status, same body, and one padding header so the answer has the same
// number of bytes on the wire.
type bareServer struct {
	srv *http.Server
	url string
}

func startBare(s shape) (*bareServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	pad := strings.Repeat("p", max(s.headerBytes-len("X-Pad: \r\n"), 1))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Pad", pad)
		w.WriteHeader(s.status)
		w.Write(s.body)
	})
	b := &bareServer{srv: &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}, url: "http://" + ln.Addr().String()}
	go b.srv.Serve(ln)
	return b, nil
}

func (b *bareServer) Close() { b.srv.Close() }

// retarget points r at the bare server, keeping path, headers and body.
func retarget(r request, from, to string) request {
	r.url = to + strings.TrimPrefix(r.url, from)
	return r
}

// boltDB opens a scratch bbolt file in dir: the same disk as the data
// directory, durable (fsync on commit) as bbolt is by default.
func boltDB(dir, name string) (*bolt.DB, func(), error) {
	path := filepath.Join(dir, name)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, nil, err
	}
	err = db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucketIfNotExists([]byte("b")); return err })
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, func() { db.Close(); os.Remove(path) }, nil
}

// smallValue is the "one small put": a 64-byte value.
var smallValue = make([]byte, 64)

func putKey(w, i int) []byte {
	k := make([]byte, 12)
	binary.BigEndian.PutUint32(k, uint32(w))
	binary.BigEndian.PutUint64(k[4:], uint64(i))
	return k
}

// batchBaseline is conc workers each calling DB.Batch with one small put,
// back to back, with the batch size capped at conc so a full batch commits
// at once instead of waiting out MaxBatchDelay.
func batchBaseline(ctx context.Context, dir string, conc int) (runner, *meter, func(), error) {
	db, done, err := boltDB(dir, "baseline-batch.db")
	if err != nil {
		return nil, nil, nil, err
	}
	db.MaxBatchSize = conc
	counters := make([]int, conc)
	m := &meter{db: db, unit: "puts"}
	return m.wrap(func(d time.Duration) Stats {
		return closedLoop(ctx, conc, d, func(_ context.Context, w int) error {
			counters[w]++
			k := putKey(w, counters[w])
			return db.Batch(func(tx *bolt.Tx) error { return tx.Bucket([]byte("b")).Put(k, smallValue) })
		})
	}), m, done, nil
}

// updateBaseline is one client committing one small put per durable
// Update, back to back.
func updateBaseline(ctx context.Context, dir string) (runner, *meter, func(), error) {
	db, done, err := boltDB(dir, "baseline-update.db")
	if err != nil {
		return nil, nil, nil, err
	}
	i := 0
	m := &meter{db: db, unit: "puts"}
	return m.wrap(func(d time.Duration) Stats {
		return closedLoop(ctx, 1, d, func(context.Context, int) error {
			i++
			return db.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte("b")).Put(putKey(0, i), smallValue) })
		})
	}), m, done, nil
}

func trim(s string) string {
	if len(s) > 160 {
		return s[:160] + "..."
	}
	return s
}
