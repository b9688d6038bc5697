// Package python embeds the hurricane Python package, so the binary always
// runs the worker that matches it.
package python

import "embed"

// Package holds the hurricane package's source files, rooted at "hurricane".
//
//go:embed hurricane/*.py hurricane/*/*.py
var Package embed.FS
