// Package serve is the HTTP front end of "hurricane serve": a fasthttp server
// that turns each request into an ASGI exchange with a Python worker,
// streaming bodies both ways with backpressure, and writes the access log.
package serve
