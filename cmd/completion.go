package cmd

import (
	"slices"

	"github.com/spf13/cobra"
)

func newCompletionCmd(f *factory) *cobra.Command {
	var noDescriptions bool
	c := &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print the shell completion script for bash, zsh, fish or PowerShell",
		Long: "Print the completion script for a shell to stdout. Load it in the current shell,\n" +
			"or install it where the shell finds completions (the release archives carry\n" +
			"all four; the Debian package installs bash, zsh and fish):\n\n" +
			"    bash        source <(hurricane completion bash)\n" +
			"                hurricane completion bash > /etc/bash_completion.d/hurricane\n" +
			"                (needs the bash-completion package)\n" +
			"    zsh         hurricane completion zsh > \"${fpath[1]}/_hurricane\"\n" +
			"                (with compinit enabled in ~/.zshrc)\n" +
			"    fish        hurricane completion fish > ~/.config/fish/completions/hurricane.fish\n" +
			"    powershell  hurricane completion powershell | Out-String | Invoke-Expression",
		Example: "  source <(hurricane completion bash)\n  hurricane completion zsh > \"${fpath[1]}/_hurricane\"",
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 1 || !slices.Contains(c.ValidArgs, args[0]) {
				return usagef("name one shell: bash, zsh, fish or powershell (see '%s --help')", c.CommandPath())
			}
			return nil
		},
		ValidArgs:             []string{"bash", "zsh", "fish", "powershell"},
		DisableFlagsInUseLine: true,
		RunE: func(c *cobra.Command, args []string) error {
			root, out := c.Root(), f.stdout
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(out, !noDescriptions)
			case "zsh":
				if noDescriptions {
					return root.GenZshCompletionNoDesc(out)
				}
				return root.GenZshCompletion(out)
			case "fish":
				return root.GenFishCompletion(out, !noDescriptions)
			default:
				if noDescriptions {
					return root.GenPowerShellCompletion(out)
				}
				return root.GenPowerShellCompletionWithDesc(out)
			}
		},
	}
	c.Flags().BoolVar(&noDescriptions, "no-descriptions", false, "complete without descriptions of the commands and flags")
	markNoConfig(c.Flags(), "no-descriptions")
	return c
}
