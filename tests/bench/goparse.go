// goparse: the baseline profpipe's decoder is measured against. It parses a
// pprof file with github.com/google/pprof/profile (what Pyroscope, Parca,
// DataKit and iLogtail use) repeatedly for at least -min seconds and prints
// one tab-separated line:
//
//	file  bytes  samples  iterations  seconds  peak_rss_kb  cpu_seconds
//
// cpu_seconds is the process's user + system time over the loop: it
// includes the garbage collector's work on other cores, which the
// wall-clock seconds hide when a core is idle.
// Built in GOPATH mode against Debian's golang-github-google-pprof-dev.
// Peak RSS is VmHWM from /proc/self/status (getrusage's Maxrss survives
// execve, so it would report the forking parent's size).
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/pprof/profile"
)

func main() {
	min := flag.Float64("min", 1.0, "seconds to run at least")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: goparse [-min S] FILE")
		os.Exit(100)
	}
	data, err := os.ReadFile(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(111)
	}
	var samples, iters int
	cpu0 := cpuSeconds()
	start := time.Now()
	for {
		p, err := profile.ParseData(data)
		if err != nil {
			fmt.Fprintln(os.Stderr, flag.Arg(0), err)
			os.Exit(1)
		}
		samples = len(p.Sample)
		iters++
		if time.Since(start).Seconds() >= *min {
			break
		}
	}
	secs := time.Since(start).Seconds()
	cpu := cpuSeconds() - cpu0
	fmt.Printf("%s\t%d\t%d\t%d\t%.6f\t%d\t%.6f\n", flag.Arg(0), len(data),
		samples, iters, secs, peakRSSKB(), cpu)
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func peakRSSKB() int64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, err := strconv.ParseInt(f[1], 10, 64)
				if err == nil {
					return kb
				}
			}
		}
	}
	return -1
}
