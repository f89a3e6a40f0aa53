package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"hash/crc32"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"github.com/xbcheck/xbcheck/diagram"
)

var update = flag.Bool("update", false, "rewrite docs/report (the example report, and its screenshot when chromium is installed)")

// The example report of docs/report: the seed 1 counterexample, and a
// screenshot of its step 3 (libxl re-creates the dead backend's
// directory while writing online = 0).
const (
	exampleDir      = "../docs/report"
	exampleHTML     = "example.html"
	examplePNG      = "example.png"
	exampleStep     = "#c0-s3"
	exampleScenario = "seed1-backend-gone-4.10"
	refreshReport   = "refresh with: make diagrams (or go test ./report -run Example -update)"
	// pngKey is the PNG text chunk that records which HTML the screenshot
	// was taken of: the SHA-256 of its bytes.
	pngKey = "xbcheck-html-sha256"
)

func exampleRun(t testing.TB) *Run {
	run := checked(t, exampleScenario)
	run.Title = "xbcheck: " + exampleScenario
	run.Command = "xbcheck --html DIR scenarios/" + exampleScenario + ".toml"
	return run
}

var svgElement = regexp.MustCompile(`(?s)<svg.*?</svg>`)

// maskSVG replaces each inline SVG by a placeholder: what dot draws
// depends on the Graphviz version (the DOT it draws is golden in
// diagram/), and the rest of the page must not.
func maskSVG(b []byte) string {
	return svgElement.ReplaceAllString(string(b), "<svg>(drawn by dot)</svg>")
}

// TestExampleGolden fails when docs/report/example.html is not what the
// model and this package give now, SVGs aside (they depend on the
// Graphviz version). With -update it rewrites the page and, when
// chromium is installed, its screenshot.
func TestExampleGolden(t *testing.T) {
	if !diagram.DotAvailable() {
		if os.Getenv("CI") == "true" {
			t.Fatal("Graphviz dot is not installed (make test installs it)")
		}
		t.Skip("Graphviz dot is not installed: example report not checked")
	}
	page, err := HTML(exampleRun(t), Options{OmitTimes: true})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(exampleDir, exampleHTML)
	if *update {
		if err := os.MkdirAll(exampleDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, page, 0o644); err != nil {
			t.Fatal(err)
		}
		shot := screenshot(t, path)
		if err := os.WriteFile(filepath.Join(exampleDir, examplePNG), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v; %s", err, refreshReport)
	}
	if got, want := maskSVG(page), maskSVG(old); got != want {
		t.Errorf("docs/report/%s is stale (-file +now):\n%s\n%s", exampleHTML, cmp.Diff(strings.Split(want, "\n"), strings.Split(got, "\n")), refreshReport)
	}
}

// TestExampleScreenshotFresh: docs/report/example.png is a PNG taken of
// the committed example.html (it records the page's SHA-256), so it
// cannot fall behind the page, and the page cannot fall behind the
// model (TestExampleGolden). Pixels are not compared: they depend on
// Chromium's version and fonts.
func TestExampleScreenshotFresh(t *testing.T) {
	html, err := os.ReadFile(filepath.Join(exampleDir, exampleHTML))
	if err != nil {
		t.Fatalf("%v; %s", err, refreshReport)
	}
	data, err := os.ReadFile(filepath.Join(exampleDir, examplePNG))
	if err != nil {
		t.Fatalf("%v; %s", err, refreshReport)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("docs/report/%s: %v", examplePNG, err)
	}
	if b := img.Bounds(); b.Dx() < 800 || b.Dy() < 600 {
		t.Errorf("docs/report/%s is %dx%d; want a full screenshot", examplePNG, b.Dx(), b.Dy())
	}
	sum := sha256.Sum256(html)
	if got, want := pngText(data)[pngKey], hex.EncodeToString(sum[:]); got != want {
		t.Errorf("docs/report/%s was taken of another page (%s %q, example.html has %s); %s", examplePNG, pngKey, got, want, refreshReport)
	}
}

// screenshot loads the page at path in Chromium at the example's step
// and returns a PNG of the window, with the page's SHA-256 in a text
// chunk.
func screenshot(t *testing.T, path string) []byte {
	t.Helper()
	html, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, pl := browser(t, 1400, 1150)
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+abs+exampleStep)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "c0", 3)
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.getElementById('c0').scrollIntoView()`)); err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	pl.check(t)
	sum := sha256.Sum256(html)
	out, err := addPNGText(shot, pngKey, hex.EncodeToString(sum[:]))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var pngSig = []byte("\x89PNG\r\n\x1a\n")

// addPNGText inserts a tEXt chunk key=value after the PNG's IHDR chunk.
func addPNGText(data []byte, key, value string) ([]byte, error) {
	if !bytes.HasPrefix(data, pngSig) || len(data) < 33 {
		return nil, fmt.Errorf("not a PNG")
	}
	ihdrEnd := 8 + 12 + int(binary.BigEndian.Uint32(data[8:12]))
	body := append([]byte("tEXt"+key+"\x00"), value...)
	var chunk bytes.Buffer
	binary.Write(&chunk, binary.BigEndian, uint32(len(body)-4))
	chunk.Write(body)
	binary.Write(&chunk, binary.BigEndian, crc32.ChecksumIEEE(body))
	out := append([]byte(nil), data[:ihdrEnd]...)
	out = append(out, chunk.Bytes()...)
	return append(out, data[ihdrEnd:]...), nil
}

// pngText returns the tEXt chunks of a PNG.
func pngText(data []byte) map[string]string {
	out := map[string]string{}
	if !bytes.HasPrefix(data, pngSig) {
		return out
	}
	for i := 8; i+12 <= len(data); {
		n := int(binary.BigEndian.Uint32(data[i : i+4]))
		if i+12+n > len(data) {
			break
		}
		typ := string(data[i+4 : i+8])
		if typ == "tEXt" {
			if k, v, ok := strings.Cut(string(data[i+8:i+8+n]), "\x00"); ok {
				out[k] = v
			}
		}
		i += 12 + n
	}
	return out
}
