package testscripts

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/hurricane-run/hurricane/cmd"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"hurricane": func() { os.Exit(cmd.Execute(os.Args[1:])) },
	})
}

// TestScripts runs every .txtar file here. Scripts that start Python get
// its path as $PYTHON (a Python with Django, from the test script).
func TestScripts(t *testing.T) {
	python := os.Getenv("HURRICANE_TEST_PYTHON")
	testscript.Run(t, testscript.Params{
		Dir:                 ".",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("PYTHON", python)
			env.Setenv("HOME", env.WorkDir)
			env.Setenv("XDG_CACHE_HOME", env.WorkDir+"/.cache")
			return nil
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "django":
				if python == "" && os.Getenv("HURRICANE_E2E_REQUIRED") == "1" {
					return false, errors.New("HURRICANE_TEST_PYTHON is required")
				}
				return python != "", nil
			}
			return false, errors.New("unknown condition " + cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exits": cmdExits,
		},
	})
}

// cmdExits runs a program and checks its exit code: exits N prog args...
// Its output becomes stdout and stderr for the following assertions.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE program [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: bad code %q", args[0])
	}
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		got = ee.ExitCode()
	case err != nil:
		ts.Fatalf("exits: %v", err)
	}
	if got != want {
		ts.Fatalf("exit code %d, want %d", got, want)
	}
}
