package testscripts

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/hurricane-run/hurricane/buildinfo"
	"github.com/hurricane-run/hurricane/cmd"
)

var update = flag.Bool("update", false, "rewrite the files that cmp compares stdout or stderr with in the scripts")

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"hurricane": func() { os.Exit(cmd.Execute(os.Args[1:])) },
	})
}

// TestScripts runs every .txtar file here. Scripts that start Python get
// its path as $PYTHON (a Python with Django, from the test script). With
// -update, a failing "cmp stdout FILE" rewrites FILE in its script:
// go test ./testscripts -run TestScripts/NAME -update.
func TestScripts(t *testing.T) {
	python := os.Getenv("HURRICANE_TEST_PYTHON")
	testscript.Run(t, testscript.Params{
		Dir:                 ".",
		RequireExplicitExec: true,
		UpdateScripts:       *update,
		Setup: func(env *testscript.Env) error {
			env.Setenv("PYTHON", python)
			// What "hurricane version" reports depends on how the test
			// binary was built (VCS stamping, a tag), so golden files
			// compared with cmpenv name these.
			bi := buildinfo.Read()
			env.Setenv("BUILD_VERSION", bi.Version)
			env.Setenv("BUILD_COMMIT", bi.Commit)
			env.Setenv("BUILD_DATE", bi.Date)
			env.Setenv("BUILD_GO", bi.Go)
			env.Setenv("BUILD_PLATFORM", bi.Platform)
			env.Setenv("HOME", env.WorkDir)
			env.Setenv("XDG_CACHE_HOME", env.WorkDir+"/.cache")
			return nil
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "django":
				if python == "" && os.Getenv("HURRICANE_E2E_REQUIRED") == "1" {
					return false, errors.New("HURRICANE_TEST_PYTHON is required")
				}
				return python != "", nil
			case "rabbitmq":
				// scripts/rabbitmq starts one for the test script.
				c, err := net.DialTimeout("tcp", "127.0.0.1:5672", time.Second)
				if err != nil {
					if os.Getenv("HURRICANE_E2E_REQUIRED") == "1" {
						return false, fmt.Errorf("no RabbitMQ at 127.0.0.1:5672 (scripts/rabbitmq starts it): %w", err)
					}
					return false, nil
				}
				c.Close()
				return true, nil
			}
			return false, errors.New("unknown condition " + cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exits":     cmdExits,
			"freeport":  cmdFreePort,
			"waitprobe": cmdWaitProbe,
			"amqpqueue": cmdAMQPQueue,
		},
	})
}

// cmdExits runs a program and checks its exit code: exits N prog args...
// Its output becomes stdout and stderr for the following assertions.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE program [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: bad code %q", args[0])
	}
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		got = ee.ExitCode()
	case err != nil:
		ts.Fatalf("exits: %v", err)
	}
	if got != want {
		ts.Fatalf("exit code %d, want %d", got, want)
	}
}

// cmdFreePort sets an environment variable to a free TCP port on 127.0.0.1:
// freeport NAME.
func cmdFreePort(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: freeport NAME")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ts.Fatalf("freeport: %v", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ts.Setenv(args[0], strconv.Itoa(port))
}

// cmdWaitProbe polls http://127.0.0.1:PORT/PATH until it answers STATUS
// (default 200), for at most 60 s: waitprobe PORT PATH [STATUS]. For servers
// started in the background, and for probes, which answer from checks up to
// ~2 s old, to turn.
func cmdWaitProbe(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: waitprobe PORT PATH [STATUS]")
	}
	want := http.StatusOK
	if len(args) == 3 {
		n, err := strconv.Atoi(args[2])
		if err != nil {
			ts.Fatalf("waitprobe: STATUS %q is not a number", args[2])
		}
		want = n
	}
	url := fmt.Sprintf("http://127.0.0.1:%s%s", args[0], args[1])
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == want {
				return
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			ts.Fatalf("waitprobe: %s did not answer %d within 60s: %v", url, want, err)
		}
		time.Sleep(100 * time.Millisecond) // polling interval
	}
}

// cmdAMQPQueue declares a queue on the test broker, with arguments:
// amqpqueue NAME [KEY=VALUE...]. It is deleted when the script ends.
func cmdAMQPQueue(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: amqpqueue NAME [KEY=VALUE...]")
	}
	conn, err := amqp.Dial("amqp://guest:guest@127.0.0.1:5672/")
	ts.Check(err)
	ch, err := conn.Channel()
	ts.Check(err)
	table := amqp.Table{}
	for _, kv := range args[1:] {
		k, v, _ := strings.Cut(kv, "=")
		table[k] = v
	}
	_, err = ch.QueueDeclare(args[0], false, false, false, false, table)
	ts.Check(err)
	ts.Defer(func() {
		_, _ = ch.QueueDelete(args[0], false, false, false)
		conn.Close()
	})
}
