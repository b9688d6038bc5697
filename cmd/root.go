package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/hurricane-run/hurricane/serve"
)

// Exit codes, for every command (SPEC: one table).
const (
	exitOK        = 0
	exitFailure   = 1
	exitUsage     = 2
	exitUnhealthy = 3
)

// usageError is a mistake in the command line or configuration: exit 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// exitCodeError carries an exit code other than 1.
type exitCodeError struct {
	code int
	err  error
}

func (e *exitCodeError) Error() string { return e.err.Error() }
func (e *exitCodeError) Unwrap() error { return e.err }

// newRootCmd builds the command tree. Tests pass hooks through f.
func newRootCmd(f *factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "hurricane",
		Short: "Run Django the Kubernetes way",
		Long: "Hurricane runs a Django project behind a Go front end: HTTP, static files, probes,\n" +
			"metrics and process supervision in Go; Django in Python worker processes.",
		Example:       "  hurricane serve --port 8000\n  hurricane serve --processes 2 --settings mysite.settings",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &usageError{fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())}
	})
	root.AddCommand(newServeCmd(f), newConsumeCmd(f), newProbeCmd(f), newCheckCmd(f),
		newVersionCmd(f), newCompletionCmd(f), newManCmd(f))
	return root
}

// factory carries what commands need from the outside, so tests can replace it.
type factory struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	environ        func() []string
	serveRun       func(context.Context, *serveOptions) error
}

func defaultFactory() *factory {
	return &factory{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, environ: os.Environ}
}

// Execute runs the command line and returns the process exit code.
func Execute(args []string) int {
	if os.Getenv("GOMEMLIMIT") == "" {
		// The front end's own memory stays small (bench/run checks it under
		// 40 MB) by collecting sooner as the heap nears this; Go's usual
		// rule (the heap may double before a collection) lets bursts of
		// uploads take twice that. GOMEMLIMIT overrides it.
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	return execute(defaultFactory(), args)
}

// defaultMemoryLimit is the Go heap's soft limit unless GOMEMLIMIT is set.
const defaultMemoryLimit = 24 << 20

func execute(f *factory, args []string) int {
	ctx, stop := signalContext()
	defer stop()
	root := newRootCmd(f)
	root.SetArgs(args)
	root.SetOut(f.stdout)
	root.SetErr(f.stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(f.stderr, "Error: %v\n", err)
	var ue *usageError
	var ce *exitCodeError
	switch {
	case errors.As(err, &ue), isCobraUsage(err):
		return exitUsage
	case errors.As(err, &ce):
		return ce.code
	}
	return exitFailure
}

// isCobraUsage recognises cobra's own argument errors, which are plain errors.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "accepts ", "requires at least", "requires at most", "unknown flag", "unknown shorthand"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// signalContext is cancelled by the first SIGINT or SIGTERM; a second one
// exits at once with 128+N.
func signalContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-ch:
			cancel(signalError{sig})
		case <-done:
			return
		}
		select {
		case sig := <-ch:
			os.Exit(128 + int(sig.(syscall.Signal)))
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(nil)
	}
}

// signalError is the cause of a context cancelled by a signal.
type signalError struct{ sig os.Signal }

func (e signalError) Error() string { return "received " + e.sig.String() }

// Unwrap makes SIGINT (Ctrl-C) an interruption: shutdown skips the delay.
func (e signalError) Unwrap() error {
	if e.sig == os.Interrupt {
		return serve.ErrInterrupted
	}
	return nil
}
