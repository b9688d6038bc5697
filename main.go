// Command hurricane runs Django the Kubernetes way.
package main

import (
	"os"

	"github.com/hurricane-run/hurricane/cmd"
	"github.com/hurricane-run/hurricane/reap"
)

func main() {
	if reap.IsInit() {
		// A container's PID 1: reap orphans and forward signals to a copy
		// of this process that does the work (see package reap).
		os.Exit(reap.Main())
	}
	os.Exit(cmd.Execute(os.Args[1:]))
}
