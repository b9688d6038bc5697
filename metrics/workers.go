package metrics

import (
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	descWorkerRSS = desc("worker_resident_memory_bytes", "Resident memory of each worker process, by worker slot.", "worker")
	descWorkerCPU = desc("worker_cpu_seconds_total", "User and system CPU time of the worker processes, by worker slot (replaced processes included).", "worker")
)

// workerCollector exports each worker slot's memory and CPU. CPU is a
// counter per slot: when a slot's process is replaced, the old process's
// last reading is kept as the slot's base, so the counter never goes back.
type workerCollector struct {
	list func() []Worker

	mu   sync.Mutex
	last map[int]Worker  // by slot: the last reading
	base map[int]float64 // by slot: CPU seconds of replaced processes
}

func newWorkerCollector(list func() []Worker) prometheus.Collector {
	if list == nil {
		return constCollector{}
	}
	return &workerCollector{list: list, last: map[int]Worker{}, base: map[int]float64{}}
}

func (c *workerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descWorkerRSS
	ch <- descWorkerCPU
}

func (c *workerCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	live := map[int]bool{}
	for _, w := range c.list() {
		live[w.Slot] = true
		if prev, ok := c.last[w.Slot]; ok && prev.PID != w.PID {
			c.base[w.Slot] += prev.CPU.Seconds()
		}
		c.last[w.Slot] = w
		slot := strconv.Itoa(w.Slot)
		ch <- prometheus.MustNewConstMetric(descWorkerRSS, prometheus.GaugeValue, float64(w.RSS), slot)
		ch <- prometheus.MustNewConstMetric(descWorkerCPU, prometheus.CounterValue, c.base[w.Slot]+w.CPU.Seconds(), slot)
	}
	for slot, prev := range c.last {
		if live[slot] {
			continue
		}
		// Restarting: keep the counter where it was.
		ch <- prometheus.MustNewConstMetric(descWorkerCPU, prometheus.CounterValue, c.base[slot]+prev.CPU.Seconds(), strconv.Itoa(slot))
	}
}
