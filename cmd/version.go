package cmd

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hurricane-run/hurricane/buildinfo"
	"github.com/hurricane-run/hurricane/protocol"
)

// versionInfo is the JSON form of "hurricane version --output json".
type versionInfo struct {
	Version  string `json:"version"`
	Commit   string `json:"commit"`
	Date     string `json:"date"`
	Go       string `json:"go"`
	Platform string `json:"platform"`
	Protocol int    `json:"protocol"`
}

func newVersionCmd(f *factory) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit, Go and protocol version of this binary",
		Long: "Print the version, the commit it was built from, the commit date, the Go version\n" +
			"and platform, and the version of the protocol spoken with the Python workers.\n" +
			"A build that is not a release says \"dev\"; what the build did not record is\n" +
			"\"unknown\".",
		Example: "  hurricane version\n  hurricane version --output json",
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			bi := buildinfo.Read()
			v := versionInfo{Version: bi.Version, Commit: bi.Commit, Date: bi.Date, Go: bi.Go, Platform: bi.Platform, Protocol: protocol.Version}
			switch output {
			case "text":
				fmt.Fprintf(f.stdout, "hurricane %s (commit %s, built %s, %s %s, protocol %d)\n",
					v.Version, v.Commit, v.Date, v.Go, v.Platform, v.Protocol)
				return nil
			case "json":
				enc := json.NewEncoder(f.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(v)
			}
			return usagef("--output %q: use text or json", output)
		},
	}
	c.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	markNoConfig(c.Flags(), "output")
	return c
}
