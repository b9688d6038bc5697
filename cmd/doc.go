// Package cmd wires the hurricane command line: cobra commands, flags,
// configuration resolution with viper, logging, signals and exit codes. It
// is the only package that imports cobra or viper.
package cmd
