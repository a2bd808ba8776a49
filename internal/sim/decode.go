package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// InputError reports one bad value in a scenario or config: which file,
// which field, the value as written, and what is wrong with it. Every error
// from ParseScenario, ParseConfig and Run is an InputError or
// an errors.Join of several.
type InputError struct {
	File    string // the file name, or "" for a value built in code
	Field   string // the field path, such as "phases[1].latency"; "" for the whole file
	Value   string // the value as written (JSON text, shortened), "" if none
	Problem string // what the value must be, or what went wrong
}

// Error returns "sim: FILE: FIELD = VALUE: PROBLEM", leaving out the parts
// that are empty.
func (e *InputError) Error() string {
	var b strings.Builder
	b.WriteString("sim: ")
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		if e.Value != "" {
			b.WriteString(" = ")
			b.WriteString(e.Value)
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Problem)
	return b.String()
}

// errorList returns the errors that err joins (errors.Join), or err alone.
func errorList(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// setFile fills in the file name of every InputError in err.
func setFile(err error, file string) error {
	if err == nil {
		return nil
	}
	list := errorList(err)
	for _, e := range list {
		var ie *InputError
		if errors.As(e, &ie) {
			ie.File = file
		}
	}
	return err
}

// shorten returns the JSON text of a value, cut to a length that fits in an
// error message.
func shorten(raw []byte) string {
	s := strings.Join(strings.Fields(string(raw)), " ")
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return s
}

// syntaxError turns a JSON syntax error into an InputError with the line
// and column.
func syntaxError(data []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line, col := 1, 1
		// Offset counts the offending byte; stop before it.
		for _, c := range data[:max(min(int(se.Offset)-1, len(data)), 0)] {
			if c == '\n' {
				line, col = line+1, 1
			} else {
				col++
			}
		}
		return &InputError{Problem: fmt.Sprintf("invalid JSON at line %d, column %d: %v", line, col, se)}
	}
	return &InputError{Problem: "invalid JSON: " + err.Error()}
}

// checkJSON reports a syntax error in data, or an empty document.
func checkJSON(data []byte) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return &InputError{Problem: "the file is empty (want a JSON object)"}
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return syntaxError(data, err)
	}
	return nil
}

// fieldSetter decodes one field's raw JSON into its destination; path is
// the field's full name for errors.
type fieldSetter func(path string, raw json.RawMessage) error

// decodeObject decodes a JSON object field by field. Keys match the names
// in fields case-insensitively; an unknown key is an error that lists the
// valid ones. Every bad field is reported, not just the first.
func decodeObject(path string, raw json.RawMessage, fields map[string]fieldSetter) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return &InputError{Field: path, Value: shorten(raw), Problem: "must be a JSON object"}
	}
	lower := make(map[string]string, len(fields))
	names := make([]string, 0, len(fields))
	for name := range fields {
		lower[strings.ToLower(name)] = name
		names = append(names, name)
	}
	sort.Strings(names)
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var errs []error
	for _, k := range keys {
		full := k
		if path != "" {
			full = path + "." + k
		}
		name, ok := lower[strings.ToLower(k)]
		if !ok {
			errs = append(errs, &InputError{Field: full, Problem: "unknown field (valid: " + strings.Join(names, ", ") + ")"})
			continue
		}
		if err := fields[name](full, obj[k]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func durationField(dst *time.Duration) fieldSetter {
	return func(path string, raw json.RawMessage) error {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return &InputError{Field: path, Value: shorten(raw), Problem: `must be a duration string such as "250ms", "30s" or "2m"`}
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return &InputError{Field: path, Value: shorten(raw), Problem: `not a duration (want a string such as "250ms", "30s" or "2m")`}
		}
		*dst = d
		return nil
	}
}

func intField(dst *int) fieldSetter {
	return func(path string, raw json.RawMessage) error {
		var f float64
		if err := json.Unmarshal(raw, &f); err != nil || isNull(raw) || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			return &InputError{Field: path, Value: shorten(raw), Problem: "must be a whole number"}
		}
		*dst = int(f)
		return nil
	}
}

func floatField(dst *float64) fieldSetter {
	return func(path string, raw json.RawMessage) error {
		if err := json.Unmarshal(raw, dst); err != nil || isNull(raw) {
			return &InputError{Field: path, Value: shorten(raw), Problem: "must be a number"}
		}
		return nil
	}
}

func stringField(dst *string) fieldSetter {
	return func(path string, raw json.RawMessage) error {
		if err := json.Unmarshal(raw, dst); err != nil || isNull(raw) {
			return &InputError{Field: path, Value: shorten(raw), Problem: "must be a string"}
		}
		return nil
	}
}

func boolField(dst *bool) fieldSetter {
	return func(path string, raw json.RawMessage) error {
		if err := json.Unmarshal(raw, dst); err != nil || isNull(raw) {
			return &InputError{Field: path, Value: shorten(raw), Problem: "must be true or false"}
		}
		return nil
	}
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }
