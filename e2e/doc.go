// Package e2e holds end-to-end tests of the hurricane binary: they build it,
// run "hurricane serve" against the example Django project in
// examples/demo and talk HTTP to it over 127.0.0.1.
//
// The tests need a Python with Django, named by HURRICANE_TEST_PYTHON. Without
// it they skip, unless HURRICANE_E2E_REQUIRED=1, when they fail.
// HURRICANE_E2E_RACE=1 builds the binary under test with -race as well.
package e2e
