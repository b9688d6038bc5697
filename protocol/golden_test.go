package protocol

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden frames")

// goldenCase is one golden frame: the .bin file holds the bytes, the .json
// file what they mean. python/tests/test_protocol.py reads the same files.
type goldenCase struct {
	Type     Type              `json:"type"`
	Flags    Flags             `json:"flags"`
	Stream   uint32            `json:"stream"`
	Request  *goldenRequest    `json:"request,omitempty"`
	Response *goldenResponse   `json:"response,omitempty"`
	Body     *string           `json:"body,omitempty"`
	Ack      *uint32           `json:"ack,omitempty"`
	Shared   *goldenShared     `json:"shared,omitempty"`
	Slots    []uint32          `json:"slots,omitempty"`
	Control  *goldenControlReq `json:"control,omitempty"`
}

type goldenRequest struct {
	HTTPVersion string      `json:"http_version"`
	Scheme      string      `json:"scheme"`
	Method      string      `json:"method"`
	Client      []any       `json:"client"`
	Server      []any       `json:"server"`
	RootPath    string      `json:"root_path"`
	Path        string      `json:"path"`
	RawPath     string      `json:"raw_path"`
	QueryString string      `json:"query_string"`
	Headers     [][2]string `json:"headers"`
	Body        string      `json:"body"`
}

type goldenResponse struct {
	Status  int         `json:"status"`
	Route   *string     `json:"route,omitempty"`
	Headers [][2]string `json:"headers"`
	Body    string      `json:"body"`
}

type goldenShared struct {
	Slot   uint32 `json:"slot"`
	Length uint32 `json:"length"`
}

type goldenControlReq struct {
	Op   Op             `json:"op"`
	Args map[string]any `json:"args"`
}

func hdrs(pairs ...string) []Header {
	var hs []Header
	for i := 0; i < len(pairs); i += 2 {
		hs = append(hs, Header{Name: []byte(pairs[i]), Value: []byte(pairs[i+1])})
	}
	return hs
}

func pairs(hs []Header) [][2]string {
	out := [][2]string{}
	for _, h := range hs {
		out = append(out, [2]string{string(h.Name), string(h.Value)})
	}
	return out
}

func strp(s string) *string { return &s }
func u32p(n uint32) *uint32 { return &n }

func goldenFrames(t *testing.T) map[string]struct {
	bin  []byte
	want goldenCase
} {
	t.Helper()
	out := map[string]struct {
		bin  []byte
		want goldenCase
	}{}
	add := func(name string, bin []byte, err error, want goldenCase) {
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = struct {
			bin  []byte
			want goldenCase
		}{bin, want}
	}

	get := &Request{
		HTTPVersion: HTTP11, Scheme: SchemeHTTP, Method: []byte("GET"),
		ClientHost: []byte("127.0.0.1"), ClientPort: 51234,
		ServerHost: []byte("127.0.0.1"), ServerPort: 8000,
		Path: []byte("/hello"), RawPath: []byte("/hello"), QueryString: []byte("a=1&a=2"),
		Headers: hdrs("Host", "localhost:8000", "X-Multi", "one", "x-multi", "two"),
	}
	b, err := AppendRequest(nil, 7, false, get)
	add("request_get", b, err, goldenCase{Type: TypeHTTPRequest, Stream: 7, Request: &goldenRequest{
		HTTPVersion: "1.1", Scheme: "http", Method: "GET",
		Client: []any{"127.0.0.1", 51234}, Server: []any{"127.0.0.1", 8000},
		Path: "/hello", RawPath: "/hello", QueryString: "a=1&a=2",
		Headers: [][2]string{{"host", "localhost:8000"}, {"x-multi", "one"}, {"x-multi", "two"}},
	}})

	post := &Request{
		HTTPVersion: HTTP10, Scheme: SchemeHTTPS, Method: []byte("POST"),
		Path: []byte("/caf\xc3\xa9"), RawPath: []byte("/caf%C3%A9"), RootPath: []byte("/app"),
		Headers: hdrs("Content-Length", "10"),
		Body:    []byte("hello"),
	}
	b, err = AppendRequest(nil, 8, true, post)
	add("request_post_more", b, err, goldenCase{Type: TypeHTTPRequest, Flags: FlagMoreBody, Stream: 8, Request: &goldenRequest{
		HTTPVersion: "1.0", Scheme: "https", Method: "POST", RootPath: "/app",
		Path: "/café", RawPath: "/caf%C3%A9",
		Headers: [][2]string{{"content-length", "10"}}, Body: "hello",
	}})

	start := &ResponseStart{Status: 200, Headers: hdrs("Content-Type", "text/plain", "Set-Cookie", "a=1", "Set-Cookie", "b=2"), Body: []byte("Hello world!")}
	b, err = AppendResponseStart(nil, 7, false, start)
	add("response_start", b, err, goldenCase{Type: TypeResponseStart, Stream: 7, Response: &goldenResponse{
		Status: 200, Headers: pairs(start.Headers), Body: "Hello world!",
	}})

	routed := &ResponseStart{Status: 404, Route: []byte("/items/<int:pk>"), Headers: hdrs("Content-Type", "text/html")}
	b, err = AppendResponseStart(nil, 5, false, routed)
	add("response_start_route", b, err, goldenCase{Type: TypeResponseStart, Flags: FlagRoute, Stream: 5, Response: &goldenResponse{
		Status: 404, Route: strp("/items/<int:pk>"), Headers: pairs(routed.Headers),
	}})

	b, err = AppendResponseStart(nil, 9, true, &ResponseStart{Status: 206})
	add("response_start_more", b, err, goldenCase{Type: TypeResponseStart, Flags: FlagMoreBody, Stream: 9, Response: &goldenResponse{Status: 206, Headers: [][2]string{}}})

	add("response_body", AppendFrame(nil, TypeResponseBody, FlagMoreBody, 9, []byte("chunk")), nil,
		goldenCase{Type: TypeResponseBody, Flags: FlagMoreBody, Stream: 9, Body: strp("chunk")})
	add("http_body_last", AppendFrame(nil, TypeHTTPBody, 0, 8, []byte("world")), nil,
		goldenCase{Type: TypeHTTPBody, Stream: 8, Body: strp("world")})
	add("body_ack", AppendBodyAck(nil, 9, 65536), nil, goldenCase{Type: TypeBodyAck, Stream: 9, Ack: u32p(65536)})
	add("response_shared", AppendShared(nil, TypeResponseShared, 9, FlagMoreBody, SharedBody{Slot: 3, Length: 262144}), nil,
		goldenCase{Type: TypeResponseShared, Flags: FlagMoreBody, Stream: 9, Shared: &goldenShared{Slot: 3, Length: 262144}})
	add("slots_free", AppendSlots(nil, TypeSlotsFree, 3, 0, 15), nil, goldenCase{Type: TypeSlotsFree, Slots: []uint32{3, 0, 15}})
	add("body_shared", AppendShared(nil, TypeBodyShared, 8, 0, SharedBody{Slot: 2, Length: 983040}), nil,
		goldenCase{Type: TypeBodyShared, Stream: 8, Shared: &goldenShared{Slot: 2, Length: 983040}})
	add("body_shared_with_request", AppendShared(nil, TypeBodyShared, 8, FlagMoreBody|FlagWithRequest, SharedBody{Slot: 1, Length: 1048576}), nil,
		goldenCase{Type: TypeBodyShared, Flags: FlagMoreBody | FlagWithRequest, Stream: 8, Shared: &goldenShared{Slot: 1, Length: 1048576}})
	add("body_slots_free", AppendSlots(nil, TypeBodySlotsFree, 2, 1), nil, goldenCase{Type: TypeBodySlotsFree, Slots: []uint32{2, 1}})
	add("disconnect", AppendFrame(nil, TypeHTTPDisconnect, 0, 8, nil), nil, goldenCase{Type: TypeHTTPDisconnect, Stream: 8})
	b, err = AppendControlRequest(nil, 3, OpSettings, map[string]any{"names": []string{"HURRICANE_PORT"}})
	add("control_settings", b, err, goldenCase{Type: TypeControlRequest, Stream: 3, Control: &goldenControlReq{
		Op: OpSettings, Args: map[string]any{"names": []any{"HURRICANE_PORT"}},
	}})
	return out
}

func TestGoldenFrames(t *testing.T) {
	dir := filepath.Join("testdata", "golden")
	for name, c := range goldenFrames(t) {
		t.Run(name, func(t *testing.T) {
			binPath := filepath.Join(dir, name+".bin")
			jsonPath := filepath.Join(dir, name+".json")
			if *update {
				js, _ := json.MarshalIndent(c.want, "", "  ")
				if err := os.WriteFile(binPath, c.bin, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(jsonPath, append(js, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(binPath)
			if err != nil {
				t.Fatalf("missing golden frame (run go test ./protocol -update): %v", err)
			}
			if !bytes.Equal(c.bin, want) {
				t.Fatalf("encoding changed:\n got %x\nwant %x", c.bin, want)
			}
			f, err := NewReader(bytes.NewReader(want)).Next()
			if err != nil {
				t.Fatal(err)
			}
			if f.Type != c.want.Type || f.Flags != c.want.Flags || f.Stream != c.want.Stream {
				t.Fatalf("header = %v/%v/%v, want %v/%v/%v", f.Type, f.Flags, f.Stream, c.want.Type, c.want.Flags, c.want.Stream)
			}
			switch {
			case c.want.Request != nil:
				r, err := DecodeRequest(f.Payload)
				if err != nil {
					t.Fatal(err)
				}
				if string(r.Path) != c.want.Request.Path || string(r.Method) != c.want.Request.Method ||
					string(r.Body) != c.want.Request.Body || len(r.Headers) != len(c.want.Request.Headers) {
					t.Fatalf("decoded request %+v does not match %+v", r, c.want.Request)
				}
			case c.want.Response != nil:
				r, err := DecodeResponseStart(f.Payload, f.Flags)
				if err != nil {
					t.Fatal(err)
				}
				wantRoute := c.want.Response.Route != nil
				if r.Status != c.want.Response.Status || string(r.Body) != c.want.Response.Body ||
					(r.Route != nil) != wantRoute || (wantRoute && string(r.Route) != *c.want.Response.Route) {
					t.Fatalf("decoded response %+v does not match %+v", r, c.want.Response)
				}
			case c.want.Ack != nil:
				n, err := DecodeBodyAck(f.Payload)
				if err != nil || n != *c.want.Ack {
					t.Fatalf("ack = %d, %v", n, err)
				}
			case c.want.Shared != nil:
				b, err := DecodeShared(f.Payload)
				if err != nil || b.Slot != c.want.Shared.Slot || b.Length != c.want.Shared.Length {
					t.Fatalf("shared body = %+v, %v", b, err)
				}
			case c.want.Slots != nil:
				slots, err := DecodeSlots(f.Payload)
				if err != nil || !slices.Equal(slots, c.want.Slots) {
					t.Fatalf("slots = %v, %v", slots, err)
				}
			}
		})
	}
}
