package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/internal/sim"
)

// runFleet is `circuitsim fleet`: it simulates a fleet of replicas, each
// with a breaker of its own, with and without a fleet coordinator, and
// writes the comparison. It returns the exit status.
func runFleet(args []string, stdout, stderr io.Writer) int {
	def := sim.DefaultFleetScenario()
	fs := flag.NewFlagSet("circuitsim fleet", flag.ContinueOnError)
	fs.SetOutput(stderr)
	replicas := fs.Int("replicas", def.Replicas, "number of replicas, each with a breaker of its own")
	rate := fs.Float64("rate", def.Rate, "requests per second to each replica (a Poisson process; 0.0167 is one a minute)")
	propagation := fs.Duration("propagation", def.Propagation, "how long the coordinator's news of an open or a close takes to reach the replicas")
	seed := fs.Uint64("seed", 1, "random `seed`; the same seed gives the same result")
	faultStart := fs.Duration("fault-start", def.FaultStart, "when the dependency goes down")
	faultEnd := fs.Duration("fault-end", def.FaultEnd, "when it recovers")
	duration := fs.Duration("duration", def.Duration, "simulated time; when not given, the later of 5m and the fault's end + 2m")
	latency := fs.Duration("latency", def.Latency, "how long every dependency call takes")
	flush := fs.Duration("flush", def.Flush, "how often each replica sends its counts to the shared window")
	window := fs.Duration("window", def.Window, "the shared window's length")
	minReplicas := fs.Int("min-replicas", def.MinReplicas, "replicas whose counts the shared window needs before it may trip the fleet")
	preset := fs.String("preset", "",
		"build the breakers from the preset Config `NAME` ("+strings.Join(circuit.PresetNames(), ", ")+") instead of the defaults")
	configFile := fs.String("config", "",
		"JSON `FILE` of circuit.Config fields (durations as strings like \"30s\"), applied on top of the preset or the defaults")
	jsonOut := fs.Bool("json", false, "print the result as JSON instead of the text report")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: circuitsim fleet [flags]\n\n"+
			"Simulates replicas of a service whose breakers learn alone, then with a fleet coordinator\n"+
			"(open propagation and a single probe), then also with a shared window. docs/fleet-sim.md\n"+
			"explains the report.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitBadInput // flag has printed the error and the valid flags
	}
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "circuitsim fleet: "+format+"\n", a...)
		return exitBadInput
	}
	if fs.NArg() > 0 {
		return bad("unexpected arguments %q: the fleet scenario takes flags only", fs.Args())
	}

	sc := sim.FleetScenario{
		Replicas: *replicas, Rate: *rate, Duration: *duration,
		FaultStart: *faultStart, FaultEnd: *faultEnd, Latency: *latency,
		Propagation: *propagation, Flush: *flush, Window: *window, MinReplicas: *minReplicas,
	}
	if !isSet(fs, "duration") {
		sc.Duration = max(sc.Duration, sc.FaultEnd+2*time.Minute)
	}
	cfg, err := breakerConfig(circuit.DefaultConfig(), *preset, *configFile)
	if err != nil {
		return bad("%v", err)
	}

	res, err := sim.RunFleet(sc, cfg, *seed)
	if err != nil {
		for _, e := range flagErrors(fs, err) {
			fmt.Fprintf(stderr, "circuitsim fleet: %s\n", e)
		}
		return exitBadInput
	}
	if *jsonOut {
		err = sim.WriteFleetJSON(stdout, res)
	} else {
		err = sim.WriteFleetText(stdout, res)
	}
	if err != nil {
		fmt.Fprintf(stderr, "circuitsim fleet: writing the report: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// flagErrors returns one line per problem in err: "-flag value: problem"
// for a field the fleet's flags set, "config: ..." for a field of the
// breaker's Config.
func flagErrors(fs *flag.FlagSet, err error) []string {
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	var out []string
	for _, e := range list {
		var ie *sim.InputError
		switch {
		case !errors.As(e, &ie):
			out = append(out, e.Error())
		case ie.Field == "":
			out = append(out, ie.Problem)
		case fs.Lookup(ie.Field) != nil:
			out = append(out, fmt.Sprintf("-%s %s: %s", ie.Field, ie.Value, ie.Problem))
		default:
			out = append(out, fmt.Sprintf("config: %s = %s: %s", ie.Field, ie.Value, ie.Problem))
		}
	}
	return out
}
