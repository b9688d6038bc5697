package protocol

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReaderRejectsOversizedFrame(t *testing.T) {
	b := AppendHeader(nil, TypeHTTPBody, 0, 1, MaxPayload+1)
	_, err := NewReader(bytes.NewReader(b)).Next()
	if !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("err = %v, want ErrFrameTooLarge", err)
	}
}

func TestReaderTruncatedPayload(t *testing.T) {
	b := AppendFrame(nil, TypeHTTPBody, 0, 1, []byte("hello"))
	_, err := NewReader(bytes.NewReader(b[:len(b)-2])).Next()
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v, want ErrUnexpectedEOF", err)
	}
}

func TestDecodeRequestMalformed(t *testing.T) {
	good, err := AppendRequest(nil, 1, false, &Request{Method: []byte("GET"), Path: []byte("/"), Headers: hdrs("a", "b")})
	if err != nil {
		t.Fatal(err)
	}
	payload := good[HeaderSize:]
	for cut := 0; cut < len(payload); cut++ {
		if _, err := DecodeRequest(payload[:cut]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("cut at %d: err = %v, want ErrMalformed", cut, err)
		}
	}
}

func TestAppendRequestRejectsLongFields(t *testing.T) {
	long := bytes.Repeat([]byte("a"), 256)
	if _, err := AppendRequest(nil, 1, false, &Request{Method: long}); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("err = %v, want ErrFrameTooLarge", err)
	}
}

func TestManyFramesRoundTrip(t *testing.T) {
	var b []byte
	for i := range 100 {
		b = AppendFrame(b, TypeResponseBody, FlagMoreBody, uint32(i), bytes.Repeat([]byte{byte(i)}, i))
	}
	rd := NewReader(bytes.NewReader(b))
	for i := range 100 {
		f, err := rd.Next()
		if err != nil {
			t.Fatal(err)
		}
		if f.Stream != uint32(i) || len(f.Payload) != i || !f.MoreBody() {
			t.Fatalf("frame %d: %+v", i, f)
		}
	}
}

func BenchmarkAppendRequest(b *testing.B) {
	r := &Request{
		HTTPVersion: HTTP11, Method: []byte("GET"), ClientHost: []byte("127.0.0.1"), ServerHost: []byte("127.0.0.1"),
		Path: []byte("/hello"), RawPath: []byte("/hello"),
		Headers: hdrs("Host", "localhost:8000", "User-Agent", "wrk", "Accept", "*/*"),
	}
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = AppendRequest(buf[:0], 1, false, r)
	}
}

func TestReaderAllocOwnsPayloads(t *testing.T) {
	var stream []byte
	stream = AppendFrame(stream, TypeResponseBody, FlagMoreBody, 1, bytes.Repeat([]byte("a"), 100))
	stream = AppendFrame(stream, TypeBodyRead, 0, 1, []byte("bb"))
	stream = AppendFrame(stream, TypeResponseBody, 0, 1, bytes.Repeat([]byte("c"), 100))
	rd := NewReader(bytes.NewReader(stream))
	var given [][]byte
	rd.Alloc = func(typ Type, n int) []byte {
		if typ != TypeResponseBody {
			return nil
		}
		b := make([]byte, n)
		given = append(given, b)
		return b
	}
	var kept [][]byte
	for range 3 {
		f, err := rd.Next()
		if err != nil {
			t.Fatal(err)
		}
		kept = append(kept, f.Payload)
	}
	if len(given) != 2 || &kept[0][0] != &given[0][0] || &kept[2][0] != &given[1][0] {
		t.Fatal("response bodies were not read into the buffers Alloc gave")
	}
	// The owned payloads survive later frames; the body read frame used the
	// reader's own buffer.
	if string(kept[0]) != strings.Repeat("a", 100) || string(kept[2]) != strings.Repeat("c", 100) || string(kept[1]) != "bb" {
		t.Fatalf("payloads changed: %q %q %q", kept[0][:3], kept[1], kept[2][:3])
	}
}
