package usage

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// defaultRobots are user-agent patterns of crawlers, spiders, monitors,
// link checkers and the like, whose traffic COUNTER excludes: the node's
// own short list, in the spirit of COUNTER's robots list. An operator
// gives a fuller or newer list with a file (see LoadRobots).
var defaultRobots = []string{
	`bot\b`, `bot[/_-]`, `crawl`, `spider`, `slurp`, `scrap`, `archiver`, `heritrix`,
	`facebookexternalhit`, `embedly`, `preview`, `monitor`, `uptime`, `pingdom`, `statuscake`,
	`check_http`, `nagios`, `zabbix`, `linkcheck`, `link-check`, `validator`, `feedfetcher`,
	`headless`, `phantomjs`, `lighthouse`, `ia_archiver`, `wayback`, `nutch`, `mediapartners`,
	`yandex`, `baidu`, `sogou`, `exabot`, `seznam`, `petalsearch`, `bytespider`, `ccbot`,
	`gptbot`, `claudebot`, `anthropic-ai`, `google-extended`, `perplexitybot`, `amazonbot`,
	`applebot`, `diffbot`, `ahrefs`, `semrush`, `mj12`, `dotbot`, `blexbot`, `oai-pmh harvester`,
}

// defaultMachine are user-agent patterns of scripted clients: command-line
// tools and HTTP libraries. Their traffic is counted as Machine access.
var defaultMachine = []string{
	`^curl/`, `^wget/`, `python-requests`, `python-urllib`, `^python/`, `aiohttp`, `httpx`,
	`go-http-client`, `^java/`, `okhttp`, `apache-httpclient`, `libwww-perl`, `lwp::`,
	`^node-fetch`, `^axios/`, `^undici`, `^ruby`, `faraday`, `^r \(`, `libcurl`, `httr`,
	`^rest-client`, `powershell`, `^dart:`, `^guzzlehttp`, `^php`,
}

// defaultAgents are user-agent patterns of AI agents fetching on a
// person's behalf (not training crawlers, which are robots): counted apart.
var defaultAgents = []string{
	`chatgpt-user`, `claude-user`, `claude-web`, `perplexity-user`, `mistralai-user`,
	`gemini-deep-research`, `copilot`, `\bmcp\b`, `model context protocol`,
}

// Class is what a Classifier found of a user agent.
type Class struct {
	// Robot: in the robots list; the event is stored but never counted.
	Robot bool
	// Machine: a scripted client; counted as Machine access.
	Machine bool
	// Agent: an AI agent; counted apart.
	Agent bool
}

// patterns is one compiled list.
type patterns struct {
	re    *regexp.Regexp
	count int
}

func compile(list []string) (patterns, error) {
	if len(list) == 0 {
		return patterns{}, nil
	}
	for i, p := range list {
		if _, err := regexp.Compile(p); err != nil {
			return patterns{}, fmt.Errorf("usage: pattern %d %.80q: %w", i+1, p, err)
		}
	}
	re, err := regexp.Compile(`(?i)(?:` + strings.Join(list, `)|(?:`) + `)`)
	if err != nil {
		return patterns{}, fmt.Errorf("usage: patterns: %w", err)
	}
	return patterns{re: re, count: len(list)}, nil
}

func (p patterns) match(s string) bool { return p.re != nil && p.re.MatchString(s) }

// Classifier classifies user agents: robots (a list the operator can
// replace and reload), scripted clients and AI agents. An empty user agent
// is a scripted client. It is safe for concurrent use.
type Classifier struct {
	robots  atomic.Pointer[patterns]
	machine patterns
	agents  patterns

	mu       sync.Mutex
	path     string
	modified time.Time
	size     int64
}

// DefaultClassifier returns the classifier of the built-in lists.
func DefaultClassifier() *Classifier {
	c, err := newClassifier(defaultRobots)
	if err != nil {
		panic(err) // the built-in lists compile: a test checks them
	}
	return c
}

func newClassifier(robots []string) (*Classifier, error) {
	r, err := compile(robots)
	if err != nil {
		return nil, err
	}
	m, err := compile(defaultMachine)
	if err != nil {
		return nil, err
	}
	a, err := compile(defaultAgents)
	if err != nil {
		return nil, err
	}
	c := &Classifier{machine: m, agents: a}
	c.robots.Store(&r)
	return c, nil
}

// Classify says what the user agent ua is.
func (c *Classifier) Classify(ua string) Class {
	ua = strings.TrimSpace(ua)
	if len(ua) > MaxUserAgentBytes {
		ua = ua[:MaxUserAgentBytes]
	}
	if ua == "" {
		return Class{Machine: true}
	}
	if c.agents.match(ua) {
		return Class{Agent: true, Machine: c.machine.match(ua)}
	}
	if c.robots.Load().match(ua) {
		return Class{Robot: true}
	}
	return Class{Machine: c.machine.match(ua)}
}

// Robots returns how many robot patterns are in force.
func (c *Classifier) Robots() int { return c.robots.Load().count }

// MaxRobotsFile bounds a robots file.
const MaxRobotsFile = 4 << 20

// ReadRobots reads a robots list: one regular expression (RE2 syntax,
// matched anywhere in the user agent, without regard to case) per line;
// blank lines and lines starting with # are skipped. A JSON array of
// objects with a "pattern" field (the layout of COUNTER's list) is read
// too.
func ReadRobots(r io.Reader) ([]string, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxRobotsFile+1))
	if err != nil {
		return nil, fmt.Errorf("usage: robots: %w", err)
	}
	if len(data) > MaxRobotsFile {
		return nil, fmt.Errorf("usage: robots: larger than %d bytes", MaxRobotsFile)
	}
	if t := strings.TrimSpace(string(data)); strings.HasPrefix(t, "[") {
		return readRobotsJSON(data)
	}
	var list []string
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		list = append(list, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("usage: robots: %w", err)
	}
	return list, nil
}

// LoadRobots returns a classifier whose robots list is the file at path
// (see ReadRobots); Reload reads it again when it changed.
func LoadRobots(path string) (*Classifier, error) {
	c, err := newClassifier(nil)
	if err != nil {
		return nil, err
	}
	c.path = path
	if _, err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// ErrNoFile is returned by Reload of a classifier not loaded from a file.
var ErrNoFile = errors.New("usage: robots list not loaded from a file")

// Reload reads the robots file again when its size or modification time
// changed, and reports whether it did. A file that no longer reads or
// compiles leaves the list in force as it was.
func (c *Classifier) Reload() (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.path == "" {
		return false, ErrNoFile
	}
	fi, err := os.Stat(c.path)
	if err != nil {
		return false, fmt.Errorf("usage: robots: %w", err)
	}
	if fi.ModTime().Equal(c.modified) && fi.Size() == c.size {
		return false, nil
	}
	f, err := os.Open(c.path)
	if err != nil {
		return false, fmt.Errorf("usage: robots: %w", err)
	}
	defer f.Close()
	list, err := ReadRobots(f)
	if err != nil {
		return false, fmt.Errorf("%s: %w", c.path, err)
	}
	p, err := compile(list)
	if err != nil {
		return false, fmt.Errorf("usage: robots %s: %w", c.path, err)
	}
	c.robots.Store(&p)
	c.modified, c.size = fi.ModTime(), fi.Size()
	return true, nil
}

// Watch reloads the robots file every interval until ctx ends, logging
// what it did; a failed reload keeps the list in force.
func (c *Classifier) Watch(ctx context.Context, interval time.Duration, log *slog.Logger) {
	if c.path == "" || interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			changed, err := c.Reload()
			if err != nil {
				log.Warn("robots list not reloaded; the last one stays in force", "path", c.path, "err", err)
			} else if changed {
				log.Info("robots list reloaded", "path", c.path, "patterns", c.Robots())
			}
		}
	}
}
