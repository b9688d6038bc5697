package static

import (
	"io"
	"io/fs"
	"os"
	"sync"
	"time"
)

// Small files are kept in memory, keyed by path and checked against the size
// and modification time the request's own lookup just read, so a changed
// file is never answered stale.
const (
	smallFileMax  = 256 << 10
	smallCacheMax = 32 << 20
)

type smallEntry struct {
	size  int64
	mtime time.Time
	data  []byte
}

type smallCache struct {
	mu    sync.RWMutex
	files map[string]smallEntry
	bytes int
}

// get returns the cached content of path if fi still describes it.
func (c *smallCache) get(path string, fi fs.FileInfo) ([]byte, bool) {
	if fi == nil || fi.Size() > smallFileMax {
		return nil, false
	}
	c.mu.RLock()
	e, ok := c.files[path]
	c.mu.RUnlock()
	if !ok || e.size != fi.Size() || !e.mtime.Equal(fi.ModTime()) {
		return nil, false
	}
	return e.data, true
}

// load reads a small open file whole and caches it; nil for a large one or
// on a read error (the caller then streams it).
func (c *smallCache) load(path string, fi fs.FileInfo, f *os.File) []byte {
	if fi.Size() > smallFileMax {
		return nil
	}
	data := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		_, _ = f.Seek(0, io.SeekStart)
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.files == nil || c.bytes+len(data) > smallCacheMax {
		c.files, c.bytes = map[string]smallEntry{}, 0 // simple and bounded
	}
	if old, ok := c.files[path]; ok {
		c.bytes -= len(old.data)
	}
	c.files[path] = smallEntry{size: fi.Size(), mtime: fi.ModTime(), data: data}
	c.bytes += len(data)
	return data
}
