package cmd

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/hurricane-run/hurricane/probe"
)

type probeOptions struct {
	which          string
	port           int
	iface          string
	timeout        time.Duration
	startupProbe   string
	readinessProbe string
	livenessProbe  string
}

func newProbeCmd(f *factory) *cobra.Command {
	o := &probeOptions{}
	c := &cobra.Command{
		Use:   "probe startup|readiness|liveness",
		Short: "Ask a running server's probe and exit 0 if it is healthy",
		Long: "Call the startup, readiness or liveness probe of a running hurricane server and\n" +
			"print its status and body. Exit 0 on a 2xx answer, 3 otherwise (or when there is\n" +
			"no answer): for exec probes, Docker HEALTHCHECK and CI. Never starts Python.\n\n" +
			"Flags can also come from HURRICANE_<FLAG> in the environment.",
		Example:   "  hurricane probe readiness\n  hurricane probe liveness --probe-port 9001 --timeout 2s",
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"startup", "readiness", "liveness"},
		RunE: func(c *cobra.Command, args []string) error {
			o.which = args[0]
			if err := newConfigResolver(c.Flags(), f.environ()).bootstrap(); err != nil {
				return err
			}
			return runProbe(c.Context(), f, o)
		},
	}
	fs := c.Flags()
	fs.IntVar(&o.port, "probe-port", 8001, "the server's probe port")
	fs.StringVar(&o.iface, "interface", "127.0.0.1", "the server's address")
	durationVar(fs, &o.timeout, "timeout", 5*time.Second, "how long to wait for an answer")
	fs.StringVar(&o.startupProbe, "startup-probe", "/startup", "startup probe path")
	fs.StringVar(&o.readinessProbe, "readiness-probe", "/ready", "readiness probe path")
	fs.StringVar(&o.livenessProbe, "liveness-probe", "/alive", "liveness probe path")
	// Everything here is read before anything else runs: flag > environment > default.
	markBootstrap(fs, "probe-port", "interface", "timeout", "startup-probe", "readiness-probe", "liveness-probe")
	return c
}

func runProbe(ctx context.Context, f *factory, o *probeOptions) error {
	var path string
	switch o.which {
	case "startup":
		path = o.startupProbe
	case "readiness":
		path = o.readinessProbe
	case "liveness":
		path = o.livenessProbe
	default:
		return usagef("unknown probe %q: use startup, readiness or liveness", o.which)
	}
	iface := o.iface
	if iface == "" || iface == "0.0.0.0" || iface == "::" {
		iface = "127.0.0.1"
	}
	res, err := probe.Call(ctx, iface, o.port, path, o.timeout)
	if err != nil {
		fmt.Fprintf(f.stdout, "no answer: %v\n", err)
		return &exitCodeError{code: exitUnhealthy, err: fmt.Errorf("%s probe: no answer", o.which)}
	}
	fmt.Fprintf(f.stdout, "%d %s\n", res.Status, res.Body)
	if !res.Healthy() {
		return &exitCodeError{code: exitUnhealthy, err: fmt.Errorf("%s probe answered %d", o.which, res.Status)}
	}
	return nil
}
