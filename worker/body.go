package worker

import (
	"sync"

	"github.com/hurricane-run/hurricane/protocol"
)

// Response body chunks of bodyPoolMin bytes or more that come through the
// socket (not the shared body region) are read straight from the data lane
// into pooled buffers and handed to the HTTP side, which gives them back
// with Stream.Release once written: no copy out of the frame reader's buffer
// and no fresh megabyte for the garbage collector per chunk.
const bodyPoolMin = 64 << 10

// bodyClasses are the pooled buffer sizes, each four times the one before,
// up to the largest frame.
var bodyClasses = [...]int{64 << 10, 256 << 10, 1 << 20, 4 << 20, protocol.MaxPayload}

var bodyPools [len(bodyClasses)]sync.Pool

// allocBody is the data lane's protocol.Reader.Alloc.
func allocBody(t protocol.Type, n int) []byte {
	if t != protocol.TypeResponseBody || n < bodyPoolMin {
		return nil
	}
	for i, size := range bodyClasses {
		if n <= size {
			if b, ok := bodyPools[i].Get().(*[]byte); ok {
				return (*b)[:n]
			}
			return make([]byte, n, size)
		}
	}
	return nil
}

// pooledBody reports whether a frame's payload came from allocBody.
func pooledBody(t protocol.Type, n int) bool {
	return t == protocol.TypeResponseBody && n >= bodyPoolMin && n <= protocol.MaxPayload
}

// releaseBody gives a pooled EventBody's Body back once nothing refers to
// it any more. Bodies not from the pool are left to the garbage collector.
func releaseBody(b []byte) {
	c := cap(b)
	for i, size := range bodyClasses {
		if c == size {
			b = b[:0]
			bodyPools[i].Put(&b)
			return
		}
	}
}
