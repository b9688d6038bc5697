package serve

import (
	"net"
	"testing"
	"time"
)

func TestUnescapePath(t *testing.T) {
	cases := []struct{ raw, want string }{
		{"/plain", "/plain"},
		{"/caf%C3%A9", "/café"},
		{"/a%2Fb", "/a/b"},
		{"/plus+stays", "/plus+stays"},
		{"/bad%zz", "/bad%zz"},
		{"/trailing%", "/trailing%"},
		{"/short%4", "/short%4"},
		{"/%e2%9c%93", "/✓"},
	}
	for _, c := range cases {
		if got := string(unescapePath([]byte(c.raw))); got != c.want {
			t.Errorf("unescapePath(%q) = %q, want %q", c.raw, got, c.want)
		}
	}
}

func TestForwardedClient(t *testing.T) {
	trusted, err := parseTrusted([]string{"127.0.0.1", "10.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ xff, want string }{
		{"203.0.113.7", "203.0.113.7"},
		{"203.0.113.7, 10.1.2.3", "203.0.113.7"},
		{"198.51.100.1, 203.0.113.7, 10.1.2.3", "203.0.113.7"},
		{"10.0.0.1, 127.0.0.1", "10.0.0.1"},
		{" spoofed , 203.0.113.9", "203.0.113.9"},
	}
	for _, c := range cases {
		if got := string(trusted.clientFromForwarded([]byte(c.xff))); got != c.want {
			t.Errorf("clientFromForwarded(%q) = %q, want %q", c.xff, got, c.want)
		}
	}
	if !trusted.trusts(net.ParseIP("10.9.9.9")) || trusted.trusts(net.ParseIP("192.168.1.1")) {
		t.Error("trust ranges are wrong")
	}
}

func TestParseTrustedRejectsGarbage(t *testing.T) {
	for _, bad := range []string{"not-an-ip", "10.0.0.0/99"} {
		if _, err := parseTrusted([]string{bad}); err == nil {
			t.Errorf("parseTrusted(%q) accepted it", bad)
		}
	}
	all, err := parseTrusted([]string{"*"})
	if err != nil || !all.trusts(net.ParseIP("192.0.2.1")) {
		t.Errorf("* must trust everyone: %v", err)
	}
}

// A slow client taking a chunk of several spans gets a deadline per span,
// not one for the whole chunk.
func TestWriteDeadlineGrowsWithTheChunk(t *testing.T) {
	for _, c := range []struct{ n, spans int }{{1, 1}, {writeIdleSpan, 1}, {writeIdleSpan + 1, 2}, {4 * writeIdleSpan, 4}} {
		before := time.Now()
		got := writeDeadline(c.n).Sub(before)
		want := time.Duration(c.spans) * WriteIdleTimeout
		if got < want || got > want+time.Second {
			t.Errorf("writeDeadline(%d) is %s from now, want %s", c.n, got, want)
		}
	}
}
