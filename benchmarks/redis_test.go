package benchmarks_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The fleet benchmarks share one redis-server per run of the test binary,
// so that every library talks to the same server: it starts on the first
// benchmark or test that needs it, on a unix socket in a temporary
// directory, with persistence off, and TestMain stops it.

// redisServer is the run's redis-server.
type redisServer struct {
	dir  string
	sock string
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

var (
	serverMu sync.Mutex   // guards server and serverErr
	server   *redisServer // nil until a benchmark needs it
	// serverErr is why the server could not start; every later caller
	// fails with it rather than trying again.
	serverErr error
)

// needRedis returns the run's redis-server, starting it on first use.
// Without redis-server installed it skips tb, except under CI=true, where
// it fails: .ci/run installs it, and a skip there would hide its absence.
func needRedis(tb testing.TB) *redisServer {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("redis-server not found (%v): .ci/run installs it with apt-get install redis-server", err)
		}
		tb.Skip("redis-server is not installed: apt-get install redis-server to run the fleet benchmarks")
	}
	serverMu.Lock()
	defer serverMu.Unlock()
	if server == nil && serverErr == nil {
		server, serverErr = startRedis(bin)
	}
	if serverErr != nil {
		tb.Fatal(serverErr)
	}
	return server
}

// stopRedis stops the run's redis-server, if one was started.
func stopRedis() {
	serverMu.Lock()
	defer serverMu.Unlock()
	if server != nil {
		server.stop()
		server = nil
	}
}

// startRedis runs bin on a unix socket in a new temporary directory (not
// under the test's: a socket path must fit in 108 bytes) and waits for it
// to answer PING.
func startRedis(bin string) (*redisServer, error) {
	dir, err := os.MkdirTemp("", "cbfleet")
	if err != nil {
		return nil, err
	}
	s := &redisServer{dir: dir, sock: filepath.Join(dir, "redis.sock"), done: make(chan struct{})}
	s.cmd = exec.Command(bin,
		"--port", "0", "--unixsocket", s.sock, "--unixsocketperm", "700",
		"--save", "", "--appendonly", "no", "--dir", dir,
		"--logfile", filepath.Join(dir, "redis.log"), "--daemonize", "no")
	if err := s.cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("starting redis-server: %w", err)
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.done)
	}()
	if err := s.waitReady(10 * time.Second); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// waitReady polls PING until the server answers, for at most d.
func (s *redisServer) waitReady(d time.Duration) error {
	c := redis.NewClient(&redis.Options{Network: "unix", Addr: s.sock, DialTimeout: 100 * time.Millisecond,
		ReadTimeout: 100 * time.Millisecond, MaxRetries: -1, DisableIdentity: true})
	defer c.Close()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("redis-server exited at start: %s", s.log())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis-server did not answer PING within %v (%v): %s", d, err, s.log())
		}
		<-tick.C
	}
}

func (s *redisServer) log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
	return strings.TrimSpace(string(b))
}

// stop ends the server (SIGTERM, then SIGKILL after 5s), waits for it to
// exit, and removes its directory.
func (s *redisServer) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(5 * time.Second)
	select {
	case <-s.done:
	case <-t.C:
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	t.Stop()
	_ = os.RemoveAll(s.dir)
}

// client returns a new client of the server that counts the commands it
// sends, closed at the end of tb. Its pool is go-redis's default (10 per
// CPU); timeouts are short, as a service's would be.
func (s *redisServer) client(tb testing.TB) (*redis.Client, *cmdCounter) {
	c := redis.NewClient(&redis.Options{
		Network: "unix", Addr: s.sock,
		DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second,
		MaxRetries: -1, DisableIdentity: true,
	})
	n := &cmdCounter{}
	c.AddHook(n)
	tb.Cleanup(func() { _ = c.Close() })
	return c, n
}

// cmdCounter is a go-redis hook that counts the commands a client sends,
// each command of a pipeline included. Commands of a Pub/Sub connection
// (SUBSCRIBE, its PINGs) do not pass through hooks and are not counted;
// a coordinator sends one SUBSCRIBE per connection and a PING per second
// of silence on it.
type cmdCounter struct{ n atomic.Int64 }

func (c *cmdCounter) load() int64 { return c.n.Load() }

func (c *cmdCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *cmdCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}

func (c *cmdCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}
