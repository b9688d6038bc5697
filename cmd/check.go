package cmd

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hurricane-run/hurricane/protocol"
	"github.com/hurricane-run/hurricane/worker"
)

type checkOptions struct {
	serve      serveOptions // only the bootstrap flags are used
	tags       []string
	deploy     bool
	failLevel  string
	databases  []string
	migrations bool
	probes     bool
}

func newCheckCmd(f *factory) *cobra.Command {
	o := &checkOptions{serve: serveOptions{log: logOptions{format: logFormat{"text"}}}}
	o.serve.log.level.level = 8 // errors only: the findings are the output
	c := &cobra.Command{
		Use:   "check",
		Short: "Run Django's system checks, migrations and probe checks",
		Long: "Run Django's system check framework in a worker, as manage.py check does, and\n" +
			"optionally fail on unapplied migrations (--migrations) or run the liveness and\n" +
			"readiness checks exactly as the probes would (--probes). Exit 0 when clean, 1\n" +
			"otherwise: for CI smoke checks and init containers.",
		Example: "  hurricane check --deploy\n  hurricane check --migrations --probes --fail-level WARNING",
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := newConfigResolver(c.Flags(), f.environ()).bootstrap(); err != nil {
				return err
			}
			switch strings.ToUpper(o.failLevel) {
			case "CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG":
			default:
				return usagef("--fail-level %q: use CRITICAL, ERROR, WARNING, INFO or DEBUG", o.failLevel)
			}
			return runCheck(c.Context(), f, o)
		},
	}
	fs := c.Flags()
	fs.StringArrayVar(&o.tags, "tag", nil, "run only checks with this tag (repeatable)")
	fs.BoolVar(&o.deploy, "deploy", false, "include deployment checks")
	fs.StringVar(&o.failLevel, "fail-level", "ERROR", "message level that fails the check: CRITICAL, ERROR, WARNING, INFO or DEBUG")
	fs.StringArrayVar(&o.databases, "database", nil, "run database checks on this alias (repeatable)")
	fs.BoolVar(&o.migrations, "migrations", false, "fail on unapplied migrations")
	fs.BoolVar(&o.probes, "probes", false, "also run the liveness and readiness checks as the probes do")
	// Only the bootstrap flags are resolved from the environment here.
	markNoConfig(fs, "tag", "deploy", "fail-level", "database", "migrations", "probes")
	addBootstrapFlags(c, &o.serve)
	return c
}

func runCheck(ctx context.Context, f *factory, o *checkOptions) error {
	log := newLogger(f.stderr, &o.serve.log)
	dir, err := os.Getwd()
	if err != nil {
		return err
	}
	settings, err := worker.FindSettings(dir, o.serve.settings)
	if err != nil {
		return err
	}
	pool, err := worker.New(worker.Config{Python: o.serve.python, Settings: settings, PythonPath: o.serve.pythonPath, Dir: dir}, log)
	if err != nil {
		return err
	}
	defer pool.Close()
	w, err := pool.Setup(ctx)
	if err != nil {
		return err
	}
	defer w.Stop(5 * time.Second)

	failed := false
	res, err := w.Checks(ctx, protocol.CheckArgs{Tags: o.tags, Deploy: o.deploy, Databases: o.databases, FailLevel: strings.ToUpper(o.failLevel), ValidateTags: true})
	if err != nil {
		return fmt.Errorf("run system checks: %w", err)
	}
	printFindings(f.stdout, res)
	failed = res.Failed

	if o.migrations {
		n, err := w.PendingMigrations(ctx)
		switch {
		case err != nil:
			fmt.Fprintf(f.stdout, "Migrations: could not check: %v\n", err)
			failed = true
		case n > 0:
			fmt.Fprintf(f.stdout, "Migrations: %d unapplied (run manage.py migrate).\n", n)
			failed = true
		default:
			fmt.Fprintln(f.stdout, "Migrations: all applied.")
		}
	}
	if o.probes {
		for _, tag := range []string{"liveness", "readiness"} {
			r, err := w.Checks(ctx, protocol.CheckArgs{Tags: []string{tag}, Deploy: true})
			switch {
			case err != nil:
				fmt.Fprintf(f.stdout, "Probe %s checks: error: %v\n", tag, err)
				failed = true
			case r.Failed:
				fmt.Fprintf(f.stdout, "Probe %s checks: failed\n", tag)
				printFindings(f.stdout, r)
				failed = true
			default:
				fmt.Fprintf(f.stdout, "Probe %s checks: ok\n", tag)
			}
		}
		errs, err := w.Databases(ctx, nil)
		switch {
		case err != nil:
			fmt.Fprintf(f.stdout, "Probe databases: error: %v\n", err)
			failed = true
		case len(errs) > 0:
			for alias, e := range errs {
				fmt.Fprintf(f.stdout, "Probe databases: %s: %s\n", alias, e)
			}
			failed = true
		default:
			fmt.Fprintln(f.stdout, "Probe databases: ok")
		}
	}
	if failed {
		return &exitCodeError{code: exitFailure, err: fmt.Errorf("checks failed")}
	}
	return nil
}

// printFindings prints check messages the way manage.py check does.
func printFindings(w io.Writer, res protocol.CheckResult) {
	if len(res.Messages) == 0 {
		fmt.Fprintf(w, "System check identified no issues (%d silenced).\n", res.Silenced)
		return
	}
	fmt.Fprintln(w, "System check identified some issues:")
	for _, group := range []struct{ tag, title string }{
		{"CRITICAL", "CRITICALS"}, {"ERROR", "ERRORS"}, {"WARNING", "WARNINGS"}, {"INFO", "INFOS"}, {"DEBUG", "DEBUGS"},
	} {
		var lines []string
		for _, m := range res.Messages {
			if m.LevelTag == group.tag {
				lines = append(lines, m.Text)
			}
		}
		if len(lines) > 0 {
			fmt.Fprintf(w, "\n%s:\n%s\n", group.title, strings.Join(lines, "\n"))
		}
	}
	fmt.Fprintf(w, "\nSystem check identified %d issues (%d silenced).\n", len(res.Messages), res.Silenced)
}
