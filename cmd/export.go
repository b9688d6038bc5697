package cmd

import "github.com/spf13/cobra"

// NewCommand returns the command tree the binary runs, without running it.
// The manifests test in deploy/ parses a container's args with it, so the
// flags and defaults it checks against are the real ones.
func NewCommand() *cobra.Command { return newRootCmd(defaultFactory()) }
