package worker

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"fmt"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hurricane-run/hurricane/protocol"
)

// testRegion is a shared body region as a worker's would be once the worker
// has inherited its file; the test closes it.
func testRegion(t *testing.T) *bodyRegion {
	t.Helper()
	r, err := newBodyRegion()
	if err != nil {
		if runtime.GOOS != "linux" {
			t.Skip("no shared body region on", runtime.GOOS)
		}
		t.Fatal(err)
	}
	r.closeFile()
	return r
}

func TestBodyRegionRefusesWhatAWorkerBugWouldSend(t *testing.T) {
	r := testRegion(t)
	defer r.close()
	if _, err := r.take(protocol.SharedBody{Slot: regionSlots, Length: 1}); err == nil {
		t.Error("a slot past the region was taken")
	}
	if _, err := r.take(protocol.SharedBody{Slot: regionSlots - 1, Length: regionSlotSize + 1}); err == nil {
		t.Error("a body running past the region's last slot was taken")
	}
	b, err := r.take(protocol.SharedBody{Slot: 5, Length: 100})
	if err != nil || len(b) != 100 || cap(b) != 100 {
		t.Fatalf("take slot 5: len %d cap %d, %v", len(b), cap(b), err)
	}
	if _, err := r.take(protocol.SharedBody{Slot: 5, Length: 10}); err == nil {
		t.Error("slot 5 was taken twice before Go gave it back")
	}
	if _, err := r.take(protocol.SharedBody{Slot: 3, Length: 2*regionSlotSize + 1}); err == nil {
		t.Error("a body running into slot 5, which is in use, was taken")
	}
	if got := r.give(protocol.SharedBody{Slot: 5, Length: 100}); len(got) != 1 || got[0] != 5 {
		t.Errorf("giving slot 5 back freed slots %v", got)
	}
	if _, err := r.take(protocol.SharedBody{Slot: 5, Length: 10}); err != nil {
		t.Errorf("slot 5 after give: %v", err)
	}
	r.give(protocol.SharedBody{Slot: 5, Length: 10})
	last := protocol.SharedBody{Slot: regionSlots - 2, Length: 2 * regionSlotSize} // the region's last two slots, exactly
	if b, err := r.take(last); err != nil || len(b) != 2*regionSlotSize {
		t.Errorf("a chunk filling the last two slots: len %d, %v", len(b), err)
	}
	r.give(last)
	if got := r.give(last); got != nil {
		t.Errorf("a chunk given back twice freed slots %v again", got)
	}
	var none *bodyRegion
	if _, err := none.take(protocol.SharedBody{}); err == nil {
		t.Error("a shared body without a region was taken")
	}
}

func TestWorkersCopyLargeChunksPastTheCache(t *testing.T) {
	for _, c := range []struct {
		name string
		env  []string
		want []string
	}{
		{"unset", []string{"PATH=/bin"}, []string{"GLIBC_TUNABLES=" + nonTemporalThreshold, "HURRICANE_WORKER_GLIBC_TUNABLES="}},
		{"other tunables", []string{"GLIBC_TUNABLES=a=1", "GLIBC_TUNABLES=glibc.malloc.tcache_count=5"},
			[]string{"GLIBC_TUNABLES=glibc.malloc.tcache_count=5:" + nonTemporalThreshold, "HURRICANE_WORKER_GLIBC_TUNABLES=glibc.malloc.tcache_count=5"}},
		{"set by the user", []string{"GLIBC_TUNABLES=glibc.cpu.x86_non_temporal_threshold=0x100000"}, nil},
	} {
		if got := tunablesEnv(c.env); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// The worker starts with the tunable, and gives processes it starts the
// user's GLIBC_TUNABLES back, or none when the user had none.
func TestWorkerTunablesStayInTheWorker(t *testing.T) {
	for _, user := range []string{"glibc.malloc.tcache_count=5", ""} {
		t.Run("user "+cmp.Or(user, "none"), func(t *testing.T) {
			t.Setenv("GLIBC_TUNABLES", "") // restored after the test
			var env []string
			if user == "" {
				os.Unsetenv("GLIBC_TUNABLES")
			} else {
				env = []string{"GLIBC_TUNABLES=" + user}
			}
			pl := testPool(t, Serving{Processes: 1, Threads: 1}, env...)
			want := "GLIBC_TUNABLES=" + nonTemporalThreshold
			if user != "" {
				want = "GLIBC_TUNABLES=" + user + ":" + nonTemporalThreshold
			}
			if started := pl.slots[0].cmd.Environ(); !slices.Contains(started, want) {
				t.Errorf("the worker was not started with %s", want)
			}
			if status, body := get(t, pl, "/environ?name=GLIBC_TUNABLES"); status != 200 || body != cmp.Or(user, "<unset>") {
				t.Errorf("GLIBC_TUNABLES in the worker's environment: %d %q, want %q", status, body, cmp.Or(user, "<unset>"))
			}
			if _, body := get(t, pl, "/environ?name=HURRICANE_WORKER_GLIBC_TUNABLES"); body != "<unset>" {
				t.Errorf("HURRICANE_WORKER_GLIBC_TUNABLES left in the worker's environment: %q", body)
			}
		})
	}
}

// A chunk longer than a slot fills the slots after its first: Go sees it
// as one body and gives every slot of it back at once.
func TestBodyRegionChunksSpanConsecutiveSlots(t *testing.T) {
	r := testRegion(t)
	defer r.close()
	run := protocol.SharedBody{Slot: 2, Length: 3*regionSlotSize + 7} // slots 2 to 5
	copy(r.mem[2*regionSlotSize:], "first")
	b, err := r.take(run)
	if err != nil || len(b) != int(run.Length) || string(b[:5]) != "first" {
		t.Fatalf("take slots 2-5: len %d, %v", len(b), err)
	}
	for _, slot := range []uint32{1, 5, 6} {
		_, err := r.take(protocol.SharedBody{Slot: slot, Length: 1})
		if inRun := slot >= 2 && slot <= 5; (err != nil) != inRun {
			t.Errorf("slot %d: taken while the run holds slots 2-5: %v", slot, err)
		}
	}
	if got := r.give(run); fmt.Sprint(got) != "[2 3 4 5]" {
		t.Errorf("giving the run back freed slots %v, want [2 3 4 5]", got)
	}
	if _, err := r.take(protocol.SharedBody{Slot: 5, Length: 1}); err != nil {
		t.Errorf("slot 5 after the run came back: %v", err)
	}
}

func TestBodyRegionIsUnmappedOnceTheLastSlotIsBack(t *testing.T) {
	r := testRegion(t)
	if _, err := r.take(protocol.SharedBody{Slot: 1, Length: 10}); err != nil {
		t.Fatal(err)
	}
	r.close() // the worker exited while a response was still being written
	if r.mem == nil {
		t.Fatal("unmapped while slot 1 was still being written")
	}
	r.give(protocol.SharedBody{Slot: 1, Length: 10})
	if r.mem != nil {
		t.Fatal("still mapped after the worker exited and the last slot came back")
	}
}

// Large response chunks, sync and async, cross through the shared body
// region while many requests compete for its slots and give them back out
// of order: every byte must land where it belongs, and no slot may be lost.
func TestLargeBodiesThroughTheSharedRegion(t *testing.T) {
	pl := testPool(t, Serving{Processes: 1, Threads: 4})
	const n, kb = 6, 300 // 300 KiB chunks take two slots each
	var spanning atomic.Int64
	inParallel(t, 8, func(g int) error {
		// A sync view waits for slots, so each of its chunks comes
		// through the region (two slots each); the event loop never
		// waits and sends through the socket when slots are short.
		path, wantShared := "/pattern", n*kb<<10
		if g%2 == 1 {
			path, wantShared = "/apattern", -1
		}
		for range 3 {
			target := fmt.Sprintf("%s?n=%d&kb=%d", path, n, kb)
			shared, spans, err := getPattern(pl, target, n, kb<<10, g%3 == 0)
			spanning.Add(int64(spans))
			if err == nil && wantShared >= 0 && shared != wantShared {
				err = fmt.Errorf("%s: %d bytes came through the region, want %d", target, shared, wantShared)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	p := pl.slots[0]
	if p.region == nil {
		t.Fatal("the worker has no shared body region")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		p.region.mu.Lock()
		inUse := p.region.inUse
		p.region.mu.Unlock()
		if inUse == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d shared body chunks still in use after every response was written", inUse)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if spanning.Load() == 0 {
		t.Error("no chunk crossed as one frame over consecutive slots")
	}
}

// getPattern reads a /pattern response, checks every byte and returns how
// many of its bytes came through the shared region, and in how many events
// longer than a slot. hold: keep each chunk until the next arrives, giving
// slots back out of order.
func getPattern(pl *Pool, target string, n, size int, hold bool) (shared, spanning int, err error) {
	path, query, _ := bytes.Cut([]byte(target), []byte("?"))
	st, err := pl.Open()
	if err != nil {
		return 0, 0, err
	}
	defer st.Close()
	req := &protocol.Request{HTTPVersion: protocol.HTTP11, Method: []byte("GET"), Path: path, RawPath: path, QueryString: query,
		Headers: []protocol.Header{{Name: []byte("host"), Value: []byte("localhost")}}}
	if err := st.Send(req, false); err != nil {
		return 0, 0, err
	}
	ev := st.Next()
	if ev.Kind != EventStart || ev.Status != 200 {
		return 0, 0, fmt.Errorf("%s: event %v status %d", target, ev.Kind, ev.Status)
	}
	var got []byte
	var held []Event
	got = append(got, ev.Body...)
	for more := ev.More; more; {
		_ = st.Ack(len(ev.Body))
		ev = st.Next()
		if ev.Kind != EventBody {
			return 0, 0, fmt.Errorf("%s: event %v during the body", target, ev.Kind)
		}
		got = append(got, ev.Body...)
		more = ev.More
		if ev.shared {
			shared += len(ev.Body)
			if len(ev.Body) > regionSlotSize {
				spanning++
			}
		}
		held = append(held, ev)
		if !hold || len(held) > 2 {
			st.Release(held[0])
			held = held[1:]
		}
	}
	for _, e := range held {
		st.Release(e)
	}
	if len(got) != n*size {
		return 0, 0, fmt.Errorf("%s: %d bytes, want %d", target, len(got), n*size)
	}
	for i := range n {
		chunk := got[i*size : (i+1)*size]
		if j := bytes.IndexFunc(chunk, func(r rune) bool { return r != rune(i%251) }); j >= 0 {
			return 0, 0, fmt.Errorf("%s: byte %d of chunk %d is %d, want %d", target, j, i, chunk[j], i%251)
		}
	}
	return shared, spanning, nil
}

func TestRequestSlotsGoAroundOnce(t *testing.T) {
	r := testRegion(t)
	defer r.close()
	taken := map[uint32]bool{}
	for range requestSlots {
		slot, buf, ok := r.takeRequest(0)
		if !ok || taken[slot] || len(buf) != requestSlotSize {
			t.Fatalf("take: slot %d ok %v len %d (taken %v)", slot, ok, len(buf), taken)
		}
		taken[slot] = true
	}
	if _, _, ok := r.takeRequest(10 * time.Millisecond); ok {
		t.Fatal("a request slot was taken while all were in use")
	}
	if err := r.giveRequests([]uint32{0}); err == nil {
		t.Error("a slot Go still fills was given back by the worker")
	}
	r.sendRequest(0)
	r.dropRequest(1)
	if err := r.giveRequests([]uint32{0}); err != nil {
		t.Errorf("giving back a sent slot: %v", err)
	}
	if err := r.giveRequests([]uint32{0}); err == nil {
		t.Error("a slot was given back twice")
	}
	if err := r.giveRequests([]uint32{requestSlots}); err == nil {
		t.Error("a slot past the request slots was given back")
	}
	back := map[uint32]bool{}
	for range 2 {
		slot, _, ok := r.takeRequest(0)
		if !ok {
			t.Fatal("slots 0 and 1 did not come back")
		}
		back[slot] = true
	}
	if !back[0] || !back[1] {
		t.Fatalf("came back: %v, want slots 0 and 1", back)
	}
	var none *bodyRegion
	if err := none.giveRequests([]uint32{0}); err == nil {
		t.Error("request slots were given back without a region")
	}
	// Once the worker's lane is gone, a request waiting for a slot stops
	// waiting: the slots the worker holds will not come back.
	waited := make(chan bool)
	go func() {
		_, _, ok := r.takeRequest(time.Minute)
		waited <- ok
	}()
	r.abandon()
	if <-waited {
		t.Error("a request slot was taken from a region whose worker is gone")
	}
}

func TestRequestSlotsKeepTheRegionMappedWhileGoFillsThem(t *testing.T) {
	r := testRegion(t)
	filling, buf, ok := r.takeRequest(0)
	sent, _, ok2 := r.takeRequest(0)
	if !ok || !ok2 {
		t.Fatal("no request slots")
	}
	r.sendRequest(sent)
	r.close() // the worker exited with one slot sent and one being filled
	buf[len(buf)-1] = 1
	if r.mem == nil {
		t.Fatal("unmapped while a request slot was being filled")
	}
	if _, _, ok := r.takeRequest(0); ok {
		t.Error("a request slot was taken after the worker exited")
	}
	r.dropRequest(filling)
	if r.mem != nil {
		t.Fatal("still mapped after the worker exited and the last slot came back")
	}
}

// Request bodies, sync and async, cross through request slots while more
// requests compete for them than there are slots; one in three continues
// through the socket after its slot. Every byte must reach the view, and
// every slot must come back.
func TestRequestBodiesThroughTheSharedRegion(t *testing.T) {
	pl := testPool(t, Serving{Processes: 1, Threads: 4})
	inParallel(t, 8, func(g int) error {
		path := "/digest"
		if g%2 == 1 {
			path = "/adigest"
		}
		for i := range 3 {
			size := 100_000 + g*70_000 + i*30_000
			rest := 0
			if (g+i)%3 == 0 {
				rest = 150_000
			}
			if err := postThroughSlot(pl, path, size, rest); err != nil {
				return err
			}
		}
		return nil
	})
	r := pl.slots[0].region
	deadline := time.Now().Add(5 * time.Second)
	for len(r.requests) != requestSlots {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d request slots back after every response", len(r.requests), requestSlots)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// postThroughSlot posts size bytes read into a request slot, then rest
// bytes through the socket when the view asks for them, and checks the
// digest the view answers.
func postThroughSlot(pl *Pool, path string, size, rest int) error {
	body := make([]byte, size+rest)
	for i := range body {
		body[i] = byte(i * 7 / 3)
	}
	st, err := pl.Open()
	if err != nil {
		return err
	}
	defer st.Close()
	slot, ok := st.TakeBodySlot(5 * time.Second)
	if !ok {
		return fmt.Errorf("%s: no request slot came free", path)
	}
	copy(slot.Buf, body[:size])
	req := &protocol.Request{HTTPVersion: protocol.HTTP11, Method: []byte("POST"), Path: []byte(path), RawPath: []byte(path),
		Headers: []protocol.Header{{Name: []byte("content-length"), Value: []byte(fmt.Sprint(len(body)))}}}
	if err := st.SendShared(req, slot, size, rest > 0); err != nil {
		slot.Drop()
		return err
	}
	for {
		ev := st.Next()
		switch ev.Kind {
		case EventRead:
			if err := st.SendBody(body[size:], false); err != nil {
				return err
			}
			continue
		case EventStart:
			want := fmt.Sprintf("%d|%x", len(body), sha256.Sum256(body))
			if ev.Status != 200 || string(ev.Body) != want {
				return fmt.Errorf("%s (%d + %d bytes): %d %q, want %q", path, size, rest, ev.Status, ev.Body, want)
			}
			return nil
		default:
			return fmt.Errorf("%s: event %v", path, ev.Kind)
		}
	}
}

// inParallel runs fn(0) to fn(n-1) at once and fails the test with every
// error they return.
func inParallel(t *testing.T, n int, fn func(g int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for g := range n {
		wg.Go(func() {
			if err := fn(g); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
