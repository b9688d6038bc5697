package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// brokerURL is the RabbitMQ that scripts/rabbitmq starts.
const brokerURL = "amqp://guest:guest@127.0.0.1:5672/"

// requireBroker connects to the test broker, skipping (or failing, with
// HURRICANE_E2E_REQUIRED=1) without one.
func requireBroker(t *testing.T) *amqp.Connection {
	t.Helper()
	requirePython(t)
	conn, err := amqp.Dial(brokerURL)
	if err != nil {
		if os.Getenv("HURRICANE_E2E_REQUIRED") == "1" {
			t.Fatalf("no RabbitMQ at %s (scripts/rabbitmq starts it): %v", brokerURL, err)
		}
		t.Skipf("no RabbitMQ at %s; run scripts/rabbitmq: %v", brokerURL, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// testNames returns queue and exchange names unique to this test run.
func testNames(t *testing.T) (queue, exchange, dlx, dead string) {
	base := fmt.Sprintf("e2e.%s.%d", strings.ToLower(t.Name()), time.Now().UnixNano())
	return base + ".q", base + ".x", base + ".dlx", base + ".dead"
}

// declareDLX declares a dead-letter exchange and a queue collecting it.
func declareDLX(t *testing.T, conn *amqp.Connection, dlx, dead string) {
	t.Helper()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	if err := ch.ExchangeDeclare(dlx, "fanout", false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(dead, false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(dead, "", dlx, false, nil); err != nil {
		t.Fatal(err)
	}
}

func publish(t *testing.T, conn *amqp.Connection, exchange, key string, bodies []string, persistent bool) {
	t.Helper()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	mode := amqp.Transient
	if persistent {
		mode = amqp.Persistent
	}
	ctx := context.Background()
	var confs []*amqp.DeferredConfirmation
	for _, b := range bodies {
		c, err := ch.PublishWithDeferredConfirmWithContext(ctx, exchange, key, false, false, amqp.Publishing{Body: []byte(b), DeliveryMode: mode})
		if err != nil {
			t.Fatal(err)
		}
		confs = append(confs, c)
	}
	for _, c := range confs {
		if ok, err := c.WaitContext(ctx); !ok || err != nil {
			t.Fatalf("publish not confirmed: %v", err)
		}
	}
}

// startConsumer runs "hurricane consume" with the e2esite handlers.
func startConsumer(t *testing.T, recordFile, handler string, extra ...string) *server {
	t.Helper()
	return startConsumerEnv(t, nil, recordFile, handler, extra...)
}

// startConsumerEnv is startConsumer with more environment.
func startConsumerEnv(t *testing.T, env []string, recordFile, handler string, extra ...string) *server {
	t.Helper()
	args := append([]string{"consume", "e2esite.handlers." + handler}, siteArgs(t, "settings")...)
	args = append(args, "--amqp-host", "127.0.0.1", "--amqp-port", "5672")
	args = append(args, extra...)
	s, err := startCommand(serverConfig{wait: waitStartup, env: append(env, "E2E_RECORD="+recordFile)}, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.stop() })
	s.dumpOnFailure(t)
	return s
}

// recorded reads the handler's record: body → how often, and whether a
// repeat was flagged redelivered.
func recorded(t *testing.T, path string) (counts map[string]int, unflaggedRepeats []string) {
	t.Helper()
	counts = map[string]int{}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return counts, nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		body, flag, _ := strings.Cut(sc.Text(), " ")
		counts[body]++
		if counts[body] > 1 && flag != "1" {
			unflaggedRepeats = append(unflaggedRepeats, body)
		}
	}
	return counts, unflaggedRepeats
}

func waitRecorded(t *testing.T, path string, n int, timeout time.Duration) map[string]int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		counts, _ := recorded(t, path)
		if len(counts) >= n {
			return counts
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d distinct messages recorded within %s, want %d", len(counts), timeout, n)
		}
		time.Sleep(100 * time.Millisecond) // polling interval
	}
}

// deadLetters takes every message from the dead-letter queue.
func deadLetters(t *testing.T, conn *amqp.Connection, dead string, want int, timeout time.Duration) []string {
	t.Helper()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	var out []string
	deadline := time.Now().Add(timeout)
	for len(out) < want && time.Now().Before(deadline) {
		m, ok, err := ch.Get(dead, true)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			time.Sleep(50 * time.Millisecond) // polling interval
			continue
		}
		out = append(out, string(m.Body))
	}
	return out
}

func TestConsumeTenThousandWithAPoisonMessage(t *testing.T) {
	conn := requireBroker(t)
	queue, exchange, dlx, dead := testNames(t)
	declareDLX(t, conn, dlx, dead)
	recordFile := filepath.Join(t.TempDir(), "record")
	s := startConsumer(t, recordFile, "RecordingHandler", "--queue", queue, "--exchange", exchange,
		"--queue-arg", "x-dead-letter-exchange="+dlx, "--prefetch", "20")

	const n = 10000
	bodies := make([]string, 0, n+1)
	for i := range n {
		if i == n/2 {
			bodies = append(bodies, "poison")
		}
		bodies = append(bodies, "m"+strconv.Itoa(i))
	}
	start := time.Now()
	publish(t, conn, exchange, queue, bodies, false)
	counts := waitRecorded(t, recordFile, n, 120*time.Second)
	t.Logf("%d messages handled in %s", n, time.Since(start).Round(time.Millisecond))
	for body, c := range counts {
		if c != 1 {
			t.Errorf("%s handled %d times", body, c)
		}
	}
	if counts["poison"] != 0 {
		t.Errorf("poison was recorded")
	}
	if got := deadLetters(t, conn, dead, 1, 10*time.Second); len(got) != 1 || got[0] != "poison" {
		t.Fatalf("dead letters = %v, want [poison]", got)
	}
	if extra := deadLetters(t, conn, dead, 1, 500*time.Millisecond); len(extra) != 0 {
		t.Fatalf("more dead letters: %v", extra)
	}
	fams, _ := scrape(t, s)
	if got, _ := sample(fams, "hurricane_amqp_messages_total", map[string]string{"outcome": "acked"}); got != n {
		t.Errorf("acked = %v, want %d", got, n)
	}
	if got, _ := sample(fams, "hurricane_amqp_messages_total", map[string]string{"outcome": "failed"}); got != 1 {
		t.Errorf("failed = %v, want 1", got)
	}
	waitLog(t, s, 5*time.Second, "the poison traceback", func(r record) bool {
		return r.str("msg") == "handler failed; rejecting the message without requeue" && strings.Contains(r.str("error"), "poison message")
	})
	// SIGINT/SIGTERM: the consumer is cancelled and the process exits 0.
	if err := s.stopWith(syscall.SIGTERM); err != nil {
		t.Fatalf("stopping the consumer: %v", err)
	}
}

func TestConsumeUnsettledIsRequeuedOnceThenDeadLettered(t *testing.T) {
	conn := requireBroker(t)
	queue, exchange, dlx, dead := testNames(t)
	declareDLX(t, conn, dlx, dead)
	recordFile := filepath.Join(t.TempDir(), "record")
	startConsumer(t, recordFile, "ForgetfulHandler", "--queue", queue, "--exchange", exchange,
		"--queue-arg", "x-dead-letter-exchange="+dlx)
	publish(t, conn, exchange, queue, []string{"forgotten"}, false)
	if got := deadLetters(t, conn, dead, 1, 15*time.Second); len(got) != 1 || got[0] != "forgotten" {
		t.Fatalf("dead letters = %v, want [forgotten]", got)
	}
	b, err := os.ReadFile(recordFile)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(b); got != "forgotten 0\nforgotten 1\n" {
		t.Fatalf("handled as %q, want once fresh then once redelivered", got)
	}
}

func TestConsumeSurvivesABrokerRestartWithReconnect(t *testing.T) {
	conn := requireBroker(t)
	rabbitmqctl := requireTool(t, "rabbitmqctl")
	queue, exchange, _, _ := testNames(t)
	recordFile := filepath.Join(t.TempDir(), "record")
	// Handlers take 2 ms, so the broker stops in the middle of consumption.
	s := startConsumerEnv(t, []string{"E2E_HANDLER_SLEEP=0.002"}, recordFile, "RecordingHandler", "--queue", queue,
		"--exchange", exchange, "--durable", "--reconnect", "--prefetch", "5")

	before := make([]string, 2000)
	for i := range before {
		before[i] = "a" + strconv.Itoa(i)
	}
	publish(t, conn, exchange, queue, before, true)
	waitRecorded(t, recordFile, 200, 30*time.Second) // consumption under way

	c := newClient()
	ctl := func(cmd string) {
		if out, err := exec.Command(rabbitmqctl, "-q", cmd).CombinedOutput(); err != nil {
			t.Fatalf("rabbitmqctl %s: %v\n%s", cmd, err, out)
		}
	}
	ctl("stop_app")
	t.Cleanup(func() { _ = exec.Command(rabbitmqctl, "-q", "start_app").Run() })
	if counts, _ := recorded(t, recordFile); len(counts) >= len(before) {
		t.Fatalf("all %d messages were handled before the broker stopped: slow the handler down", len(counts))
	}
	// Probes answer while the broker is away; readiness says not ready.
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := get(t, c, s.probeURL("/ready"))
		if r.resp.StatusCode == http.StatusBadRequest {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readiness still %d 10 s after the broker stopped", r.resp.StatusCode)
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
	for range 5 {
		start := time.Now()
		wantStatus(t, get(t, c, s.probeURL("/alive")), http.StatusOK)
		if d := time.Since(start); d > time.Second {
			t.Fatalf("liveness took %s while the broker was down", d)
		}
		wantStatus(t, get(t, c, s.probeURL("/startup")), http.StatusOK)
	}
	waitLog(t, s, 10*time.Second, "a reconnect attempt", func(r record) bool { return r.str("msg") == "reconnecting to the broker" })
	ctl("start_app")
	conn2, err := amqp.Dial(brokerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	after := make([]string, 1000)
	for i := range after {
		after[i] = "b" + strconv.Itoa(i)
	}
	publish(t, conn2, exchange, queue, after, true)
	waitRecorded(t, recordFile, len(before)+len(after), 90*time.Second)
	counts, unflagged := recorded(t, recordFile)
	for _, b := range append(before, after...) {
		if counts[b] == 0 {
			t.Errorf("%s never handled", b)
		}
	}
	if len(unflagged) > 0 {
		t.Errorf("handled twice without the broker flagging a redelivery: %v", unflagged)
	}
	deadline = time.Now().Add(30 * time.Second)
	for get(t, c, s.probeURL("/ready")).resp.StatusCode != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("readiness not 200 again after the broker came back")
		}
		time.Sleep(100 * time.Millisecond) // polling interval
	}
	// Clean up the durable queue and exchange.
	ch, err := conn2.Channel()
	if err == nil {
		_, _ = ch.QueueDelete(queue, false, false, false)
		_ = ch.ExchangeDelete(exchange, false, false)
		ch.Close()
	}
}

func TestConsumeExitsWhenTheBrokerGoesAwayWithoutReconnect(t *testing.T) {
	requireBroker(t)
	rabbitmqctl := requireTool(t, "rabbitmqctl")
	queue, exchange, _, _ := testNames(t)
	s := startConsumer(t, filepath.Join(t.TempDir(), "record"), "RecordingHandler", "--queue", queue, "--exchange", exchange)
	if out, err := exec.Command(rabbitmqctl, "-q", "stop_app").CombinedOutput(); err != nil {
		t.Fatalf("rabbitmqctl stop_app: %v\n%s", err, out)
	}
	defer func() {
		if out, err := exec.Command(rabbitmqctl, "-q", "start_app").CombinedOutput(); err != nil {
			t.Errorf("rabbitmqctl start_app: %v\n%s", err, out)
		}
	}()
	start := time.Now()
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		t.Fatal("still running 15 s after the broker went away")
	}
	t.Logf("exited %s after the broker stopped: %v", time.Since(start).Round(time.Millisecond), s.err)
	if s.err == nil {
		t.Fatal("exit status 0 after losing the broker, want non-zero")
	}
}
