// pprof-folded: the oracle profpipe's decoder is checked against. It reads
// a pprof file with Go's own parser (github.com/google/pprof/profile, as
// Debian packages it) and prints what the decoder must print for it
// (`--format folded`), or must agree with (`--format json`):
//
//	pprof-folded FILE SAMPLE_TYPE   folded stacks, one value column
//	pprof-folded -default FILE      the same, of the column Go's pprof
//	                                picks when none is named
//	pprof-folded -types FILE        the profile's sample type names
//	pprof-folded -json FILE         every sample as Go reads it, in the
//	                                words of `profpipe-decoder --format
//	                                json` (below)
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
	"encoding/json"
	"fmt"
	"os"
	"sort"
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
	if len(os.Args) == 3 && os.Args[1] == "-json" {
		printJSON(parse(os.Args[2]))
		return
	}
	if len(os.Args) == 3 && os.Args[1] == "-default" {
		p := parse(os.Args[2])
		idx, err := p.SampleIndexByName("")
		if err != nil {
			fmt.Fprintf(os.Stderr, "pprof-folded: %s: %v\n", os.Args[2], err)
			os.Exit(1)
		}
		folded(p, idx)
		return
	}
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: pprof-folded FILE SAMPLE_TYPE | -default FILE | -types FILE | -json FILE")
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
	folded(p, idx)
}

// folded prints p's stacks grouped by names, column idx.
func folded(p *profile.Profile, idx int) {
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

// -json: the profile's header and one "stacks" entry per sample, not
// collapsed: its frames leaf first (name, file and line of each of a
// Location's lines; "0x" + the address, no file, line 0, for a Location
// without lines), its values, and its labels as Go keeps them (Label,
// NumLabel, NumUnit: a label with neither str, num nor unit is gone, a
// str wins over a num, a num without a unit has none), sorted by their
// JSON text since Go's maps have no order. default_sample_type is Go's,
// "" when the profile names none.
type jsonFrame struct {
	Name string `json:"name"`
	File string `json:"file"`
	Line int64  `json:"line"`
}

type jsonLabel struct {
	Key  string  `json:"key"`
	Str  *string `json:"str,omitempty"`
	Num  *int64  `json:"num,omitempty"`
	Unit *string `json:"unit,omitempty"`
}

type jsonStack struct {
	Frames []jsonFrame `json:"frames"`
	Values []int64     `json:"values"`
	Labels []jsonLabel `json:"labels"`
}

type jsonValueType struct {
	Type string `json:"type"`
	Unit string `json:"unit"`
}

type jsonProfile struct {
	SampleTypes       []jsonValueType `json:"sample_types"`
	DefaultSampleType string          `json:"default_sample_type"`
	PeriodType        jsonValueType   `json:"period_type"`
	Period            int64           `json:"period"`
	DurationNs        int64           `json:"duration_ns"`
	TimeNs            int64           `json:"time_ns"`
	Stacks            []jsonStack     `json:"stacks"`
}

func sampleLabels(s *profile.Sample) []jsonLabel {
	ls := []jsonLabel{}
	for k, vs := range s.Label {
		for _, v := range vs {
			v := v
			ls = append(ls, jsonLabel{Key: k, Str: &v})
		}
	}
	for k, vs := range s.NumLabel {
		units := s.NumUnit[k]
		for i, v := range vs {
			v := v
			l := jsonLabel{Key: k, Num: &v}
			if i < len(units) && units[i] != "" {
				l.Unit = &units[i]
			}
			ls = append(ls, l)
		}
	}
	text := make([]string, len(ls))
	for i := range ls {
		b, _ := json.Marshal(ls[i])
		text[i] = string(b)
	}
	sort.Sort(byText{ls, text})
	return ls
}

type byText struct {
	ls   []jsonLabel
	text []string
}

func (b byText) Len() int           { return len(b.ls) }
func (b byText) Less(i, j int) bool { return b.text[i] < b.text[j] }
func (b byText) Swap(i, j int) {
	b.ls[i], b.ls[j] = b.ls[j], b.ls[i]
	b.text[i], b.text[j] = b.text[j], b.text[i]
}

func printJSON(p *profile.Profile) {
	out := jsonProfile{
		SampleTypes:       []jsonValueType{},
		DefaultSampleType: p.DefaultSampleType,
		Period:            p.Period,
		DurationNs:        p.DurationNanos,
		TimeNs:            p.TimeNanos,
		Stacks:            []jsonStack{},
	}
	for _, st := range p.SampleType {
		out.SampleTypes = append(out.SampleTypes, jsonValueType{st.Type, st.Unit})
	}
	if p.PeriodType != nil {
		out.PeriodType = jsonValueType{p.PeriodType.Type, p.PeriodType.Unit}
	}
	for _, s := range p.Sample {
		st := jsonStack{Frames: []jsonFrame{}, Values: s.Value, Labels: sampleLabels(s)}
		for _, loc := range s.Location {
			if len(loc.Line) == 0 {
				st.Frames = append(st.Frames, jsonFrame{Name: fmt.Sprintf("0x%x", loc.Address)})
			}
			for _, ln := range loc.Line {
				st.Frames = append(st.Frames, jsonFrame{ln.Function.Name, ln.Function.Filename, ln.Line})
			}
		}
		out.Stacks = append(out.Stacks, st)
	}
	w := bufio.NewWriter(os.Stdout)
	if err := json.NewEncoder(w).Encode(out); err != nil || w.Flush() != nil {
		fmt.Fprintln(os.Stderr, "pprof-folded: writing JSON failed")
		os.Exit(111)
	}
}
