package cmd

import (
	"strings"
	"testing"
)

func TestBrokerURL(t *testing.T) {
	env := map[string]string{"AMQP_PASSWORD": "from-env"}
	getenv := func(k string) string { return env[k] }
	for _, tc := range []struct {
		name     string
		o        consumeOptions
		settings map[string]any
		want     string
		err      string
	}{
		{"host and port", consumeOptions{amqpHost: "rabbit", amqpPort: 5672, amqpVHost: "/"}, nil, "amqp://rabbit:5672/%2F", ""},
		{"credentials from settings and env", consumeOptions{amqpHost: "rabbit", amqpPort: 5672, amqpVHost: "shop"},
			map[string]any{"AMQP_USER": "app"}, "amqp://app:from-env@rabbit:5672/shop", ""},
		{"no host", consumeOptions{amqpPort: 5672}, nil, "", "The amqp host must not be empty"},
		{"no port", consumeOptions{amqpHost: "rabbit"}, nil, "", "The amqp port must not be empty"},
		{"url wins", consumeOptions{amqpURL: "amqps://u:p@secure:5671/v"}, nil, "amqps://u:p@secure:5671/v", ""},
		{"bad url", consumeOptions{amqpURL: "http://nope"}, nil, "", "invalid --amqp-url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := tc.o.brokerURL(tc.settings, getenv)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("brokerURL = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestParseQueueArgs(t *testing.T) {
	got, err := parseQueueArgs([]string{"x-dead-letter-exchange=dlx", "x-max-length=100"})
	if err != nil || got["x-dead-letter-exchange"] != "dlx" || got["x-max-length"] != int64(100) {
		t.Fatalf("parseQueueArgs = %v, %v", got, err)
	}
	if _, err := parseQueueArgs([]string{"novalue"}); err == nil {
		t.Fatal("KEY without =VALUE accepted")
	}
}
