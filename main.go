// Command hurricane runs Django the Kubernetes way.
package main

import (
	"os"

	"github.com/hurricane-run/hurricane/cmd"
)

func main() {
	os.Exit(cmd.Execute(os.Args[1:]))
}
