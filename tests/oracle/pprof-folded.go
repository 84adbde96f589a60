// pprof-folded: the oracle profpipe's decoder is checked against. It reads
// a pprof file with Go's own parser (github.com/google/pprof/profile, as
// Debian packages it) and prints what `profpipe-decoder --format folded`
// must print for it:
//
//	pprof-folded FILE SAMPLE_TYPE   folded stacks, one value column
//	pprof-folded -types FILE        the profile's sample type names
//	pprof-folded -period FILE       its period type and unit, and period,
//	                                one per line
//
// Folded: "root;...;leaf VALUE" per line, frames named by function name
// with inlined frames expanded (a Location's lines are leaf first), a
// location without lines named "0x" + its address in hex, stacks with the
// same sequence of names summed, sums of 0 left out. In a name ';' becomes
// ':' and bytes below 0x20 become '?'. Lines come in no particular order.
//
// Built in GOPATH mode (see the Makefile's $(O)/pprof-folded rule).
package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/google/pprof/profile"
)

func clean(name string) string {
	b := []byte(name)
	for i, c := range b {
		if c == ';' {
			b[i] = ':'
		} else if c < 0x20 {
			b[i] = '?'
		}
	}
	return string(b)
}

func parse(path string) *profile.Profile {
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pprof-folded:", err)
		os.Exit(111)
	}
	defer f.Close()
	p, err := profile.Parse(f)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pprof-folded: %s: %v\n", path, err)
		os.Exit(1)
	}
	return p
}

func main() {
	if len(os.Args) == 3 && os.Args[1] == "-types" {
		for _, st := range parse(os.Args[2]).SampleType {
			fmt.Println(st.Type)
		}
		return
	}
	if len(os.Args) == 3 && os.Args[1] == "-period" {
		p := parse(os.Args[2])
		if p.PeriodType == nil {
			p.PeriodType = &profile.ValueType{}
		}
		fmt.Printf("%s\n%s\n%d\n", p.PeriodType.Type, p.PeriodType.Unit, p.Period)
		return
	}
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: pprof-folded FILE SAMPLE_TYPE | -types FILE | -period FILE")
		os.Exit(100)
	}
	p := parse(os.Args[1])
	idx := -1
	for i, st := range p.SampleType {
		if st.Type == os.Args[2] {
			idx = i
			break
		}
	}
	if idx < 0 {
		fmt.Fprintf(os.Stderr, "pprof-folded: %s: no sample type %s\n", os.Args[1], os.Args[2])
		os.Exit(1)
	}
	sums := map[string]int64{}
	var order []string
	for _, s := range p.Sample {
		var names []string // leaf first
		for _, loc := range s.Location {
			if len(loc.Line) == 0 {
				names = append(names, fmt.Sprintf("0x%x", loc.Address))
			}
			for _, ln := range loc.Line {
				names = append(names, clean(ln.Function.Name))
			}
		}
		for i, j := 0, len(names)-1; i < j; i, j = i+1, j-1 {
			names[i], names[j] = names[j], names[i]
		}
		key := strings.Join(names, ";")
		if _, ok := sums[key]; !ok {
			order = append(order, key)
		}
		sums[key] += s.Value[idx]
	}
	w := bufio.NewWriter(os.Stdout)
	for _, k := range order {
		if sums[k] != 0 {
			fmt.Fprintf(w, "%s %d\n", k, sums[k])
		}
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "pprof-folded:", err)
		os.Exit(111)
	}
}
