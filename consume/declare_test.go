package consume

import (
	"strings"
	"testing"
)

func TestDeclareErrorNamesTheFlag(t *testing.T) {
	for _, tc := range []struct {
		err  DeclareError
		want []string
	}{
		{DeclareError{Kind: "queue", Name: "q", Arg: "x-dead-letter-exchange", Broker: "b"},
			[]string{`queue "q" already exists with a different x-dead-letter-exchange`, "--queue-arg x-dead-letter-exchange=VALUE"}},
		{DeclareError{Kind: "queue", Name: "q", Arg: "durable", Broker: "b"},
			[]string{"different durable", "--durable as it was declared"}},
		{DeclareError{Kind: "exchange", Name: "x", Arg: "type", Broker: "b"},
			[]string{`exchange "x"`, "--exchange-type"}},
	} {
		got := tc.err.Error()
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%q lacks %q", got, w)
			}
		}
	}
}

func TestRedactHidesThePassword(t *testing.T) {
	got := redact("amqp://user:secret@broker:5672/vh")
	if strings.Contains(got, "secret") || !strings.Contains(got, "@broker") {
		t.Fatalf("redact = %q", got)
	}
}
