package circuitredis

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// schemaVersion is the version of the key names and of the payloads. A
// change that an older replica would misread gets a new version, so that
// old and new replicas ignore each other instead of misreading each other
// during a rolling upgrade. docs/fleet.md documents version 1.
const schemaVersion = 1

// keys are the Redis keys of one breaker. They share the hash tag
// {<name>} so that they live in one Cluster hash slot and one script may
// use them all. The name is base64url-encoded: any UTF-8 name is safe in a
// key and can never contain a brace.
type keys struct {
	state  string // STRING: the open announcement (JSON), expiring when the fleet's open period ends
	lease  string // STRING: the probe lease's token, expiring at the probe deadline
	window string // HASH: the shared window's counts, "<bucket>:s", "<bucket>:f", "<bucket>:l"
	reps   string // ZSET: replicas that reported outcomes, scored by the last report (server ms)
	freps  string // ZSET: replicas that reported failures
	sreps  string // ZSET: replicas that reported slow calls
}

// keysFor returns the keys of the breaker named name under prefix.
func keysFor(prefix, name string) keys {
	base := fmt.Sprintf("%s:v%d:{%s}:", prefix, schemaVersion, base64.RawURLEncoding.EncodeToString([]byte(name)))
	return keys{
		state:  base + "state",
		lease:  base + "lease",
		window: base + "win",
		reps:   base + "reps",
		freps:  base + "freps",
		sreps:  base + "sreps",
	}
}

// all lists the keys in the order the close script takes them.
func (k keys) all() []string {
	return []string{k.state, k.lease, k.window, k.reps, k.freps, k.sreps}
}

// channelFor is the one channel on which every replica under prefix
// announces opens and closes; the payload names the breaker.
func channelFor(prefix string) string {
	return fmt.Sprintf("%s:v%d:events", prefix, schemaVersion)
}

// The kinds of announcement.
const (
	kindOpen    = "open"
	kindClose   = "close"
	kindRelease = "release"
)

// payload is what a replica publishes, and (for an open) stores in the
// state key. Fields are documented in docs/fleet.md; a reader ignores a
// payload whose V it does not know, and fields it does not know.
type payload struct {
	V        int    `json:"v"`
	Kind     string `json:"kind"`     // "open", "close" or "release"
	Name     string `json:"name"`     // the breaker's name
	Replica  string `json:"replica"`  // WithReplicaID of the sender
	Instance string `json:"instance"` // random per Coordinator: a replica ignores its own messages by it
	Reason   string `json:"reason"`   // why: the transition's circuit.Reason, or "shared-window"
	// OpenMS is, for an open, how long the open period had left when it
	// was sent, in milliseconds: a duration, never a timestamp, so that
	// replicas need not agree on the time. A reader of the state key uses
	// the key's PTTL instead, which is the same period less the time since.
	OpenMS int64 `json:"open_ms,omitempty"`
}

func (p payload) encode() string {
	b, err := json.Marshal(p)
	if err != nil { // cannot happen: strings and numbers only
		panic(err)
	}
	return string(b)
}

// decodePayload reads a payload, reporting whether it is one of this
// version that names a breaker.
func decodePayload(s string) (payload, error) {
	var p payload
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return payload{}, fmt.Errorf("circuitredis: unreadable payload: %w", err)
	}
	if p.V != schemaVersion {
		return payload{}, fmt.Errorf("circuitredis: payload version %d, want %d", p.V, schemaVersion)
	}
	if p.Kind != kindOpen && p.Kind != kindClose && p.Kind != kindRelease {
		return payload{}, fmt.Errorf("circuitredis: unknown payload kind %q", p.Kind)
	}
	return p, nil
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand since Go 1.24)
	return hex.EncodeToString(b)
}
