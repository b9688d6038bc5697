// Package metrics exports the server's Prometheus metrics: HTTP requests by
// method, status and route pattern, the request queue, the workers (alive,
// restarts, memory and CPU by slot), startup, probe state, webhooks, an info
// metric, Go's runtime and process collectors, and the metrics the Django
// code defines itself, gathered from every worker over its control lane and
// merged (counters and histograms summed and kept monotonic across worker
// restarts, gauges labelled by worker slot).
package metrics
