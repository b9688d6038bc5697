package worker

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
)

// ErrNoProject means no Django settings module could be determined.
var ErrNoProject = errors.New("no Django project found")

var managePySettings = regexp.MustCompile(`os\.environ\.setdefault\(\s*["']DJANGO_SETTINGS_MODULE["']\s*,\s*["']([\w.]+)["']\s*\)`)

// FindSettings returns the settings module: the given one (--settings or
// DJANGO_SETTINGS_MODULE), else the one dir/manage.py sets as its default.
func FindSettings(dir, given string) (string, error) {
	if given != "" {
		return given, nil
	}
	b, err := os.ReadFile(filepath.Join(dir, "manage.py"))
	if err != nil {
		return "", fmt.Errorf("%w in %s: run hurricane in the directory of manage.py, or pass --settings (or set DJANGO_SETTINGS_MODULE)", ErrNoProject, dir)
	}
	m := managePySettings.FindSubmatch(b)
	if m == nil {
		return "", fmt.Errorf("%w: %s does not set DJANGO_SETTINGS_MODULE; pass --settings", ErrNoProject, filepath.Join(dir, "manage.py"))
	}
	return string(m[1]), nil
}
