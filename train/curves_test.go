package train

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCurvesReadAndPlot(t *testing.T) {
	dir := t.TempDir()
	rec := "train\t50\t0.1000\t7.5000\n" +
		"train\t100\t0.2000\t6.0000\n" +
		"dev\t100\t0.2100\t5.5000\t3.20\t20.10\t500\n" +
		"train\t100\t0.2500\t5.9000\n" + // a resumed run redoes step 100: the later line wins
		"\n" +
		"dev\t200\t0.4000\t4.5000\t12.50\t35.00\t500\n"
	if err := os.WriteFile(filepath.Join(dir, CurvesName), []byte(rec), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := ReadCurves(filepath.Join(dir, CurvesName))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Train) != 2 || c.Train[1].Loss != 5.9 || c.Train[1].Hours != 0.25 || len(c.Dev) != 2 || c.Dev[1].BLEU != 12.5 || c.Dev[1].ChrF != 35 || c.Dev[0].Sentences != 500 {
		t.Fatalf("curves %+v", c)
	}
	if err := PlotRun(dir, "toy run"); err != nil {
		t.Fatal(err)
	}
	svg, err := os.ReadFile(filepath.Join(dir, PlotName))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", "toy run", "training loss", "dev loss", "dev BLEU", "dev chrF", "hours", "step"} {
		if !strings.Contains(string(svg), want) {
			t.Errorf("the picture lacks %q", want)
		}
	}
	for _, bad := range []string{"train\t1\t2\n", "dev\t1\t2\t3\t4\t5\tx\n", "test\t1\t2\t3\n"} {
		os.WriteFile(filepath.Join(dir, CurvesName), []byte("train\t1\t0.1\t2\n"+bad), 0o644)
		if _, err := ReadCurves(filepath.Join(dir, CurvesName)); err == nil || !strings.Contains(err.Error(), ":2:") {
			t.Errorf("%q: error %v, want one naming line 2", bad, err)
		}
	}
}
