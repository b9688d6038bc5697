package worker

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"testing"

	"github.com/hurricane-run/hurricane/protocol"
)

// Frames from many goroutines, batched small ones and large ones written
// directly, arrive whole and in each goroutine's order.
func TestSenderKeepsFramesWholeAndOrdered(t *testing.T) {
	ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "s"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err := net.Dial("unix", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server := <-accepted
	s := newSender(server)
	defer s.close()

	const writers, frames = 4, 40
	payload := func(w, i int) []byte {
		n := 100
		if i%3 == 0 {
			n = largePayload + i*1000 // written by writeLarge
		}
		return bytes.Repeat([]byte{byte('a' + w)}, n)
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range frames {
				p := payload(w, i)
				var err error
				if len(p) >= largePayload {
					err = s.writeLarge(func(b []byte) []byte {
						return protocol.AppendHeader(b, protocol.TypeHTTPBody, 0, uint32(w), len(p))
					}, p)
				} else {
					err = s.append(func(b []byte) ([]byte, error) {
						return protocol.AppendFrame(b, protocol.TypeHTTPBody, 0, uint32(w), p), nil
					})
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}

	rd := protocol.NewReader(bufio.NewReader(client))
	next := make([]int, writers)
	for range writers * frames {
		f, err := rd.Next()
		if err != nil {
			t.Fatal(err)
		}
		w := int(f.Stream)
		if want := payload(w, next[w]); !bytes.Equal(f.Payload, want) {
			t.Fatalf("writer %d frame %d: got %d bytes starting %q, want %d bytes of %q",
				w, next[w], len(f.Payload), f.Payload[:min(8, len(f.Payload))], len(want), fmt.Sprint(string(rune('a'+w))))
		}
		next[w]++
	}
	wg.Wait()
}
