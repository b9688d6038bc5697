// Package testscripts holds the command-line scenarios of hurricane as
// testscript (.txtar) files; one driver runs every file in this directory.
package testscripts
