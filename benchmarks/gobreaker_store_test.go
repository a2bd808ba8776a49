package benchmarks_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"
)

// redisStore is a gobreaker.SharedDataStore on go-redis, for the
// DistributedCircuitBreaker in the fleet benchmark: the smallest store a
// user would reasonably write.
//
// Lock is SET name token NX PX lockTTL, retried with a short backoff
// (50µs doubling to 1ms) until it succeeds or lockWait has passed.
// gobreaker retries a failed Lock itself every 500ms, so a store that
// gave up at once would make every collision between two goroutines of
// one process cost half a second; waiting in Lock gives gobreaker its best
// case. Unlock deletes the key only if it still holds this store's token
// (a compare-and-delete script), so a lock that expired and was taken by
// another replica is left alone.
//
// The interface names no caller, so a store holds one token per key: only
// the goroutine holding the lock sets or reads it, which is sound as long
// as no critical section outlives lockTTL.
type redisStore struct {
	client   redis.UniversalClient
	id       string        // random, starts every token of this store
	lockTTL  time.Duration // how long a lock lives if its holder never unlocks
	lockWait time.Duration // how long Lock tries before it returns errLocked
	timeout  time.Duration // bounds each command

	mu     sync.Mutex        // guards tokens and seq
	tokens map[string]string // key -> token of the lock this store holds
	seq    uint64
}

var _ gobreaker.SharedDataStore = (*redisStore)(nil)

// errLocked is Lock's error when another holder kept the lock for lockWait.
var errLocked = errors.New("redisStore: lock held elsewhere")

// unlockScript deletes KEYS[1] if its value is ARGV[1].
var unlockScript = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
	return redis.call("DEL", KEYS[1])
end
return 0`)

func newRedisStore(client redis.UniversalClient) *redisStore {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &redisStore{
		client:   client,
		id:       hex.EncodeToString(b[:]),
		lockTTL:  5 * time.Second, // gobreaker's own mutex timeout
		lockWait: 5 * time.Second,
		timeout:  time.Second,
		tokens:   make(map[string]string),
	}
}

// Lock takes the lock named name, waiting up to lockWait for it.
func (s *redisStore) Lock(name string) error {
	s.mu.Lock()
	s.seq++
	token := fmt.Sprintf("%s-%d", s.id, s.seq)
	s.mu.Unlock()
	deadline := time.Now().Add(s.lockWait)
	backoff := 50 * time.Microsecond
	for {
		ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
		ok, err := s.client.SetNX(ctx, name, token, s.lockTTL).Result()
		cancel()
		if err != nil {
			return err
		}
		if ok {
			s.mu.Lock()
			s.tokens[name] = token
			s.mu.Unlock()
			return nil
		}
		if time.Now().After(deadline) {
			return errLocked
		}
		// Not a synchronisation sleep: the backoff of a lock that polls a
		// remote server, which has no way to wake its waiters.
		time.Sleep(backoff)
		backoff = min(2*backoff, time.Millisecond)
	}
}

// Unlock releases the lock named name if this store holds it.
func (s *redisStore) Unlock(name string) error {
	s.mu.Lock()
	token, ok := s.tokens[name]
	delete(s.tokens, name)
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("redisStore: Unlock of %q, which this store does not hold", name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	return unlockScript.Run(ctx, s.client, []string{name}, token).Err()
}

// GetData returns the value stored under name, or nil if there is none
// (which gobreaker takes as "no shared state yet").
func (s *redisStore) GetData(name string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	b, err := s.client.Get(ctx, name).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	return b, err
}

// SetData stores data under name, with no expiry.
func (s *redisStore) SetData(name string, data []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	return s.client.Set(ctx, name, data, 0).Err()
}
