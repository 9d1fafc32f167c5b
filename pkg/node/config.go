package node

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
)

// ConfigEnv names the environment variable that gives the configuration
// file when --config is not set.
const ConfigEnv = "FAIRWAY_CONFIG"

// maxConfigFile bounds the configuration file's size.
const maxConfigFile = 1 << 20

// ErrConfigFile wraps every error about the configuration file's content.
var ErrConfigFile = errors.New("node: configuration file")

// envNames are the environment variables of flags whose name does not
// follow the rule FAIRWAY_<FLAG> (upper case, dashes as underscores).
var envNames = map[string]string{
	"clickhouse": "FAIRWAY_CLICKHOUSE_ADDR",
	// FAIRWAY_DATA is the Taskfile's and scripts' variable, set by tests.
	"data": "FAIRWAY_DATA_DIR",
}

// EnvName returns the environment variable that sets the flag name:
// FAIRWAY_ and the name in upper case with underscores for dashes
// (FAIRWAY_NATS_CREDENTIALS for --nats-credentials), but for the few
// listed in envNames.
func EnvName(flag string) string {
	if e, ok := envNames[flag]; ok {
		return e
	}
	return "FAIRWAY_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// bindConfigFlag registers --config on fs.
func bindConfigFlag(fs *pflag.FlagSet, path *string) {
	fs.StringVar(path, "config", "", "YAML configuration file: one key per flag, named as the flag (settings: flag > environment > file > default; env "+ConfigEnv+")")
}

// knownSettings returns every flag name that some target defines (the keys
// a configuration file may hold, shared by all services).
func knownSettings() map[string]bool {
	known := map[string]bool{}
	for _, target := range Targets {
		fs := targetFlags(target)
		fs.VisitAll(func(f *pflag.Flag) { known[f.Name] = true })
	}
	return known
}

// targetFlags returns a scratch flag set with every flag that target's
// command defines.
func targetFlags(target string) *pflag.FlagSet {
	var cfg Config
	var logc LogConfig
	var path string
	fs := pflag.NewFlagSet(target, pflag.ContinueOnError)
	cfg.BindFlags(fs, target)
	BindLogFlags(fs, &logc)
	bindConfigFlag(fs, &path)
	return fs
}

// applySettings gives every flag of fs that the command line left unset its
// value from the environment (EnvName) or else from the configuration file
// (path, else the file that FAIRWAY_CONFIG names; none when both are
// empty). So a setting comes from its flag, else its environment variable,
// else the file, else its default. A key no service knows is an error (a
// misspelt setting must not be ignored); a key that only other services
// use is skipped, so that one file serves every service.
func applySettings(fs *pflag.FlagSet, path string) error {
	if path == "" {
		path = os.Getenv(ConfigEnv)
	}
	file := map[string]any{}
	if path != "" {
		var err error
		if file, err = readConfigFile(path); err != nil {
			return err
		}
		known := knownSettings()
		var unknown []string
		for k := range file {
			if !known[k] {
				unknown = append(unknown, k)
			}
		}
		if len(unknown) > 0 {
			slices.Sort(unknown)
			return fmt.Errorf("%w %s: unknown settings %s", ErrConfigFile, path, strings.Join(unknown, ", "))
		}
	}
	var errs []error
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed || f.Name == "config" {
			return
		}
		if v, ok := os.LookupEnv(EnvName(f.Name)); ok && v != "" {
			var vals []string
			if _, slice := f.Value.(pflag.SliceValue); slice {
				vals = strings.Split(v, ",")
			} else {
				vals = []string{v}
			}
			if err := setFlag(f, vals); err != nil {
				errs = append(errs, fmt.Errorf("node: env %s: %w", EnvName(f.Name), err))
			}
			return
		}
		raw, ok := file[f.Name]
		if !ok {
			return
		}
		vals, err := fileValues(raw)
		if err == nil {
			err = setFlag(f, vals)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%w %s: %s: %w", ErrConfigFile, path, f.Name, err))
		}
	})
	return errors.Join(errs...)
}

// readConfigFile reads a YAML mapping of setting names to values.
func readConfigFile(path string) (map[string]any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("node: configuration file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigFile+1))
	if err != nil {
		return nil, fmt.Errorf("node: configuration file %s: %w", path, err)
	}
	if len(data) > maxConfigFile {
		return nil, fmt.Errorf("%w %s: larger than %d bytes", ErrConfigFile, path, maxConfigFile)
	}
	out := map[string]any{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&out); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w %s: %w", ErrConfigFile, path, err)
	}
	return out, nil
}

// fileValues turns a YAML value into flag values: a scalar is one, a
// sequence of scalars is one per item.
func fileValues(v any) ([]string, error) {
	switch v := v.(type) {
	case []any:
		out := make([]string, 0, len(v))
		for _, item := range v {
			s, err := scalar(item)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	default:
		s, err := scalar(v)
		if err != nil {
			return nil, err
		}
		return []string{s}, nil
	}
}

func scalar(v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case bool:
		return strconv.FormatBool(v), nil
	case int:
		return strconv.Itoa(v), nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	}
	return "", fmt.Errorf("want a string, number, boolean or a list of them, not %T", v)
}

// setFlag sets f to vals: a list flag gets them all, any other exactly one.
func setFlag(f *pflag.Flag, vals []string) error {
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		return sv.Replace(vals)
	}
	if len(vals) != 1 {
		return fmt.Errorf("--%s takes one value, not %d", f.Name, len(vals))
	}
	return f.Value.Set(vals[0])
}
