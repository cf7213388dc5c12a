package train

import (
	"bufio"
	"bytes"
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// CurvePoint is one line of a learning-curve record (CurvesName).
type CurvePoint struct {
	// Step is the update count, Hours the wall time spent when it was
	// written.
	Step  int
	Hours float64
	// Loss is the training loss per token (train lines) or the dev loss
	// per token (dev lines).
	Loss float64
	// BLEU and ChrF are the dev scores (dev lines with an evaluator; -1
	// otherwise), over Sentences dev sentences.
	BLEU, ChrF float64
	Sentences  int
}

// Curves are the training and dev points of a run, by step.
type Curves struct {
	Train, Dev []CurvePoint
}

// ReadCurves reads a learning-curve record. Lines repeated for the same
// step (a resumed run redoes the work after its last checkpoint) keep the
// later one; malformed lines are errors naming the line.
func ReadCurves(path string) (*Curves, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	train, dev := map[int]CurvePoint{}, map[int]CurvePoint{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		f := strings.Split(sc.Text(), "\t")
		if len(f) == 1 && f[0] == "" {
			continue
		}
		p, err := parseCurveLine(f)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, n, err)
		}
		if f[0] == "train" {
			train[p.Step] = p
		} else {
			dev[p.Step] = p
		}
	}
	byStep := func(m map[int]CurvePoint) []CurvePoint {
		var ps []CurvePoint
		for _, p := range m {
			ps = append(ps, p)
		}
		slices.SortFunc(ps, func(a, b CurvePoint) int { return a.Step - b.Step })
		return ps
	}
	return &Curves{Train: byStep(train), Dev: byStep(dev)}, nil
}

func parseCurveLine(f []string) (CurvePoint, error) {
	var p CurvePoint
	want := map[string]int{"train": 4, "dev": 7}[f[0]]
	if want == 0 || len(f) != want {
		return p, fmt.Errorf("want a train line (4 fields) or a dev line (7 fields), got %d fields starting %q", len(f), f[0])
	}
	var err error
	num := func(s string) float64 {
		v, e := strconv.ParseFloat(s, 64)
		if e != nil && err == nil {
			err = e
		}
		return v
	}
	p.Step, p.Hours, p.Loss = int(num(f[1])), num(f[2]), num(f[3])
	p.BLEU, p.ChrF = -1, -1
	if f[0] == "dev" {
		p.BLEU, p.ChrF, p.Sentences = num(f[4]), num(f[5]), int(num(f[6]))
	}
	return p, err
}

// PlotCurves draws c into an SVG file at path (written atomically): loss
// (training and dev) and dev BLEU/chrF, each over steps and over hours.
func PlotCurves(c *Curves, title, path string) error {
	type series struct {
		name string
		pts  []CurvePoint
		y    func(CurvePoint) float64
		col  color.Color
	}
	blue, red, green := color.RGBA{R: 31, G: 119, B: 180, A: 255}, color.RGBA{R: 214, G: 39, B: 40, A: 255}, color.RGBA{R: 44, G: 160, B: 44, A: 255}
	var scored []CurvePoint
	for _, p := range c.Dev {
		if p.BLEU >= 0 {
			scored = append(scored, p)
		}
	}
	loss := []series{
		{"training loss", c.Train, func(p CurvePoint) float64 { return p.Loss }, blue},
		{"dev loss", c.Dev, func(p CurvePoint) float64 { return p.Loss }, red},
	}
	scores := []series{
		{"dev BLEU", scored, func(p CurvePoint) float64 { return p.BLEU }, blue},
		{"dev chrF", scored, func(p CurvePoint) float64 { return p.ChrF }, green},
	}
	panel := func(ss []series, ylabel string, hours bool) (*plot.Plot, error) {
		p := plot.New()
		p.Y.Label.Text = ylabel
		p.X.Label.Text = "step"
		if hours {
			p.X.Label.Text = "hours"
		}
		p.Add(plotter.NewGrid())
		p.Legend.Top = ylabel != "score" // losses fall and scores rise: the legend goes where the curves are not
		for _, s := range ss {
			if len(s.pts) == 0 {
				continue
			}
			xy := make(plotter.XYs, len(s.pts))
			for i, q := range s.pts {
				xy[i].X, xy[i].Y = float64(q.Step), s.y(q)
				if hours {
					xy[i].X = q.Hours
				}
			}
			l, pts, err := plotter.NewLinePoints(xy)
			if err != nil {
				return nil, fmt.Errorf("plotting %s: %w", s.name, err)
			}
			l.Color, pts.Color = s.col, s.col
			pts.Shape = draw.CircleGlyph{}
			if len(xy) > 40 { // dense series: the line alone
				pts.Radius = 0
			}
			p.Add(l, pts)
			p.Legend.Add(s.name, l)
		}
		return p, nil
	}
	var grid [][]*plot.Plot
	for _, row := range [][]series{loss, scores} {
		ylabel := "loss per token"
		if row[0].name == "dev BLEU" {
			ylabel = "score"
		}
		var ps []*plot.Plot
		for _, hours := range []bool{false, true} {
			p, err := panel(row, ylabel, hours)
			if err != nil {
				return err
			}
			ps = append(ps, p)
		}
		grid = append(grid, ps)
	}
	grid[0][0].Title.Text = title
	const w, h = 26 * vg.Centimeter, 18 * vg.Centimeter
	img := vgsvg.New(w, h)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 2, PadX: vg.Centimeter / 2, PadY: vg.Centimeter / 2, PadTop: vg.Centimeter / 4}
	canvases := plot.Align(grid, tiles, dc)
	for i := range grid {
		for j := range grid[i] {
			grid[i][j].Draw(canvases[i][j])
		}
	}
	var buf bytes.Buffer
	if _, err := img.WriteTo(&buf); err != nil {
		return fmt.Errorf("drawing %s: %w", path, err)
	}
	return writeFileAtomic(path, buf.Bytes())
}

// PlotName is the learning-curve picture the trainer draws beside
// CurvesName.
const PlotName = "curves.svg"

// PlotRun redraws outDir's PlotName from its CurvesName.
func PlotRun(outDir, title string) error {
	c, err := ReadCurves(filepath.Join(outDir, CurvesName))
	if err != nil {
		return err
	}
	return PlotCurves(c, title, filepath.Join(outDir, PlotName))
}
