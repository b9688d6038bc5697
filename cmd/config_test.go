package cmd

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

type testOpts struct {
	port      int
	processes int
	static    bool
	cmds      []string
	size      int64
	python    string
}

func testFlags(o *testOpts) *pflag.FlagSet {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs.IntVar(&o.port, "port", 8000, "")
	fs.BoolVar(&o.static, "static", false, "")
	fs.StringSliceVar(&o.cmds, "command", nil, "")
	fs.Int64Var(&o.size, "max-body-size", 100, "")
	fs.StringVar(&o.python, "python", "", "")
	fs.IntVar(&o.processes, "processes", 1, "")
	markBootstrap(fs, "python")
	return fs
}

func TestConfigPrecedence(t *testing.T) {
	cases := []struct {
		name     string
		args     []string
		env      []string
		settings map[string]any
		want     testOpts
		warn     string
	}{
		{name: "defaults", want: testOpts{port: 8000, size: 100}},
		{name: "environment", env: []string{"HURRICANE_PORT=7000", "HURRICANE_STATIC=yes"}, want: testOpts{port: 7000, static: true, size: 100}},
		{name: "settings beat environment", env: []string{"HURRICANE_PORT=7000"}, settings: map[string]any{"HURRICANE_PORT": float64(6000)}, want: testOpts{port: 6000, size: 100}},
		{name: "flag beats settings", args: []string{"--port", "5000"}, settings: map[string]any{"HURRICANE_PORT": float64(6000)}, want: testOpts{port: 5000, size: 100}},
		{name: "a flag given with its default value is given", args: []string{"--port", "8000"}, settings: map[string]any{"HURRICANE_PORT": float64(6000)}, want: testOpts{port: 8000, size: 100}},
		{name: "prefixed setting beats legacy", settings: map[string]any{"HURRICANE_PORT": float64(6000), "PORT": float64(6572)}, want: testOpts{port: 6000, size: 100}},
		{name: "legacy setting warns", settings: map[string]any{"PORT": float64(6572)}, want: testOpts{port: 6572, size: 100}, warn: "deprecated setting name"},
		{name: "legacy setting beats environment", env: []string{"HURRICANE_PORT=7000"}, settings: map[string]any{"PORT": float64(6572)}, want: testOpts{port: 6572, size: 100}, warn: "HURRICANE_PORT"},
		{name: "env false is false", env: []string{"HURRICANE_STATIC=False"}, want: testOpts{port: 8000, size: 100}},
		{name: "env list separated by semicolons", env: []string{"HURRICANE_COMMAND=check; migrate --noinput"}, want: testOpts{port: 8000, size: 100, cmds: []string{"check", "migrate --noinput"}}},
		{name: "legacy nested command lists", settings: map[string]any{"COMMAND": []any{[]any{"migrate", "--noinput"}, []any{"check"}}}, want: testOpts{port: 8000, size: 100, cmds: []string{"migrate --noinput", "check"}}, warn: "COMMAND"},
		{name: "settings bool", settings: map[string]any{"HURRICANE_STATIC": true}, want: testOpts{port: 8000, static: true, size: 100}},
		{name: "None in settings means unset", env: []string{"HURRICANE_PORT=7000"}, settings: map[string]any{"HURRICANE_PORT": nil}, want: testOpts{port: 7000, size: 100}},
		{name: "bootstrap from environment", env: []string{"HURRICANE_PYTHON=/opt/py"}, want: testOpts{port: 8000, size: 100, python: "/opt/py"}},
		{name: "a flag 1.6.2 did not have reads no unprefixed setting", settings: map[string]any{"PROCESSES": float64(9)}, want: testOpts{port: 8000, size: 100}},
		{name: "a flag 1.6.2 did not have reads its prefixed setting", settings: map[string]any{"HURRICANE_PROCESSES": float64(9)}, want: testOpts{port: 8000, size: 100, processes: 9}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var o testOpts
			fs := testFlags(&o)
			if err := fs.Parse(c.args); err != nil {
				t.Fatal(err)
			}
			r := newConfigResolver(fs, c.env)
			if err := r.bootstrap(); err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			if err := r.apply(c.settings, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
				t.Fatal(err)
			}
			if c.want.processes == 0 {
				c.want.processes = 1 // the default
			}
			if o.port != c.want.port || o.static != c.want.static || o.size != c.want.size || o.python != c.want.python || o.processes != c.want.processes ||
				strings.Join(o.cmds, "|") != strings.Join(c.want.cmds, "|") {
				t.Fatalf("got %+v, want %+v", o, c.want)
			}
			if c.warn != "" && !strings.Contains(logs.String(), c.warn) {
				t.Fatalf("log %q does not mention %q", logs.String(), c.warn)
			}
			if c.warn == "" && logs.Len() > 0 {
				t.Fatalf("unexpected log: %s", logs.String())
			}
		})
	}
}

func TestConfigBadValuesAreUsageErrors(t *testing.T) {
	cases := []struct {
		name     string
		env      []string
		settings map[string]any
		want     string
	}{
		{name: "env int", env: []string{"HURRICANE_PORT=abc"}, want: "environment variable HURRICANE_PORT"},
		{name: "env bool", env: []string{"HURRICANE_STATIC=maybe"}, want: "environment variable HURRICANE_STATIC"},
		{name: "settings int", settings: map[string]any{"HURRICANE_MAX_BODY_SIZE": "big"}, want: "Django setting HURRICANE_MAX_BODY_SIZE"},
		{name: "settings list for a scalar", settings: map[string]any{"PORT": []any{float64(1)}}, want: "Django setting PORT"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var o testOpts
			fs := testFlags(&o)
			r := newConfigResolver(fs, c.env)
			err := r.apply(c.settings, slog.New(slog.NewTextHandler(io.Discard, nil)))
			var ue *usageError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v, want a usage error", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %q does not name %q", err, c.want)
			}
		})
	}
}

func TestSettingNamesCoverNonBootstrapFlags(t *testing.T) {
	var o testOpts
	r := newConfigResolver(testFlags(&o), nil)
	got := strings.Join(r.settingNames(), " ")
	for _, want := range []string{"HURRICANE_PORT", "PORT", "HURRICANE_STATIC", "COMMAND"} {
		if !strings.Contains(got, want) {
			t.Errorf("settingNames() = %q, missing %s", got, want)
		}
	}
	if strings.Contains(got, "PYTHON") {
		t.Errorf("bootstrap flag in settingNames(): %q", got)
	}
}

func TestServeFlagsReachOptions(t *testing.T) {
	var got *serveOptions
	f := &factory{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" },
		environ: func() []string {
			return []string{"HURRICANE_LOG_LEVEL=WARNING", "DJANGO_SETTINGS_MODULE=site.settings"}
		},
		serveRun: func(_ context.Context, o *serveOptions) error { got = o; return nil }}
	if code := execute(f, []string{"serve", "--port", "9000", "--processes", "2", "--forwarded-allow-ips", "10.0.0.0/8,127.0.0.1"}); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if got.port != 9000 || got.processes != 2 || len(got.forwardedAllowIPs) != 2 || got.settings != "site.settings" || got.log.level.level != slog.LevelWarn {
		t.Fatalf("options = %+v", got)
	}
}

func TestExitCodes(t *testing.T) {
	f := &factory{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }, environ: func() []string { return nil },
		serveRun: func(context.Context, *serveOptions) error { return errors.New("boom") }}
	cases := []struct {
		args []string
		want int
	}{
		{[]string{"serve", "--bogus"}, exitUsage},
		{[]string{"bogus"}, exitUsage},
		{[]string{"serve"}, exitFailure},
		{[]string{"--help"}, exitOK},
	}
	for _, c := range cases {
		if got := execute(f, c.args); got != c.want {
			t.Errorf("%v: exit %d, want %d", c.args, got, c.want)
		}
	}
}

func TestVerbositySetsTheLogLevel(t *testing.T) {
	cases := []struct {
		args []string
		env  []string
		want string
		err  string
	}{
		{want: "info"},
		{args: []string{"-v", "0"}, want: "warn"},
		{args: []string{"--verbosity", "2"}, want: "debug"},
		{args: []string{"-v", "3"}, env: []string{"HURRICANE_LOG_LEVEL=error"}, want: "debug"},
		{args: []string{"-v", "0", "--log-level", "debug"}, want: "debug"},
		{env: []string{"HURRICANE_LOG_LEVEL=error"}, want: "error"},
		{args: []string{"-v", "4"}, err: "-v/--verbosity"},
	}
	for _, c := range cases {
		t.Run(strings.Join(append(c.args, c.env...), " "), func(t *testing.T) {
			cmd := newServeCmd(defaultFactory())
			if err := cmd.Flags().Parse(c.args); err != nil {
				t.Fatal(err)
			}
			err := newConfigResolver(cmd.Flags(), c.env).bootstrap()
			if c.err != "" {
				var u *usageError
				if !errors.As(err, &u) || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("got %v, want a usage error about %s", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cmd.Flags().Lookup("log-level").Value.String(); got != c.want {
				t.Fatalf("log level %q, want %q", got, c.want)
			}
		})
	}
}
