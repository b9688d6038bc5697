package cmd

import "testing"

func TestFrontEndProcsLeavesWorkersTheirCPUs(t *testing.T) {
	for _, c := range []struct{ cpus, processes, want int }{
		{cpus: 2, processes: 1, want: 1},
		{cpus: 1, processes: 1, want: 1},
		{cpus: 2, processes: 4, want: 1},
		{cpus: 8, processes: 2, want: 6},
	} {
		if got := frontEndProcs(c.cpus, c.processes); got != c.want {
			t.Errorf("frontEndProcs(%d CPUs, %d processes) = %d, want %d", c.cpus, c.processes, got, c.want)
		}
	}
}
