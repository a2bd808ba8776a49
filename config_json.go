package circuit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// configField is one Config field as JSON sees it: its Go name, which is
// also its JSON key, and a pointer to it (*string, *int, *float64 or
// *time.Duration).
type configField struct {
	name string
	ptr  any
}

// fields lists c's fields in declaration order.
func (c *Config) fields() []configField {
	return []configField{
		{"Name", &c.Name},
		{"ConsecutiveFailures", &c.ConsecutiveFailures},
		{"ErrorRateThreshold", &c.ErrorRateThreshold},
		{"WindowSize", &c.WindowSize},
		{"WindowDuration", &c.WindowDuration},
		{"MinRequests", &c.MinRequests},
		{"LatencyThreshold", &c.LatencyThreshold},
		{"LatencyPercentile", &c.LatencyPercentile},
		{"OpenTimeout", &c.OpenTimeout},
		{"OpenBackoff", &c.OpenBackoff},
		{"OpenTimeoutMax", &c.OpenTimeoutMax},
		{"OpenJitter", &c.OpenJitter},
		{"ProbeTimeout", &c.ProbeTimeout},
		{"HalfOpenMaxProbes", &c.HalfOpenMaxProbes},
		{"SuccessThreshold", &c.SuccessThreshold},
		{"RampDuration", &c.RampDuration},
		{"RampStart", &c.RampStart},
		{"CallTimeout", &c.CallTimeout},
	}
}

// MarshalJSON encodes every field under its Go name, durations as strings
// such as "1m30s", so that a config file reads as the code does and
// UnmarshalJSON gives back exactly c. A NaN or infinite float is an error
// naming the field.
func (c Config) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, f := range c.fields() {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString(strconv.Quote(f.name))
		buf.WriteByte(':')
		switch p := f.ptr.(type) {
		case *string:
			v, _ := json.Marshal(*p)
			buf.Write(v)
		case *int:
			buf.WriteString(strconv.Itoa(*p))
		case *float64:
			if math.IsNaN(*p) || math.IsInf(*p, 0) {
				return nil, &ConfigError{Field: f.name, Value: *p, Rule: "must be a finite number to be written as JSON"}
			}
			buf.WriteString(strconv.FormatFloat(*p, 'g', -1, 64))
		case *time.Duration:
			buf.WriteString(strconv.Quote(p.String()))
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// UnmarshalJSON decodes a JSON object onto c: fields the object leaves out
// keep their values, so decoding onto DefaultConfig() (or a preset)
// changes only what the file says. Keys are the Go field names, matched
// case-insensitively as encoding/json does; durations are strings such as
// "30s". An unknown key, or a value of the wrong kind,
// is a *ConfigError naming the field and the value (all of them, joined);
// c is then left unchanged. UnmarshalJSON does not validate: New, or
// Validate, does.
func (c *Config) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("circuit: config is not a JSON object: %w", err)
	}
	if raw == nil {
		return errors.New("circuit: config is not a JSON object: null")
	}
	out := *c
	fields := out.fields()
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var errs []error
	for _, k := range keys {
		v := raw[k]
		f, ok := fieldNamed(fields, k)
		if !ok {
			errs = append(errs, &ConfigError{Field: k, Value: string(v), Rule: unknownFieldRule(fields)})
			continue
		}
		if err := decodeField(f.ptr, v); err != nil {
			errs = append(errs, &ConfigError{Field: f.name, Value: string(v), Rule: err.Error()})
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	*c = out
	return nil
}

// decodeField decodes v into ptr, saying what v must be if it cannot.
func decodeField(ptr any, v json.RawMessage) error {
	if string(v) == "null" {
		return errors.New("must not be null")
	}
	switch p := ptr.(type) {
	case *string:
		if json.Unmarshal(v, p) != nil {
			return errors.New("must be a string")
		}
	case *int:
		if json.Unmarshal(v, p) != nil {
			return errors.New("must be an integer")
		}
	case *float64:
		if json.Unmarshal(v, p) != nil {
			return errors.New("must be a number")
		}
	case *time.Duration:
		var s string
		if json.Unmarshal(v, &s) != nil {
			return errors.New(`must be a duration string such as "30s"`)
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return errors.New(`must be a duration string such as "30s" or "1m30s"`)
		}
		*p = d
	}
	return nil
}

// fieldNamed finds the field a key names: its Go name, matched
// case-insensitively as encoding/json matches struct fields.
func fieldNamed(fields []configField, key string) (configField, bool) {
	for _, f := range fields {
		if f.name == key {
			return f, true
		}
	}
	for _, f := range fields {
		if strings.EqualFold(f.name, key) {
			return f, true
		}
	}
	return configField{}, false
}

// unknownFieldRule says a key is unknown and lists the valid ones.
func unknownFieldRule(fields []configField) string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	return "unknown field (valid: " + strings.Join(names, ", ") + ")"
}
