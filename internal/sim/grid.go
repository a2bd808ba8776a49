package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/breakerlab/circuit"
)

// MaxSweep is the most configurations a sweep compares: the base, the
// presets and the grid's combinations together. Candidates refuses a grid
// that would make more, and Sweep a longer list.
const MaxSweep = 1000

// Grid is ranges of circuit.Config fields: a sweep runs every combination
// of their values (the cartesian product), each applied on top of a base
// config. Build one with ParseGrid or ParseGridJSON, or in code; Candidates
// checks it. The zero Grid has no axes and adds no configuration.
type Grid struct {
	Axes []Axis
}

// Axis is one Config field and the values a sweep gives it, in order.
// Field is the Go name of a numeric or duration field of circuit.Config
// (not Name). Each
// value is of the field's type: int, float64 or time.Duration.
type Axis struct {
	Field  string
	Values []any
}

// Size returns how many combinations g makes: the product of its axes'
// lengths, 1 for no axes. It saturates at math.MaxInt.
func (g Grid) Size() int {
	n := 1
	for _, a := range g.Axes {
		if len(a.Values) > 0 && n > math.MaxInt/len(a.Values) {
			return math.MaxInt
		}
		n *= len(a.Values)
	}
	return n
}

// ParseGrid reads the command-line form of a grid: axes separated by
// semicolons, each a Config field, "=", and values separated by commas, as
// in "ErrorRateThreshold=0.2,0.3;MinRequests=10,20;OpenTimeout=5s,30s".
// Field names match case-insensitively; durations are written as for
// time.ParseDuration; spaces around names and values are ignored. Every
// problem (an unknown field, a field given twice, a value that does not
// parse or repeats) comes back as an *InputError naming the field and the
// value, joined when there are several.
func ParseGrid(spec string) (Grid, error) {
	var g Grid
	var errs []error
	for _, part := range strings.Split(spec, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, list, ok := strings.Cut(part, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			errs = append(errs, &InputError{Field: "axis", Value: strconv.Quote(part),
				Problem: "want Field=value,value,... (axes separated by semicolons)"})
			continue
		}
		f, err := gridField(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ax := Axis{Field: f.Name}
		for _, v := range strings.Split(list, ",") {
			v = strings.TrimSpace(v)
			x, err := parseGridValue(f, v)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			ax.Values = append(ax.Values, x)
		}
		g.Axes = append(g.Axes, ax)
	}
	if len(errs) == 0 && len(g.Axes) == 0 {
		errs = append(errs, &InputError{Field: "grid", Value: strconv.Quote(spec), Problem: "no axes: want Field=value,value,... such as OpenTimeout=5s,30s"})
	}
	if len(errs) == 0 {
		errs = append(errs, g.check())
	}
	return g, errors.Join(errs...)
}

// ParseGridJSON reads the file form of a grid: a JSON object whose keys
// are Config fields (matched case-insensitively) and whose values are
// lists of values, or one value, as ParseConfig would take them (durations
// as strings such as "30s"), as in
//
//	{"ErrorRateThreshold": [0.2, 0.3], "OpenTimeout": ["5s", "30s"]}
//
// The axes keep the file's order. Every problem comes back as an
// *InputError naming file, the field and the value, joined when there are
// several.
func ParseGridJSON(file string, data []byte) (Grid, error) {
	if err := checkJSON(data); err != nil {
		return Grid{}, setFile(err, file)
	}
	keys, raws, err := objectInOrder(data)
	if err != nil {
		return Grid{}, setFile(err, file)
	}
	var g Grid
	var errs []error
	for i, k := range keys {
		f, err := gridField(k)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var list []json.RawMessage
		raw := bytes.TrimSpace(raws[i])
		if len(raw) > 0 && raw[0] == '[' {
			if err := json.Unmarshal(raw, &list); err != nil {
				errs = append(errs, &InputError{Field: k, Value: shorten(raw), Problem: "must be a list of values"})
				continue
			}
		} else {
			list = []json.RawMessage{raw}
		}
		ax := Axis{Field: f.Name}
		for j, v := range list {
			x, err := decodeGridValue(f, fmt.Sprintf("%s[%d]", k, j), v)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			ax.Values = append(ax.Values, x)
		}
		g.Axes = append(g.Axes, ax)
	}
	if len(errs) == 0 && len(g.Axes) == 0 {
		errs = append(errs, &InputError{Problem: `no axes: want an object such as {"OpenTimeout": ["5s", "30s"]}`})
	}
	if len(errs) == 0 {
		errs = append(errs, g.check())
	}
	return g, setFile(errors.Join(errs...), file)
}

// objectInOrder returns the keys of the JSON object data and their raw
// values, in the order written.
func objectInOrder(data []byte) ([]string, []json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, nil, &InputError{Value: shorten(data), Problem: "must be a JSON object"}
	}
	var keys []string
	var raws []json.RawMessage
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, nil, syntaxError(data, err)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, syntaxError(data, err)
		}
		keys, raws = append(keys, t.(string)), append(raws, raw)
	}
	return keys, raws, nil
}

var durationType = reflect.TypeOf(time.Duration(0))

// gridFields returns the Config fields a grid may vary, in declaration
// order.
func gridFields() []reflect.StructField {
	t := reflect.TypeOf(circuit.Config{})
	var out []reflect.StructField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		switch {
		case f.Type == durationType, f.Type.Kind() == reflect.Int, f.Type.Kind() == reflect.Float64:
			out = append(out, f)
		}
	}
	return out
}

func gridFieldNames() string {
	var names []string
	for _, f := range gridFields() {
		names = append(names, f.Name)
	}
	return strings.Join(names, ", ")
}

// gridField returns the Config field that name names, matched
// case-insensitively, or an *InputError saying why the sweep cannot vary it.
func gridField(name string) (reflect.StructField, error) {
	for _, f := range gridFields() {
		if strings.EqualFold(f.Name, name) {
			return f, nil
		}
	}
	switch {
	case strings.EqualFold(name, "Name"):
		return reflect.StructField{}, &InputError{Field: name, Problem: "not a threshold (valid: " + gridFieldNames() + ")"}
	}
	return reflect.StructField{}, &InputError{Field: name, Problem: "unknown field (valid: " + gridFieldNames() + ")"}
}

// parseGridValue parses the text v as a value of field f.
func parseGridValue(f reflect.StructField, v string) (any, error) {
	bad := func(problem string) error {
		return &InputError{Field: f.Name, Value: strconv.Quote(v), Problem: problem}
	}
	if v == "" {
		return nil, bad("empty value (want values separated by commas)")
	}
	switch {
	case f.Type == durationType:
		d, err := time.ParseDuration(v)
		if err != nil {
			return nil, bad(`not a duration (want such as "250ms", "30s" or "2m")`)
		}
		return d, nil
	case f.Type.Kind() == reflect.Int:
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, bad("must be a whole number")
		}
		return n, nil
	default:
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, bad("must be a finite number")
		}
		return x, nil
	}
}

// decodeGridValue decodes the JSON value raw as a value of field f; path
// names it in errors.
func decodeGridValue(f reflect.StructField, path string, raw json.RawMessage) (any, error) {
	switch {
	case f.Type == durationType:
		var d time.Duration
		err := durationField(&d)(path, raw)
		return d, err
	case f.Type.Kind() == reflect.Int:
		var n int
		err := intField(&n)(path, raw)
		return n, err
	default:
		var x float64
		err := floatField(&x)(path, raw)
		return x, err
	}
}

// check reports axes that name no grid field, name one twice, have no
// values, values of the wrong type, or a value twice.
func (g Grid) check() error {
	var errs []error
	seen := map[string]bool{}
	for _, a := range g.Axes {
		f, err := gridField(a.Field)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if seen[f.Name] {
			errs = append(errs, &InputError{Field: f.Name, Problem: "given twice: list all its values in one axis"})
			continue
		}
		seen[f.Name] = true
		if len(a.Values) == 0 {
			errs = append(errs, &InputError{Field: f.Name, Problem: "no values"})
		}
		vals := map[any]bool{}
		for _, v := range a.Values {
			if reflect.TypeOf(v) != f.Type {
				errs = append(errs, &InputError{Field: f.Name, Value: fmt.Sprintf("%v", v),
					Problem: fmt.Sprintf("is a %T, want a %v", v, f.Type)})
				continue
			}
			if vals[v] {
				errs = append(errs, &InputError{Field: f.Name, Value: formatGridValue(v), Problem: "given twice"})
			}
			vals[v] = true
		}
	}
	return errors.Join(errs...)
}

// formatGridValue writes a value as labels show it: 0.2, 10, 30s, 1m.
func formatGridValue(v any) string {
	switch x := v.(type) {
	case time.Duration:
		s := x.String()
		if strings.HasSuffix(s, "m0s") {
			s = strings.TrimSuffix(s, "0s")
		}
		if strings.HasSuffix(s, "h0m") {
			s = strings.TrimSuffix(s, "0m")
		}
		return s
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}

// Candidate is one configuration a sweep runs, with a name that says
// where it comes from: "base", "preset NAME", or the grid's settings
// ("ErrorRateThreshold=0.2 OpenTimeout=5s"). A configuration that came up
// more than once is run once, under its first name followed by the others
// (" = preset core").
type Candidate struct {
	Name   string
	Config circuit.Config
}

// Candidates returns the configurations a sweep compares, in this order:
// base (named "base"), every preset (circuit.PresetNames), and the grid's
// combinations applied on top of base, the first axis varying slowest.
// A configuration equal to an earlier one is dropped, and its name added
// to the earlier one's. Presets take base's Name, so that only thresholds
// tell configurations apart.
//
// It returns an *InputError (joined when there are several) when g is not
// valid, when the list would be longer than MaxSweep, when a combination
// is not a valid Config (naming the field and the value, and how many
// combinations have the problem).
func Candidates(base circuit.Config, g Grid) ([]Candidate, error) {
	if err := g.check(); err != nil {
		return nil, err
	}
	if err := configErrors("", base, nil); err != nil {
		return nil, err
	}
	presets := circuit.PresetNames()
	size := g.Size()
	if len(g.Axes) == 0 {
		size = 0
	}
	if size > MaxSweep-1-len(presets) {
		lens := make([]string, len(g.Axes))
		for i, a := range g.Axes {
			lens[i] = strconv.Itoa(len(a.Values))
		}
		n := "over " + strconv.Itoa(MaxSweep)
		if size < math.MaxInt {
			n = strconv.Itoa(size)
		}
		return nil, &InputError{Field: "grid", Value: strings.Join(lens, " × ") + " values",
			Problem: fmt.Sprintf("%s combinations, with the base and the %d presets over the limit of %d configurations (MaxSweep): use fewer values",
				n, len(presets), MaxSweep)}
	}

	out := make([]Candidate, 0, 1+len(presets)+size)
	index := map[circuit.Config]int{}
	add := func(name string, c circuit.Config) {
		if i, ok := index[c]; ok {
			out[i].Name += " = " + name
			return
		}
		index[c] = len(out)
		out = append(out, Candidate{Name: name, Config: c})
	}
	add("base", base)
	for _, p := range presets {
		c, err := circuit.Preset(p)
		if err != nil {
			return nil, err
		}
		c.Name = base.Name
		add("preset "+p, c)
	}
	if size == 0 {
		return out, nil
	}

	// Problems are counted by message: a bad value makes every combination
	// that holds it invalid, and one line says so.
	type problem struct {
		err     error
		n       int
		example string
	}
	var problems []*problem
	byMsg := map[string]*problem{}
	v := reflect.ValueOf(&circuit.Config{}).Elem()
	idx := make([]int, len(g.Axes))
	for k := 0; k < size; k++ {
		rem := k
		for i := len(g.Axes) - 1; i >= 0; i-- {
			idx[i] = rem % len(g.Axes[i].Values)
			rem /= len(g.Axes[i].Values)
		}
		v.Set(reflect.ValueOf(base))
		labels := make([]string, len(g.Axes))
		written := map[string]json.RawMessage{}
		for i, a := range g.Axes {
			f, _ := gridField(a.Field)
			x := a.Values[idx[i]]
			v.FieldByIndex(f.Index).Set(reflect.ValueOf(x))
			labels[i] = f.Name + "=" + formatGridValue(x)
			written[f.Name] = json.RawMessage(formatGridValue(x))
		}
		c := v.Interface().(circuit.Config)
		label := strings.Join(labels, " ")
		if err := configErrors("", c, written); err != nil {
			for _, e := range errorList(err) {
				p, ok := byMsg[e.Error()]
				if !ok {
					p = &problem{err: e, example: label}
					byMsg[e.Error()] = p
					problems = append(problems, p)
				}
				p.n++
			}
			continue
		}
		add(label, c)
	}
	if len(problems) > 0 {
		errs := make([]error, len(problems))
		for i, p := range problems {
			ie := *p.err.(*InputError)
			ie.Problem += fmt.Sprintf(" (in %d of the %d grid combinations, such as %s)", p.n, size, p.example)
			errs[i] = &ie
		}
		return nil, errors.Join(errs...)
	}
	return out, nil
}
