package oaipmh

import (
	"testing"
	"time"
)

func TestParseDate(t *testing.T) {
	utc := func(y int, m time.Month, d, h, mi, s, ns int) time.Time {
		return time.Date(y, m, d, h, mi, s, ns, time.UTC)
	}
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{in: "2011", want: utc(2011, 1, 1, 0, 0, 0, 0)},
		{in: "2011-07", want: utc(2011, 7, 1, 0, 0, 0, 0)},
		{in: "2011-07-18", want: utc(2011, 7, 18, 0, 0, 0, 0)},
		{in: " 2011-07-18\n", want: utc(2011, 7, 18, 0, 0, 0, 0)},
		{in: "2011-07-18Z", want: utc(2011, 7, 18, 0, 0, 0, 0)},
		{in: "2011-07-18T16:31:00Z", want: utc(2011, 7, 18, 16, 31, 0, 0)},
		{in: "2011-07-18T16:31Z", want: utc(2011, 7, 18, 16, 31, 0, 0)},
		{in: "2011-07-18T16:31:00", want: utc(2011, 7, 18, 16, 31, 0, 0)},
		{in: "2011-07-18 16:31:00", want: utc(2011, 7, 18, 16, 31, 0, 0)},
		{in: "2011-07-18t16:31:00z", want: utc(2011, 7, 18, 16, 31, 0, 0)},
		{in: "2011-07-18T16:31:00.123456Z", want: utc(2011, 7, 18, 16, 31, 0, 123456000)},
		{in: "2011-07-18T16:31:00.1234567891Z", want: utc(2011, 7, 18, 16, 31, 0, 123456789)},
		{in: "2011-07-18T16:31:00+02:00", want: utc(2011, 7, 18, 14, 31, 0, 0)},
		{in: "2011-07-18T16:31:00-0130", want: utc(2011, 7, 18, 18, 1, 0, 0)},
		{in: "2011-07-18T16:31:00+02", want: utc(2011, 7, 18, 14, 31, 0, 0)},
		{in: "2011-07-18T16:31:00 +02:00", want: utc(2011, 7, 18, 14, 31, 0, 0)},
		{in: "2011-07-00", want: utc(2011, 7, 1, 0, 0, 0, 0)},
		{in: "2011-00-00", want: utc(2011, 1, 1, 0, 0, 0, 0)},
		{in: "2011-00", want: utc(2011, 1, 1, 0, 0, 0, 0)},
		{in: "2020-02-29", want: utc(2020, 2, 29, 0, 0, 0, 0)},
		{in: "2016-12-31T23:59:60Z", want: utc(2016, 12, 31, 23, 59, 59, 0)},
		{in: "2011-07-18T24:00:00Z", want: utc(2011, 7, 19, 0, 0, 0, 0)},
		{in: "", wantErr: true},
		{in: "11-07-18", wantErr: true},
		{in: "2011-13-01", wantErr: true},
		{in: "2011-02-30", wantErr: true},
		{in: "2019-02-29", wantErr: true},
		{in: "2011-07-32", wantErr: true},
		{in: "2011-07-18T25:00:00Z", wantErr: true},
		{in: "2011-07-18T16:61:00Z", wantErr: true},
		{in: "2011-07-18T16", wantErr: true},
		{in: "2011-07-18T16:31:00Q", wantErr: true},
		{in: "2011-07-18T16:31:00+2", wantErr: true},
		{in: "2011-07-18T16:31:00+15:00", wantErr: true},
		{in: "2011-07-18T16:31:00.Z", wantErr: true},
		{in: "2002-06-01T03:020:00Z", wantErr: true}, // from sickle's badArgument sample
		{in: "not a date", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDate(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseDate(%q) = %v, want an error", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseDate(%q): %v", tt.in, err)
			}
			if !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Errorf("ParseDate(%q) = %v, want %v (UTC)", tt.in, got, tt.want)
			}
		})
	}
}

func TestFormatDate(t *testing.T) {
	ts := time.Date(2024, 3, 5, 23, 30, 9, 0, time.FixedZone("", -3600))
	tests := []struct {
		granularity, want string
	}{
		{GranularityDay, "2024-03-06"},
		{GranularitySeconds, "2024-03-06T00:30:09Z"},
		{"", "2024-03-06T00:30:09Z"},
	}
	for _, tt := range tests {
		if got := FormatDate(ts, tt.granularity); got != tt.want {
			t.Errorf("FormatDate(%q) = %q, want %q", tt.granularity, got, tt.want)
		}
	}
}
