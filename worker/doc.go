// Package worker starts and supervises the Python worker processes and
// carries requests to them over the bridge protocol.
//
// Go listens on a Unix socket in a private directory; each worker dials in
// twice (a data lane for requests, a control lane for health, statistics,
// settings and shutdown) and says hello with its slot, PID and protocol
// version. A Pool keeps --processes workers alive, replacing one that dies
// with capped backoff, and hands each request to the worker with the fewest
// outstanding requests.
package worker
