// Package protocol encodes and decodes the frames that carry ASGI events
// between the Go front end and the Python workers.
//
// Every frame is a 10-byte header (payload length, type, flags, stream ID)
// followed by the payload. The format is documented in docs/protocol.md and
// pinned by the golden frames in testdata/golden, which the Python tests read
// too. This package imports only the standard library.
package protocol
