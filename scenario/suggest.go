package scenario

import (
	"fmt"
	"slices"
	"strings"
)

// oneOf checks that v is one of names; what names the key in messages.
func oneOf(v string, names []string) string {
	if slices.Contains(names, v) {
		return ""
	}
	msg := fmt.Sprintf("%q is not one of %s", v, strings.Join(names, ", "))
	if c := closest(v, names); c != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", c)
	}
	return msg
}

// closest returns the name in names nearest to s, if near enough to be a
// likely typo, or "". Version numbers get no suggestion: "4.16" is not a
// typo of "4.14".
func closest(s string, names []string) string {
	if s == "" || strings.Trim(s, "0123456789.") == "" {
		return ""
	}
	ls := strings.ToLower(s)
	for _, n := range names {
		if len(ls) >= 2 && (strings.HasPrefix(n, ls) || strings.HasPrefix(ls, n)) {
			return n
		}
	}
	// An abbreviation: "drv" for "driver".
	for _, n := range names {
		if len(ls) >= 3 && n != "" && ls[0] == n[0] && isSubsequence(ls, n) {
			return n
		}
	}
	best, bestD := "", min(1+len(s)/3, 3)+1
	for _, n := range names {
		if d := editDistance(ls, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// isSubsequence reports whether the bytes of a appear in b in order.
func isSubsequence(a, b string) bool {
	j := 0
	for i := 0; i < len(b) && j < len(a); i++ {
		if a[j] == b[i] {
			j++
		}
	}
	return j == len(a)
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		if a == b {
			return 0
		}
		return 1 << 20
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			c = min(c, prev[j]+1, cur[j-1]+1)
			cur[j] = c
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
