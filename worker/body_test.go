package worker

import (
	"testing"

	"github.com/hurricane-run/hurricane/protocol"
)

func TestBodyBuffersArePooledBySizeClass(t *testing.T) {
	for _, tc := range []struct {
		typ      protocol.Type
		n        int
		pooled   bool
		capacity int
	}{
		{protocol.TypeResponseBody, 1000, false, 0},
		{protocol.TypeResponseStart, 1 << 20, false, 0},
		{protocol.TypeResponseBody, 64 << 10, true, 64 << 10},
		{protocol.TypeResponseBody, 64<<10 + 1, true, 256 << 10},
		{protocol.TypeResponseBody, 1 << 20, true, 1 << 20},
		{protocol.TypeResponseBody, protocol.MaxPayload, true, protocol.MaxPayload},
	} {
		b := allocBody(tc.typ, tc.n)
		if pooledBody(tc.typ, tc.n) != tc.pooled || (b != nil) != tc.pooled {
			t.Fatalf("type %v, %d bytes: allocBody %v, pooledBody %v, want pooled %v", tc.typ, tc.n, b != nil, pooledBody(tc.typ, tc.n), tc.pooled)
		}
		if b == nil {
			continue
		}
		if len(b) != tc.n || cap(b) != tc.capacity {
			t.Fatalf("%d bytes: got len %d cap %d, want cap %d", tc.n, len(b), cap(b), tc.capacity)
		}
		releaseBody(b)
	}
}
