// Command circuitsim simulates a service calling one dependency that slows
// down or fails, and shows the same traffic with and without a circuit
// breaker side by side: a timeline, a summary table and, with -svg, a
// chart. It drives the real circuit.Breaker on a virtual clock, so ten
// simulated minutes take a fraction of a second and a seed always gives
// the same result.
//
// Usage:
//
//	circuitsim [-scenario NAME|FILE] [-preset NAME] [-config FILE]
//	           [-ramp D] [-ramp-start F]
//	           [-seed N] [-interval D] [-svg FILE] [-json] [-list]
//	circuitsim fleet [-replicas N] [-rate R] [-propagation D] [-seed N]
//	           [-fault-start D] [-fault-end D] [...]  (docs/fleet-sim.md)
//	circuitsim -sweep [-grid SPEC | -grid-file FILE] [-top N]
//	           [-reject-weight W] [-scenario NAME|FILE] [-preset NAME]
//	           [-config FILE] [-seed N] [-json]
//
// With no flags it runs the db-slowdown scenario. With -sweep it runs the
// scenario through many breaker configs instead, the presets and a grid
// of values on top of the scenario's config (or -preset, -config), and
// ranks them by the cost of their mistakes: good calls rejected, times
// -reject-weight, plus failed requests. Bad input (an unknown
// flag, scenario or preset, a malformed or invalid file or grid, or a run
// predicted to take over a minute) prints an error naming the file, the
// field and the value, and exits with status 2. docs/simulator.md explains
// the report, the sweep, the scenario files and the limits.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/breakerlab/circuit"
	"github.com/breakerlab/circuit/internal/sim"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// Exit statuses.
const (
	exitOK       = 0
	exitFailure  = 1 // the run worked but its output could not be written
	exitBadInput = 2
)

// run is the whole command, testable: it parses args, runs the simulation
// and writes the report, and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "fleet" {
		return runFleet(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("circuitsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scenarioFlag := fs.String("scenario", sim.DefaultScenario,
		"built-in scenario `NAME` ("+strings.Join(sim.BuiltinNames(), ", ")+") or path to a JSON scenario FILE")
	preset := fs.String("preset", "",
		"use the preset Config `NAME` ("+strings.Join(circuit.PresetNames(), ", ")+") instead of the scenario's")
	configFile := fs.String("config", "",
		"JSON `FILE` of circuit.Config fields (durations as strings like \"30s\"), applied on top of the preset or the scenario's config")
	seed := fs.Uint64("seed", 1, "random `seed`; the same seed gives the same result")
	interval := fs.Duration("interval", 0, "length of a timeline row in simulated time (default: the scenario's, usually 10s)")
	ramp := fs.Duration("ramp", 0, "also run the breaker with RampDuration `D` and compare (default: the scenario's \"ramp\", if any; 0 turns the comparison off)")
	rampStart := fs.Float64("ramp-start", 0, "RampStart `share` of the comparison run, in [0, 1) (default: the scenario's, or 0.1)")
	svgFile := fs.String("svg", "", "also write an SVG chart to `FILE`")
	jsonOut := fs.Bool("json", false, "print the result as JSON instead of the text report")
	list := fs.Bool("list", false, "list the built-in scenarios and presets, and exit")
	sw := addSweepFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: circuitsim [flags] [SCENARIO]\n\n"+
			"Simulates one service calling one dependency, with and without a circuit breaker.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitBadInput // flag has printed the error and the valid flags
	}
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "circuitsim: "+format+"\n", a...)
		return exitBadInput
	}

	if *list {
		return writeList(stdout)
	}
	scenarioArg := *scenarioFlag
	switch {
	case fs.NArg() > 1:
		return bad("too many arguments %q: give at most one scenario", fs.Args())
	case fs.NArg() == 1:
		if isSet(fs, "scenario") {
			return bad("scenario given twice: -scenario %q and argument %q", *scenarioFlag, fs.Arg(0))
		}
		scenarioArg = fs.Arg(0)
	}

	sc, err := loadScenario(scenarioArg)
	if err != nil {
		return bad("%v", err)
	}
	if isSet(fs, "interval") {
		if *interval <= 0 {
			return bad("-interval %v: must be positive", *interval)
		}
		sc.Interval = *interval
	}
	switch {
	case isSet(fs, "ramp") && (*ramp < 0 || *ramp > time.Hour):
		return bad("-ramp %v: must be between 0 (no comparison) and 1h", *ramp)
	case isSet(fs, "ramp") && *ramp == 0:
		if isSet(fs, "ramp-start") {
			return bad("-ramp-start %g: there is no ramp to start (-ramp 0)", *rampStart)
		}
		sc.Ramp = nil
	case isSet(fs, "ramp"):
		r := sim.Ramp{Duration: *ramp, Start: 0.1}
		if sc.Ramp != nil {
			r.Start = sc.Ramp.Start
		}
		sc.Ramp = &r
	case isSet(fs, "ramp-start") && sc.Ramp == nil:
		return bad("-ramp-start %g: needs -ramp (scenario %s has no ramp)", *rampStart, sc.Name)
	}
	if isSet(fs, "ramp-start") {
		if !(*rampStart >= 0 && *rampStart < 1) {
			return bad("-ramp-start %g: must be in [0, 1)", *rampStart)
		}
		sc.Ramp.Start = *rampStart
	}
	cfg, err := breakerConfig(sc.BreakerConfig(), *preset, *configFile)
	if err != nil {
		return bad("%v", err)
	}

	if *sw.on {
		return runSweep(fs, sw, sc, cfg, *seed, *jsonOut, stdout, stderr)
	}
	for _, f := range []string{"grid", "grid-file", "top", "reject-weight"} {
		if isSet(fs, f) {
			return bad("-%s: needs -sweep", f)
		}
	}

	res, err := sim.Run(sc, cfg, *seed)
	if err != nil {
		return bad("%v", err)
	}
	if *jsonOut {
		err = sim.WriteJSON(stdout, res)
	} else {
		err = sim.WriteText(stdout, res)
	}
	if err != nil {
		fmt.Fprintf(stderr, "circuitsim: writing the report: %v\n", err)
		return exitFailure
	}
	if *svgFile != "" {
		if err := writeSVG(*svgFile, res); err != nil {
			fmt.Fprintf(stderr, "circuitsim: -svg: %v\n", err)
			return exitFailure
		}
		fmt.Fprintf(stderr, "circuitsim: wrote the chart to %s\n", *svgFile)
	}
	return exitOK
}

// sweepFlags are the flags of -sweep.
type sweepFlags struct {
	on       *bool
	grid     *string
	gridFile *string
	top      *int
	weight   *float64
}

func addSweepFlags(fs *flag.FlagSet) *sweepFlags {
	return &sweepFlags{
		on: fs.Bool("sweep", false,
			"run the scenario through the presets and the -grid configs, and rank them by the cost of their mistakes"),
		grid: fs.String("grid", "",
			"with -sweep: `SPEC` of values to combine on top of the base config, as in 'ErrorRateThreshold=0.2,0.5;OpenTimeout=5s,30s'"),
		gridFile: fs.String("grid-file", "",
			"with -sweep: JSON `FILE` of the grid, as in {\"ErrorRateThreshold\": [0.2, 0.5], \"OpenTimeout\": [\"5s\", \"30s\"]}"),
		top: fs.Int("top", 10, "with -sweep: show the best `N` configs (0: all)"),
		weight: fs.Float64("reject-weight", 1,
			"with -sweep: the cost of one good call rejected, in failed requests (`W` >= 0); cost = W × good calls rejected + failed requests"),
	}
}

// runSweep is run with -sweep: it builds the candidates from base, the
// presets and the grid, sweeps them over sc and writes the ranking.
func runSweep(fs *flag.FlagSet, sw *sweepFlags, sc sim.Scenario, base circuit.Config, seed uint64, jsonOut bool, stdout, stderr io.Writer) int {
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "circuitsim: "+format+"\n", a...)
		return exitBadInput
	}
	for _, f := range []string{"svg", "ramp", "ramp-start"} {
		if isSet(fs, f) {
			return bad("-%s: not with -sweep: the sweep ranks breaker configs (vary RampDuration and RampStart in the grid)", f)
		}
	}
	if *sw.top < 0 {
		return bad("-top %d: must be 0 (all) or more", *sw.top)
	}
	if w := *sw.weight; !(w >= 0 && w <= sim.MaxRejectWeight) {
		return bad("-reject-weight %g: must be between 0 and %g (the cost of a good call rejected, in failed requests)", w, float64(sim.MaxRejectWeight))
	}
	var grid sim.Grid
	var err error
	switch {
	case isSet(fs, "grid") && isSet(fs, "grid-file"):
		return bad("-grid and -grid-file: give one grid")
	case isSet(fs, "grid"):
		if grid, err = sim.ParseGrid(*sw.grid); err != nil {
			return bad("-grid: %v", err)
		}
	case isSet(fs, "grid-file"):
		data, err := os.ReadFile(*sw.gridFile)
		if err != nil {
			return bad("-grid-file: %v", err)
		}
		if grid, err = sim.ParseGridJSON(*sw.gridFile, data); err != nil {
			return bad("-grid-file: %v", err)
		}
	}
	cands, err := sim.Candidates(base, grid)
	if err != nil {
		return bad("-sweep: %v", err)
	}
	res, err := sim.Sweep(sc, cands, seed, *sw.weight)
	if err != nil {
		return bad("-sweep: %v", err)
	}
	if jsonOut {
		err = sim.WriteSweepJSON(stdout, res, *sw.top)
	} else {
		err = sim.WriteSweepText(stdout, res, *sw.top)
	}
	if err != nil {
		fmt.Fprintf(stderr, "circuitsim: writing the report: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// loadScenario returns the built-in scenario called arg, or the scenario
// in the file arg names when it is a path.
func loadScenario(arg string) (sim.Scenario, error) {
	for _, n := range sim.BuiltinNames() {
		if arg == n {
			return sim.Builtin(n)
		}
	}
	if _, err := os.Stat(arg); err != nil {
		if strings.ContainsAny(arg, `/\`) || filepath.Ext(arg) != "" {
			return sim.Scenario{}, fmt.Errorf("-scenario: %v", err)
		}
		return sim.Scenario{}, fmt.Errorf("-scenario: unknown scenario %q (valid: %s, or a path to a JSON file)",
			arg, strings.Join(sim.BuiltinNames(), ", "))
	}
	data, err := os.ReadFile(arg)
	if err != nil {
		return sim.Scenario{}, fmt.Errorf("-scenario: %v", err)
	}
	sc, err := sim.ParseScenario(arg, data)
	if err != nil {
		return sim.Scenario{}, fmt.Errorf("-scenario: %w", err)
	}
	if sc.Name == "" {
		sc.Name = strings.TrimSuffix(filepath.Base(arg), filepath.Ext(arg))
	}
	return sc, nil
}

func writeSVG(path string, res *sim.Result) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := sim.WriteSVG(f, res); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeList(w io.Writer) int {
	fmt.Fprintf(w, "scenarios (-scenario NAME, or a JSON file):\n")
	for _, n := range sim.BuiltinNames() {
		sc, err := sim.Builtin(n)
		if err != nil {
			fmt.Fprintf(w, "  %-12s %v\n", n, err)
			continue
		}
		def := ""
		if n == sim.DefaultScenario {
			def = " (default)"
		}
		fmt.Fprintf(w, "  %s%s, %v at %g req/s:\n", n, def, sc.Duration.Round(time.Second), sc.Rate)
		fmt.Fprintf(w, "      %s\n", sim.WrapText(sc.Description, 100, "      "))
	}
	fmt.Fprintf(w, "\npresets (-preset NAME):\n")
	for _, n := range circuit.PresetNames() {
		c, _ := circuit.Preset(n)
		fmt.Fprintf(w, "  %-12s %s\n", n, sim.FormatConfig(c))
	}
	return exitOK
}

func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// breakerConfig is the breaker's Config for a run: base, replaced by the
// preset named by -preset if set, with the fields of the -config file on
// top. Its error names the flag.
func breakerConfig(base circuit.Config, preset, file string) (circuit.Config, error) {
	cfg := base
	if preset != "" {
		var err error
		if cfg, err = circuit.Preset(preset); err != nil {
			return cfg, fmt.Errorf("-preset: unknown preset %q (valid: %s)", preset, strings.Join(circuit.PresetNames(), ", "))
		}
	}
	if file == "" {
		return cfg, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return cfg, fmt.Errorf("-config: %v", err)
	}
	if cfg, err = sim.ParseConfig(file, data, cfg); err != nil {
		return cfg, fmt.Errorf("-config: %v", err)
	}
	return cfg, nil
}
