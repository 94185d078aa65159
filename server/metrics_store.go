package server

import (
	"github.com/prometheus/client_golang/prometheus"
)

// storeCollector reads the store's and the in-memory tables' sizes at scrape
// time, so nothing has to keep gauges up to date on the request path.
type storeCollector struct{ s *Server }

var (
	descFileBytes  = desc("gatehouse_bbolt_file_size_bytes", "Size of the bbolt data file as the last transaction saw it.")
	descReadTx     = desc("gatehouse_bbolt_read_tx_total", "Read transactions started since the file was opened.")
	descOpenReadTx = desc("gatehouse_bbolt_open_read_tx", "Read transactions open now.")
	descFreePages  = desc("gatehouse_bbolt_free_pages", "Pages on the freelist.")
	descPending    = desc("gatehouse_bbolt_pending_pages", "Pages freed but still held by open transactions.")
	descFreeBytes  = desc("gatehouse_bbolt_free_alloc_bytes", "Bytes allocated in free pages.")
	descPageWrites = desc("gatehouse_bbolt_page_writes_total", "Pages written by committed write transactions.")
	descWriteSecs  = desc("gatehouse_bbolt_write_seconds_total", "Time spent writing pages to disk.")
	descSpillSecs  = desc("gatehouse_bbolt_spill_seconds_total", "Time spent spilling nodes in commits.")
	descRebalance  = desc("gatehouse_bbolt_rebalances_total", "Node rebalances in commits.")
	descPaced      = desc("gatehouse_device_codes_paced", "Device codes whose poll pacing is held in memory.")
	descBuckets    = desc("gatehouse_rate_limit_buckets", "Rate-limit buckets held in memory.")
	descHeld       = desc("gatehouse_polls_held", "Pending polls held open, waiting for an approval.")
)

func desc(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, nil, nil) }

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descFileBytes, descReadTx, descOpenReadTx, descFreePages, descPending,
		descFreeBytes, descPageWrites, descWriteSecs, descSpillSecs, descRebalance, descPaced, descBuckets, descHeld} {
		ch <- d
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	db := c.s.store.DB()
	st := db.Stats()
	gauge(descFileBytes, float64(c.s.store.Size()))
	counter(descReadTx, float64(st.TxN))
	gauge(descOpenReadTx, float64(st.OpenTxN))
	gauge(descFreePages, float64(st.FreePageN))
	gauge(descPending, float64(st.PendingPageN))
	gauge(descFreeBytes, float64(st.FreeAlloc))
	counter(descPageWrites, float64(st.TxStats.GetWrite()))
	counter(descWriteSecs, st.TxStats.GetWriteTime().Seconds())
	counter(descSpillSecs, st.TxStats.GetSpillTime().Seconds())
	counter(descRebalance, float64(st.TxStats.GetRebalance()))
	gauge(descPaced, float64(c.s.pacer.size()))
	gauge(descBuckets, float64(c.s.limiter.Len()))
	gauge(descHeld, float64(c.s.holds.held()))
}
