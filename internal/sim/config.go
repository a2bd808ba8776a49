package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/breakerlab/circuit"
)

// ParseConfig reads a breaker Config from JSON, on top of base: fields the
// JSON leaves out keep base's values, so a file can change one threshold of
// a preset. Field names are circuit.Config's (matched case-insensitively);
// durations are strings such as "30s". file names the source in errors.
//
// The result is validated with circuit.Config.Validate. Every problem (bad
// JSON, an unknown field, a value of the wrong type, a value Validate
// rejects) comes back as an *InputError naming the file, the field and the
// value, joined with errors.Join when there are several.
func ParseConfig(file string, data []byte, base circuit.Config) (circuit.Config, error) {
	if err := checkJSON(data); err != nil {
		return circuit.Config{}, setFile(err, file)
	}
	c, err := parseConfig("", data, base)
	return c, setFile(err, file)
}

// parseConfig decodes a JSON config object found at path onto base with
// circuit.Config's own JSON decoding (Go field names, durations as
// strings), and validates the result.
func parseConfig(path string, data []byte, base circuit.Config) (circuit.Config, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil || raw == nil {
		return circuit.Config{}, &InputError{Field: path, Value: shorten(data), Problem: "must be a JSON object"}
	}
	c := base
	if err := json.Unmarshal(data, &c); err != nil {
		return circuit.Config{}, inputErrors(path, err)
	}
	// The values as the file wrote them, under the fields' Go names.
	written := map[string]json.RawMessage{}
	t := reflect.TypeOf(c)
	for k, v := range raw {
		for i := 0; i < t.NumField(); i++ {
			if strings.EqualFold(t.Field(i).Name, k) {
				written[t.Field(i).Name] = v
			}
		}
	}
	if err := configErrors(path, c, written); err != nil {
		return circuit.Config{}, err
	}
	return c, nil
}

// inputErrors turns the *circuit.ConfigErrors of a failed decoding into
// InputErrors under path.
func inputErrors(path string, err error) error {
	list := errorList(err)
	var errs []error
	for _, e := range list {
		var ce *circuit.ConfigError
		if !errors.As(e, &ce) {
			errs = append(errs, &InputError{Field: path, Problem: e.Error()})
			continue
		}
		field := ce.Field
		if path != "" {
			field = path + "." + field
		}
		errs = append(errs, &InputError{Field: field, Value: shorten([]byte(fmt.Sprint(ce.Value))), Problem: ce.Rule})
	}
	return errors.Join(errs...)
}

// configErrors validates c and turns each circuit.ConfigError into an
// InputError, quoting the value as the file wrote it when it did.
func configErrors(path string, c circuit.Config, raw map[string]json.RawMessage) error {
	err := c.Validate()
	if err == nil {
		return nil
	}
	list := errorList(err)
	var errs []error
	for _, e := range list {
		var ce *circuit.ConfigError
		if !errors.As(e, &ce) {
			errs = append(errs, &InputError{Problem: e.Error()})
			continue
		}
		ie := &InputError{Field: ce.Field, Value: fmt.Sprint(ce.Value), Problem: ce.Rule}
		if path != "" {
			ie.Field = path + "." + ce.Field
		}
		if r, ok := raw[ce.Field]; ok {
			ie.Value = shorten(r)
		} else if raw != nil {
			ie.Problem += " (value from the base config)"
		}
		errs = append(errs, ie)
	}
	return errors.Join(errs...)
}

// FormatConfig describes c on one line, durations in their usual form, for
// the header of the report.
func FormatConfig(c circuit.Config) string {
	var parts []string
	add := func(format string, args ...any) { parts = append(parts, fmt.Sprintf(format, args...)) }
	if c.ConsecutiveFailures > 0 {
		add("%d consecutive failures", c.ConsecutiveFailures)
	}
	if c.ErrorRateThreshold > 0 {
		add("%g%% errors", c.ErrorRateThreshold*100)
	}
	if c.LatencyThreshold > 0 {
		add("p%g >= %v", c.LatencyPercentile*100, c.LatencyThreshold)
	}
	trip := "never trips"
	if len(parts) > 0 {
		trip = "trips on " + strings.Join(parts, " or ")
	}
	window := fmt.Sprintf("%d calls", c.WindowSize)
	switch {
	case c.WindowDuration > 0 && c.WindowSize > 0:
		window = fmt.Sprintf("the last %v (at most %d calls)", c.WindowDuration, c.WindowSize)
	case c.WindowDuration > 0:
		window = fmt.Sprintf("the last %v", c.WindowDuration)
	}
	open := c.OpenTimeout.String()
	if c.OpenBackoff > 1 {
		open += fmt.Sprintf(" x%g per reopening", c.OpenBackoff)
		if c.OpenTimeoutMax > 0 {
			open += fmt.Sprintf(" up to %v", c.OpenTimeoutMax)
		}
	}
	if c.OpenJitter > 0 {
		open += fmt.Sprintf(" ±%g%%", c.OpenJitter*100)
	}
	s := fmt.Sprintf("%s over %s (min %d); open %s; %d probe(s), %d to close",
		trip, window, c.MinRequests, open, c.HalfOpenMaxProbes, c.SuccessThreshold)
	if c.CallTimeout > 0 {
		s += fmt.Sprintf("; call timeout %v", c.CallTimeout)
	}
	if c.RampDuration > 0 {
		s += "; ramp " + rampText(c.RampDuration, c.RampStart)
	}
	return s
}

// durationString formats d for tables: whole units where possible.
func durationString(d time.Duration) string {
	switch {
	case d == 0:
		return "0ms"
	case d%time.Second == 0:
		return d.String()
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Round(time.Millisecond)/time.Millisecond)
	default:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
}
