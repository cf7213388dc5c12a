package kernels

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// Gemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices;
// op(X) = Xᵀ when transX. op(A) is m×k, op(B) is k×n, C is m×n; lda, ldb
// and ldc are the row strides of A, B and C as stored (A is stored k×m
// when transA, B is stored n×k when transB). As in BLAS, beta == 0
// overwrites C without reading it, so C may hold garbage (even NaN).
//
// Products with m == 1 or n == 1 take a matrix-vector path, and X·Wᵀ with
// up to 64 rows of X runs as dot products that read W once; the rest goes
// through packed, cache-blocked panels. Large products are split across
// Threads() cores. Results do not depend on the thread count, and in the
// dot-product range (m from 1 to 64, transB, not transA) a row of C does not
// depend on the other rows.
func Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("kernels: Gemm with negative size m=%d n=%d k=%d", m, n, k))
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	checkMatrix("Gemm", "A", ar, ac, a, lda)
	checkMatrix("Gemm", "B", br, bc, b, ldb)
	checkMatrix("Gemm", "C", m, n, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleMatrix(m, n, beta, c, ldc)
		return
	}
	j := getJob()
	*j = job{im: cur, transA: transA, transB: transB, m: m, n: n, k: k,
		alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc}
	if m == 1 || n == 1 {
		j.setupGemv()
	} else if m <= maxDotRows && transB && !transA {
		j.kind, j.units = kindDotRows, n
	} else {
		j.kind = kindGemm
		j.splitN = n >= m
		j.units = ceilDiv(n, j.im.nr)
		if !j.splitN {
			j.units = ceilDiv(m, j.im.mr)
		}
	}
	j.do()
	putJob(j)
}

// checkMatrix panics unless x, the argument name of function fn, can hold a
// rows×cols matrix with row stride ld.
func checkMatrix(fn, name string, rows, cols int, x []float32, ld int) {
	if ld < max(1, cols) {
		panic(fmt.Sprintf("kernels: %s: ld%s=%d is smaller than the %d columns of %s as stored", fn, name, ld, cols, name))
	}
	if rows > 0 && cols > 0 && len(x) < (rows-1)*ld+cols {
		panic(fmt.Sprintf("kernels: %s: %s has %d elements, a %d×%d matrix with stride %d needs %d", fn, name, len(x), rows, cols, ld, (rows-1)*ld+cols))
	}
}

// scaleMatrix sets C = beta·C (C = 0 when beta == 0, whatever C held).
func scaleMatrix(m, n int, beta float32, c []float32, ldc int) {
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
		} else if beta != 1 {
			cur.scale(beta, row)
		}
	}
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// Work below this many multiply-adds runs on the caller's goroutine alone
// (variables so that tests can split small products too).
var (
	minParallelGemm = 1 << 21
	minParallelGemv = 1 << 19
)

// gemmMinBlock is the least number of columns (or rows) of C in a block of
// a parallel GEMM: at 256, repacking the other operand per block costs a
// few percent of the block's work.
const gemmMinBlock = 256

type jobKind int

const (
	kindGemm     jobKind = iota
	kindGemvDot          // y[j] = x·rows[j]: mat holds one output per row
	kindGemvAxpy         // y = Σ_p x[p]·mat[p]: mat holds one output per column
	kindDotRows          // C = A·Bᵀ for a few rows of A, as dot products with B's rows
	kindLowp             // MulQ8T, MulF16T: C = A·Wᵀ with W widened chunk by chunk
	kindI8               // MulI8T: C = A·Wᵀ in int8, units are panels of W
)

// maxDotRows is the largest m for which A·Bᵀ runs as dot products (each row
// of B read once for four rows of A, from cache-sized chunks) rather than
// through packed panels. Packing a transposed B costs about as much as
// reading it, so for small m the dot products win: measured on AVX-512 they
// match or beat the packed path up to m=64 for n from 512 to 58101 and k of
// 512 and 2048, and lose from m=128 on.
const maxDotRows = 64

// dotChunkFloats bounds the chunk of B the dot-product path keeps in cache.
const dotChunkFloats = 1 << 17

// job is one Gemm call, split into parts that the worker pool runs.
type job struct {
	im             *impl
	kind           jobKind
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int
	splitN         bool // gemm: parts split n (else m)
	units          int  // how many indivisible units (micro-tiles, gemv rows) there are to split
	// Matrix-vector jobs: nout outputs of x against mat (stride ldm),
	// written to c with stride incy; xbuf holds x when it was gathered.
	x               []float32
	mat             []float32
	ldm, nout, incy int
	xbuf            *[]float32
	// Low-precision jobs: W's values (one of q8, f16) and Q8's row scales.
	q8     []int8
	f16    []uint16
	scales []float32
	// int8 jobs: packed W and the quantised, packed x.
	i8   I8
	i8s  *i8Scratch
	bias []float32 // MulI8TBias: added per output column
	// Parallel jobs: parts goroutines share blocks blocks of block units,
	// taking them in order through next.
	parts, blocks, block int
	next                 atomic.Int64
	wg                   sync.WaitGroup // workers still running
}

var jobPool = sync.Pool{New: func() any { return new(job) }}

func getJob() *job { return jobPool.Get().(*job) }

func putJob(j *job) {
	if j.xbuf != nil {
		putBuf(j.xbuf)
	}
	*j = job{}
	jobPool.Put(j)
}

// do runs the job on up to Threads() cores.
func (j *job) do() {
	work := int64(j.m) * int64(j.n) * int64(j.k) // int64: no overflow on 32-bit platforms
	parts := 1
	if t := Threads(); t > 1 {
		limit := minParallelGemm
		if j.kind != kindGemm {
			limit = minParallelGemv
		}
		parts = int(min(int64(t), work/int64(limit)+1, int64(j.units)))
	}
	// Split into blocks that the parts take in turn: whole 256-output chunks
	// for matrix-vector work; for GEMM up to four blocks of whole tiles per
	// part, at least 256 rows or columns wide, because each block packs the
	// whole of the other operand again.
	j.block = gemvChunk
	if j.kind == kindI8 { // units are panels of 32 outputs
		j.block = max(ceilDiv(j.units, 4*parts), 1)
	}
	if j.kind == kindGemm {
		tile := j.im.nr
		if !j.splitN {
			tile = j.im.mr
		}
		j.block = max(ceilDiv(j.units, 4*parts), ceilDiv(gemmMinBlock, tile))
	}
	j.blocks = ceilDiv(j.units, j.block)
	j.parts = max(min(parts, j.blocks), 1)
	if j.parts == 1 {
		j.run(0, j.units)
		return
	}
	runParallel(j)
}

// work runs blocks of the job until none is left. The caller and the
// workers all run it, each taking the next block when done with one, so
// a part whose core is busy elsewhere delays the product by one block at
// most. Every block covers whole tiles or chunks, so each output runs the
// same instructions however the blocks are shared: results do not depend
// on the thread count.
func (j *job) work() {
	for {
		b := int(j.next.Add(1)) - 1
		if b >= j.blocks {
			return
		}
		j.run(b*j.block, min((b+1)*j.block, j.units))
	}
}

// run computes the units [lo, hi) of the job.
func (j *job) run(lo, hi int) {
	switch j.kind {
	case kindGemm:
		i0, i1, j0, j1 := 0, j.m, 0, j.n
		if j.splitN {
			j0, j1 = lo*j.im.nr, min(hi*j.im.nr, j.n)
		} else {
			i0, i1 = lo*j.im.mr, min(hi*j.im.mr, j.m)
		}
		j.gemm(i0, i1, j0, j1)
	case kindGemvDot:
		j.gemvDot(lo, hi)
	case kindGemvAxpy:
		j.gemvAxpy(lo, hi)
	case kindDotRows:
		j.dotRows(lo, hi)
	case kindLowp:
		j.mulLowp(lo, hi)
	case kindI8:
		j.mulI8(lo, hi)
	}
}

// gemm computes the block C[i0:i1, j0:j1] with packed, cache-blocked panels.
func (j *job) gemm(i0, i1, j0, j1 int) {
	im := j.im
	// Panel buffers as large as this block needs, up to the cache blocks.
	asize := min(im.mc, ceilDiv(i1-i0, im.mr)*im.mr) * min(im.kc, j.k)
	bsize := min(im.nc, ceilDiv(j1-j0, im.nr)*im.nr) * min(im.kc, j.k)
	buf := getBuf(asize + bsize + im.mr*im.nr)
	ap := (*buf)[:asize]
	bp := (*buf)[asize : asize+bsize]
	tile := (*buf)[asize+bsize:]
	for jc := j0; jc < j1; jc += im.nc {
		nc := min(im.nc, j1-jc)
		for pc := 0; pc < j.k; pc += im.kc {
			kc := min(im.kc, j.k-pc)
			beta := j.beta
			if pc > 0 {
				beta = 1
			}
			packB(im, bp, j.transB, j.b, j.ldb, pc, kc, jc, nc, im.nr)
			for ic := i0; ic < i1; ic += im.mc {
				mc := min(im.mc, i1-ic)
				packA(im, ap, j.transA, j.a, j.lda, ic, mc, pc, kc, im.mr, j.alpha)
				for jr := 0; jr < nc; jr += im.nr {
					nr := min(im.nr, nc-jr)
					bpan := bp[jr*kc : (jr+im.nr)*kc]
					for ir := 0; ir < mc; ir += im.mr {
						mr := min(im.mr, mc-ir)
						apan := ap[ir*kc : (ir+im.mr)*kc]
						off := (ic+ir)*j.ldc + jc + jr
						if mr == im.mr && nr == im.nr {
							im.kernel(kc, apan, bpan, j.c[off:], j.ldc, beta)
							continue
						}
						im.kernel(kc, apan, bpan, tile, im.nr, 0)
						for i := range mr {
							crow := j.c[off+i*j.ldc : off+i*j.ldc+nr]
							trow := tile[i*im.nr : i*im.nr+nr]
							if beta == 0 {
								copy(crow, trow)
								continue
							}
							for t, v := range trow {
								crow[t] = v + beta*crow[t]
							}
						}
					}
				}
			}
		}
	}
	putBuf(buf)
}

// packA copies alpha·op(A)[i0:i0+mc, p0:p0+kc] into dst as micro-panels of
// mr rows: panel r holds kc steps of mr values, rows past mc are zero.
func packA(im *impl, dst []float32, trans bool, a []float32, lda, i0, mc, p0, kc, mr int, alpha float32) {
	for ir := 0; ir < mc; ir += mr {
		pan := dst[ir*kc : (ir+mr)*kc]
		rows := min(mr, mc-ir)
		if trans {
			for p := range kc {
				d := pan[p*mr : p*mr+mr]
				copy(d, a[(p0+p)*lda+i0+ir:(p0+p)*lda+i0+ir+rows])
				clear(d[rows:])
			}
		} else {
			packRows(im, pan, a[(i0+ir)*lda+p0:], lda, rows, kc, mr)
		}
	}
	if alpha != 1 {
		im.scale(alpha, dst[:ceilDiv(mc, mr)*mr*kc])
	}
}

// packB copies op(B)[p0:p0+kc, j0:j0+nc] into dst as micro-panels of nr
// columns: panel r holds kc steps of nr values, columns past nc are zero.
func packB(im *impl, dst []float32, trans bool, b []float32, ldb, p0, kc, j0, nc, nr int) {
	for jr := 0; jr < nc; jr += nr {
		pan := dst[jr*kc : (jr+nr)*kc]
		cols := min(nr, nc-jr)
		if trans {
			packRows(im, pan, b[(j0+jr)*ldb+p0:], ldb, cols, kc, nr)
			continue
		}
		for p := range kc {
			d := pan[p*nr : p*nr+nr]
			copy(d, b[(p0+p)*ldb+j0+jr:(p0+p)*ldb+j0+jr+cols])
			clear(d[cols:])
		}
	}
}

// packRows transposes rows vectors of kc values (src[t*ld : t*ld+kc]) into
// a panel of kc steps of width values (pan[p*width+t]), zero past rows.
// Blocks of 8 rows go through the 8×8 transpose; a last partial block
// overlaps the one before it (rewriting equal values) when rows >= 8.
func packRows(im *impl, pan, src []float32, ld, rows, kc, width int) {
	kc8 := kc &^ 7
	if rows >= 8 && kc8 > 0 {
		for t := 0; t < rows; t += 8 {
			t = min(t, rows-8)
			im.transpose8(src[t*ld:], ld, pan[t:], width, kc8)
		}
	} else {
		kc8 = 0
	}
	for t := range rows {
		row := src[t*ld : t*ld+kc]
		for p := kc8; p < kc; p++ {
			pan[p*width+t] = row[p]
		}
	}
	if rows < width {
		for p := range kc {
			clear(pan[p*width+rows : p*width+width])
		}
	}
}

// dotRows computes C[:, lo:hi] = alpha·A·Bᵀ + beta·C[:, lo:hi] for m <=
// maxDotRows, four rows of A at a time against chunks of B's rows that stay
// in cache while every group of four reads them.
func (j *job) dotRows(lo, hi int) {
	buf := getBuf(4*gemvChunk + 4*j.k)
	// Rows of B per chunk: up to 256, fewer when rows are long, so that a
	// chunk (at most dotChunkFloats) stays in L2 for all groups of A's rows.
	step := min(gemvChunk, max(8, dotChunkFloats/j.k))
	for o := lo; o < hi; o += step {
		j.dotChunk(j.b[o*j.ldb:], j.ldb, o, min(step, hi-o), *buf)
	}
	putBuf(buf)
}

// dotChunk computes the outputs C[:, o:o+n] from the n rows of w (stride
// ldw), the matching rows of B: every group of four rows of A against all
// of them with dotX4, stored with scaleInto. buf holds 4·gemvChunk + 4·k
// floats of scratch.
func (j *job) dotChunk(w []float32, ldw, o, n int, buf []float32) {
	t, pad := buf[:4*gemvChunk], buf[4*gemvChunk:4*gemvChunk+4*j.k]
	for i := 0; i < j.m; i += 4 {
		x, ldx, rows := j.a[i*j.lda:], j.lda, min(4, j.m-i)
		if rows < 4 {
			clear(pad)
			for r := range rows {
				copy(pad[r*j.k:(r+1)*j.k], j.a[(i+r)*j.lda:])
			}
			x, ldx = pad, j.k
		}
		j.im.dotX4(j.k, x, ldx, w, ldw, n, t, gemvChunk)
		for r := range rows {
			j.scaleInto(j.c[(i+r)*j.ldc+o:], 1, o, t[r*gemvChunk:r*gemvChunk+n])
		}
	}
}

// setupGemv turns a product with m == 1 or n == 1 into a matrix-vector
// product: a vector x of length k against a matrix mat whose outputs are
// either its rows (kindGemvDot) or its columns (kindGemvAxpy), written to
// y = c with stride incy.
func (j *job) setupGemv() {
	if j.m == 1 {
		// x = op(A) row 0; outputs are C's n columns.
		j.x = j.vector(j.a, j.transA, j.lda)
		j.mat, j.ldm, j.nout, j.incy = j.b, j.ldb, j.n, 1
		j.kind = kindGemvAxpy
		if j.transB {
			j.kind = kindGemvDot
		}
	} else {
		// x = op(B) column 0; outputs are C's m rows.
		j.x = j.vector(j.b, !j.transB, j.ldb)
		j.mat, j.ldm, j.nout, j.incy = j.a, j.lda, j.m, j.ldc
		j.kind = kindGemvDot
		if j.transA {
			j.kind = kindGemvAxpy
		}
	}
	j.units = j.nout
}

// vector returns the k values v[p*ld] (strided) or v[:k] (contiguous).
func (j *job) vector(v []float32, strided bool, ld int) []float32 {
	if !strided || j.k == 1 {
		return v[:j.k]
	}
	j.xbuf = getBuf(j.k)
	x := (*j.xbuf)[:j.k]
	for p := range x {
		x[p] = v[p*ld]
	}
	return x
}

// gemvChunk is how many outputs a matrix-vector part computes at a time
// into a scratch buffer before scaling them into C.
const gemvChunk = 256

// gemvDot computes outputs [lo, hi) as dot products of x with mat's rows.
func (j *job) gemvDot(lo, hi int) {
	buf := getBuf(gemvChunk)
	for o := lo; o < hi; o += gemvChunk {
		t := (*buf)[:min(gemvChunk, hi-o)]
		j.im.dotRows(j.x, j.mat[o*j.ldm:], j.ldm, t)
		j.store(o, t)
	}
	putBuf(buf)
}

// gemvAxpy computes outputs [lo, hi) as Σ_p x[p]·mat[p, lo:hi].
func (j *job) gemvAxpy(lo, hi int) {
	buf := getBuf(gemvChunk)
	for o := lo; o < hi; o += gemvChunk {
		acc := (*buf)[:min(gemvChunk, hi-o)]
		clear(acc)
		for p, xp := range j.x {
			j.im.axpy(xp, j.mat[p*j.ldm+o:p*j.ldm+o+len(acc)], acc)
		}
		j.store(o, acc)
	}
	putBuf(buf)
}

// store sets y[o+i] = alpha·t[i] + beta·y[o+i] (y = C with stride incy).
func (j *job) store(o int, t []float32) { j.scaleInto(j.c[o*j.incy:], j.incy, o, t) }

// scaleInto sets y[i*inc] = alpha·t[i] + beta·y[i*inc], t[i] being output
// o+i; in low-precision products alpha·t[i] is multiplied by that row's
// scale as well.
func (j *job) scaleInto(y []float32, inc, o int, t []float32) {
	for i, v := range t {
		v *= j.alpha
		if j.scales != nil {
			v *= j.scales[o+i]
		}
		if j.beta == 0 {
			y[i*inc] = v
		} else {
			y[i*inc] = v + j.beta*y[i*inc]
		}
	}
}

// Scratch buffers (packing panels, gathered vectors) are recycled.
var bufPool sync.Pool

func getBuf(n int) *[]float32 {
	if p, ok := bufPool.Get().(*[]float32); ok {
		if cap(*p) >= n {
			*p = (*p)[:n]
			return p
		}
	}
	s := make([]float32, n)
	return &s
}

func putBuf(p *[]float32) { bufPool.Put(p) }
