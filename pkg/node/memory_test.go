package node

import "testing"

func TestMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cfg       Config
		gomem     string
		want      int64
		wantLimit bool
	}{
		{"all: the default", Config{Target: TargetAll}, "", DefaultMemoryLimitMiB << 20, true},
		{"all: given", Config{Target: TargetAll, MemoryLimitMiB: 300}, "", 300 << 20, true},
		{"all: GOMEMLIMIT wins over the default", Config{Target: TargetAll}, "1GiB", 0, false},
		{"all: the flag wins over GOMEMLIMIT", Config{Target: TargetAll, MemoryLimitMiB: 150}, "1GiB", 150 << 20, true},
		{"all: none", Config{Target: TargetAll, MemoryLimitMiB: -1}, "", 0, false},
		{"a service: none by default", Config{Target: TargetNormaliser}, "", 0, false},
		{"a service: given", Config{Target: TargetNormaliser, MemoryLimitMiB: 100}, "", 100 << 20, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOMEMLIMIT", tc.gomem)
			got, ok := tc.cfg.MemoryLimit()
			if got != tc.want || ok != tc.wantLimit {
				t.Errorf("MemoryLimit() = %d, %v; want %d, %v", got, ok, tc.want, tc.wantLimit)
			}
		})
	}
}
