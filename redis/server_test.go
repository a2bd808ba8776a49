package circuitredis_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisServer is a real redis-server that a test owns: on a unix socket in
// a directory of its own, with persistence off, stopped at the end of the
// test.
type redisServer struct {
	tb   testing.TB
	bin  string
	dir  string
	sock string

	mu   sync.Mutex // guards cmd and done
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// startRedis starts a redis-server for tb. Without one installed the test
// is skipped, except under CI=true, where it fails: CI installs it
// (.ci/run), and a skipped fleet test there would hide that it is gone.
func startRedis(tb testing.TB) *redisServer {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("redis-server not found (%v): .ci/run installs it with apt-get install redis-server", err)
		}
		tb.Skip("redis-server is not installed: apt-get install redis-server to run the fleet tests")
	}
	// Not t.TempDir: a unix socket's path must fit in 108 bytes, and a
	// test's temporary directory is named after the test.
	dir, err := os.MkdirTemp("", "crtest")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = os.RemoveAll(dir) })
	s := &redisServer{tb: tb, bin: bin, dir: dir, sock: filepath.Join(dir, "redis.sock")}
	s.start()
	tb.Cleanup(s.stop)
	return s
}

// start runs the server on s.sock and waits until it answers PING.
func (s *redisServer) start() {
	s.tb.Helper()
	cmd := exec.Command(s.bin,
		"--port", "0", "--unixsocket", s.sock, "--unixsocketperm", "700",
		"--save", "", "--appendonly", "no", "--dir", s.dir,
		"--logfile", filepath.Join(s.dir, "redis.log"), "--daemonize", "no")
	if err := cmd.Start(); err != nil {
		s.tb.Fatalf("starting redis-server: %v", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	s.waitReady(done)
}

// waitReady polls PING until the server answers, for at most 10s.
func (s *redisServer) waitReady(done chan struct{}) {
	s.tb.Helper()
	c := redis.NewClient(&redis.Options{Network: "unix", Addr: s.sock, DialTimeout: 100 * time.Millisecond,
		ReadTimeout: 100 * time.Millisecond, MaxRetries: -1, DisableIdentity: true})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		select {
		case <-done:
			s.tb.Fatalf("redis-server exited at start: %s", s.log())
		default:
		}
		if time.Now().After(deadline) {
			s.tb.Fatalf("redis-server did not answer PING within 10s (%v): %s", err, s.log())
		}
		<-tick.C
	}
}

func (s *redisServer) log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
	return strings.TrimSpace(string(b))
}

// signal sends sig to the server.
func (s *redisServer) signal(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		_ = s.cmd.Process.Signal(sig)
	}
}

// pause stops the server's process (SIGSTOP): its socket stays open and
// connections are accepted, but nothing answers. resume continues it.
func (s *redisServer) pause()  { s.signal(syscall.SIGSTOP) }
func (s *redisServer) resume() { s.signal(syscall.SIGCONT) }

// kill ends the server at once (SIGKILL) and waits for it to exit.
func (s *redisServer) kill() {
	s.tb.Helper()
	s.signal(syscall.SIGCONT)
	s.signal(syscall.SIGKILL)
	s.wait(5 * time.Second)
}

// stop ends the server (SIGTERM, then SIGKILL) if it is running.
func (s *redisServer) stop() {
	s.signal(syscall.SIGCONT)
	s.signal(syscall.SIGTERM)
	if !s.wait(5 * time.Second) {
		s.signal(syscall.SIGKILL)
		s.wait(5 * time.Second)
	}
}

// wait waits up to d for the server to exit, and reports whether it has.
func (s *redisServer) wait(d time.Duration) bool {
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	if done == nil {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		s.mu.Lock()
		s.cmd, s.done = nil, nil
		s.mu.Unlock()
		return true
	case <-t.C:
		return false
	}
}

// client returns a new client of the server, closed at the end of the
// test. Its timeouts are short, as a service's should be.
func (s *redisServer) client(tb testing.TB) *redis.Client { return s.clientAs(tb, "", "") }

// clientAs is client, logged in as an ACL user ("" for the default one).
func (s *redisServer) clientAs(tb testing.TB, user, pass string) *redis.Client {
	c := redis.NewClient(&redis.Options{
		Network: "unix", Addr: s.sock, Username: user, Password: pass,
		DialTimeout: 250 * time.Millisecond, ReadTimeout: 250 * time.Millisecond, WriteTimeout: 250 * time.Millisecond,
		PoolSize: 4, MaxRetries: -1, DisableIdentity: true,
	})
	tb.Cleanup(func() { _ = c.Close() })
	return c
}
