package cmd

import (
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// Configuration has one mechanism for every flag (SPEC §2):
//
//   - bootstrap flags (needed before Python runs): flag > environment > default;
//   - every other flag, after a settings snapshot from the project: flag given
//     on the command line > HURRICANE_<NAME> in Django settings > the legacy
//     unprefixed setting (deprecated, warned) > HURRICANE_<NAME> in the
//     environment > default.
//
// Values from settings and the environment are parsed by the flag's own
// type, so a bad value is a usage error that names where it came from.

// annotation keys on pflag.Flag.Annotations.
const (
	annBootstrap = "hurricane/bootstrap" // resolved before Python runs
	annEnv       = "hurricane/env"       // environment variable, if not HURRICANE_<NAME>
	annNoConfig  = "hurricane/no-config" // only ever from the command line
	annNoLegacy  = "hurricane/no-legacy" // the unprefixed name means something else
	annSetting   = "hurricane/setting"   // the Django setting, if not HURRICANE_<NAME>
)

// markSetting reads a flag from one Django setting of its own name (AMQP_HOST
// for --amqp-host, as 1.6.2), with no deprecation.
func markSetting(fs *pflag.FlagSet, name, setting string) {
	_ = fs.SetAnnotation(name, annSetting, []string{setting})
}

// markNoLegacy stops a flag from reading its unprefixed 1.6.2 setting, for
// names Django itself uses: DEBUG no longer means --debug.
func markNoLegacy(fs *pflag.FlagSet, names ...string) {
	for _, n := range names {
		_ = fs.SetAnnotation(n, annNoLegacy, []string{"true"})
	}
}

// legacyFlags are django-hurricane 1.6.2's serve options: their unprefixed
// setting names (PORT, STATIC, …) are still read, deprecated. Flags 1.6.2
// did not have read only HURRICANE_<NAME>, so a project's own setting that
// happens to be called PROCESSES or QUEUE is not taken for hurricane's.
var legacyFlags = map[string]bool{
	"port": true, "static": true, "media": true, "autoreload": true, "no-probe": true,
	"no-metrics": true, "check-migrations": true, "check-migrations-apply": true,
	"debugger": true, "debugger-port": true, "metrics": true, "liveness-probe": true,
	"readiness-probe": true, "startup-probe": true, "probe-port": true,
	"req-queue-len": true, "command": true, "webhook-url": true, "max-lifetime": true,
	"max-memory": true, "workers": true, "static-watch": true, "pycharm-host": true,
	"pycharm-port": true, "max-body-size": true, "max-buffer-size": true, "log-probes": true,
}

func hasLegacy(f *pflag.Flag) bool {
	return legacyFlags[f.Name] && len(f.Annotations[annNoLegacy]) == 0
}

func markBootstrap(fs *pflag.FlagSet, names ...string) {
	for _, n := range names {
		_ = fs.SetAnnotation(n, annBootstrap, []string{"true"})
	}
}

func markEnv(fs *pflag.FlagSet, name, env string) {
	_ = fs.SetAnnotation(name, annEnv, []string{env})
}

func markNoConfig(fs *pflag.FlagSet, names ...string) {
	for _, n := range names {
		_ = fs.SetAnnotation(n, annNoConfig, []string{"true"})
	}
}

// settingName is the prefixed name of a flag in settings and the environment.
func settingName(flag string) string {
	return "HURRICANE_" + legacyName(flag)
}

// legacyName is the unprefixed 1.6.2 setting name.
func legacyName(flag string) string {
	return strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

func envName(f *pflag.Flag) string {
	if v := f.Annotations[annEnv]; len(v) > 0 {
		return v[0]
	}
	return settingName(f.Name)
}

func isBootstrap(f *pflag.Flag) bool { return len(f.Annotations[annBootstrap]) > 0 }
func isConfigurable(f *pflag.Flag) bool {
	return len(f.Annotations[annNoConfig]) == 0 && f.Name != "help"
}

// configResolver applies settings and environment values to unset flags.
type configResolver struct {
	flags *pflag.FlagSet
	env   *viper.Viper
}

func newConfigResolver(fs *pflag.FlagSet, environ []string) *configResolver {
	env := viper.New()
	for _, kv := range environ {
		// An empty value counts as unset, as a Kubernetes env entry without
		// a value or a shell's VAR= means.
		if k, v, ok := strings.Cut(kv, "="); ok && v != "" {
			env.Set(k, v)
		}
	}
	return &configResolver{flags: fs, env: env}
}

// bootstrap resolves the bootstrap flags from the environment.
func (r *configResolver) bootstrap() error {
	if err := r.verbosity(); err != nil {
		return err
	}
	var err error
	r.flags.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || !isBootstrap(f) || !isConfigurable(f) {
			return
		}
		name := envName(f)
		if r.env.IsSet(name) {
			err = setFlag(f, r.env.GetString(name), "environment variable "+name, true)
		}
	})
	return err
}

// verbosity turns manage.py's -v, given on the command line, into the log
// level, unless --log-level is given too.
func (r *configResolver) verbosity() error {
	v, level := r.flags.Lookup("verbosity"), r.flags.Lookup("log-level")
	if v == nil || level == nil || !v.Changed || level.Changed {
		return nil
	}
	names := map[string]string{"0": "warning", "1": "info", "2": "debug", "3": "debug"}
	name, ok := names[v.Value.String()]
	if !ok {
		return usagef("invalid value %q for -v/--verbosity (use 0, 1, 2 or 3)", v.Value.String())
	}
	return r.flags.Set("log-level", name)
}

// settingNames lists the Django settings the snapshot must read.
func (r *configResolver) settingNames() []string {
	var names []string
	r.flags.VisitAll(func(f *pflag.Flag) {
		if isBootstrap(f) || !isConfigurable(f) {
			return
		}
		if v := f.Annotations[annSetting]; len(v) > 0 {
			names = append(names, v[0])
			return
		}
		names = append(names, settingName(f.Name))
		if hasLegacy(f) {
			names = append(names, legacyName(f.Name))
		}
	})
	sort.Strings(names)
	return names
}

// apply resolves every non-bootstrap flag from the settings snapshot and the
// environment.
func (r *configResolver) apply(settings map[string]any, log *slog.Logger) error {
	var err error
	r.flags.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || isBootstrap(f) || !isConfigurable(f) {
			return
		}
		prefixed, legacy := settingName(f.Name), legacyName(f.Name)
		own := ""
		if v := f.Annotations[annSetting]; len(v) > 0 {
			own = v[0]
		}
		switch {
		case own != "" && hasKey(settings, own):
			err = setFlagFromSetting(f, settings[own], "Django setting "+own)
		case own != "":
			if r.env.IsSet(envName(f)) {
				err = setFlag(f, r.env.GetString(envName(f)), "environment variable "+envName(f), true)
			}
		case hasKey(settings, prefixed):
			err = setFlagFromSetting(f, settings[prefixed], "Django setting "+prefixed)
		case hasLegacy(f) && hasKey(settings, legacy):
			log.Warn("deprecated setting name", "setting", legacy, "use", prefixed)
			err = setFlagFromSetting(f, settings[legacy], "Django setting "+legacy)
		case r.env.IsSet(envName(f)):
			err = setFlag(f, r.env.GetString(envName(f)), "environment variable "+envName(f), true)
		}
	})
	return err
}

// hasKey reports a setting that is present and not None (None means unset).
func hasKey(m map[string]any, k string) bool {
	v, ok := m[k]
	return ok && v != nil
}

// setFlagFromSetting converts a JSON value from Django settings.
func setFlagFromSetting(f *pflag.Flag, v any, source string) error {
	switch x := v.(type) {
	case nil:
		return nil // None: not set
	case []any:
		items := make([]string, 0, len(x))
		for _, it := range x {
			items = append(items, settingString(it))
		}
		sv, ok := f.Value.(pflag.SliceValue)
		if !ok {
			return usagef("invalid value for %s: a list, but --%s takes one %s", source, f.Name, f.Value.Type())
		}
		return sv.Replace(items)
	default:
		return setFlag(f, settingString(x), source, false)
	}
}

// settingString renders one settings value; 1.6.2's nested command lists
// ([["migrate", "--noinput"]]) become one string per command.
func settingString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []any:
		parts := make([]string, 0, len(x))
		for _, it := range x {
			parts = append(parts, settingString(it))
		}
		return strings.Join(parts, " ")
	}
	return fmt.Sprint(v)
}

// setFlag parses raw with the flag's type. Lists from the environment are
// separated by ";".
func setFlag(f *pflag.Flag, raw, source string, fromEnv bool) error {
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		var items []string
		if fromEnv {
			for _, it := range strings.Split(raw, ";") {
				if it = strings.TrimSpace(it); it != "" {
					items = append(items, it)
				}
			}
		} else {
			items = []string{raw}
		}
		return sv.Replace(items)
	}
	if f.Value.Type() == "bool" {
		b, ok := parseBool(raw)
		if !ok {
			return usagef("invalid value %q for %s: use true/false, 1/0 or yes/no", raw, source)
		}
		raw = strconv.FormatBool(b)
	}
	if err := f.Value.Set(raw); err != nil {
		return usagef("invalid value %q for %s (--%s takes %s): %v", raw, source, f.Name, f.Value.Type(), err)
	}
	return nil
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "on":
		return true, true
	case "0", "false", "no", "off", "":
		return false, true
	}
	return false, false
}
