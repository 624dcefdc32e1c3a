//! nengo's operators over [`Span`]s: one variant per kind, each step a plain loop.
//!
//! Semantics follow `nengo.builder.operator` (nengo 4.1): `Y += A * X` element by element,
//! `Y += A @ X` for dense, block-sparse (BSR) and sparse (CSR) matrices, copies that set or
//! increment (repeated increments accumulate, as `np.add.at`), resets, and the time update.

use rayon::prelude::*;
use rayon::ThreadPool;

use super::filters::LinearFilter;
use super::learning::LearningRule;
use super::neurons::NeuronKind;
use super::noise::WhiteNoise;
use super::span::Span;
use super::tables::TableProcess;

/// A dense matrix in place: element (r, c) at `ptr + r * row_stride + c * col_stride`.
#[derive(Debug)]
pub struct Matrix {
    pub ptr: *const f64,
    pub rows: usize,
    pub cols: usize,
    pub row_stride: isize,
    pub col_stride: isize,
}

/// A compressed-row sparsity pattern: row `r` owns entries `indptr[r]..indptr[r + 1]`.
#[derive(Debug)]
pub struct Pattern {
    pub indptr: Vec<usize>,
    pub indices: Vec<usize>,
}

/// One operator of a nengo model.
#[derive(Debug)]
pub enum Op {
    /// `step += 1; time = step * dt`.
    TimeUpdate { step: *mut i64, time: *mut f64, dt: f64 },
    /// `dst[...] = value`.
    Reset { dst: Span, value: f64 },
    /// `dst = src` or `dst += src`, element k to element k.
    Copy { src: Span, dst: Span, inc: bool },
    /// `y += a * x`, with broadcasting already expanded into the spans' offsets.
    ElementwiseInc { a: Span, x: Span, y: Span },
    /// `y += A @ x` for a dense matrix.
    DotInc { a: Matrix, x: Span, y: Span },
    /// `y += A @ x` for a block-sparse matrix whose blocks (`br` × `bc`, row-major, C-contiguous)
    /// start at `blocks`; block row `r` holds blocks `indptr[r]..indptr[r + 1]`.
    BsrDotInc { blocks: *const f64, br: usize, bc: usize, pattern: Pattern, x: Span, y: Span },
    /// `y += A @ x` for a CSR matrix whose values start at `data`.
    CsrDotInc { data: *const f64, pattern: Pattern, x: Span, y: Span },
    /// One step of a population of nengo neurons (all spans contiguous and disjoint).
    Neurons { kind: NeuronKind, dt: f64, j: Span, out: Span, states: Vec<Span> },
    /// One step of a linear synapse filter (`SimProcess` of a `LinearFilter`).
    Filter(LinearFilter),
    /// One step of an input process that emits a row of a table (`SimProcess` of a
    /// `PresentInput`, `Piecewise` or `WhiteSignal`).
    Table(TableProcess),
    /// One step of a `WhiteNoise` process (`SimProcess` without input).
    Noise(WhiteNoise),
    /// One step of a learning rule, writing its weight change.
    Learning(LearningRule),
}

/// Neurons (or block-matrix products) below which an operator runs on the calling thread:
/// handing work to the pool and joining costs several microseconds.
pub const PARALLEL_MIN_NEURONS: usize = 4096;
pub const PARALLEL_MIN_PRODUCTS: usize = 32_768;

/// A pointer handed to the pool's threads, each of which touches its own elements only.
#[derive(Clone, Copy)]
pub(crate) struct Shared<T>(pub(crate) T);
// SAFETY: used only for disjoint ranges of arrays that outlive the parallel section, and for
// the program run by one pool thread while the caller waits.
unsafe impl<T> Send for Shared<T> {}
unsafe impl<T> Sync for Shared<T> {}

/// `0..n` in at most one range per thread of `pool`, each a multiple of `granule` long
/// (except the last): the ranges a parallel operator hands out.
fn ranges(n: usize, pool: &ThreadPool, granule: usize) -> Vec<(usize, usize)> {
    let chunk = n.div_ceil(pool.current_num_threads()).next_multiple_of(granule).max(granule);
    (0..n).step_by(chunk).map(|start| (start, (start + chunk).min(n))).collect()
}

impl Op {
    /// Runs one step of the operator; `scratch` is reused working memory. With a `pool`, the
    /// large neuron populations and block products are split over its threads; every element
    /// is computed by the same arithmetic either way, so results do not depend on the
    /// number of threads.
    ///
    /// # Safety
    /// Every span and pointer must address live memory (the simulator's signal arrays), and
    /// the spans an operator writes must not overlap the ones it reads, unless noted.
    pub unsafe fn run(&mut self, scratch: &mut Vec<f64>, pool: Option<&ThreadPool>) {
        match self {
            Op::TimeUpdate { step, time, dt } => {
                **step += 1;
                **time = **step as f64 * *dt;
            }
            Op::Reset { dst, value } => match dst.as_mut_slice() {
                Some(values) => values.fill(*value),
                None => (0..dst.len()).for_each(|k| *dst.at(k) = *value),
            },
            Op::Copy { src, dst, inc } => run_copy(src, dst, *inc, scratch),
            Op::ElementwiseInc { a, x, y } => run_elementwise_inc(a, x, y),
            Op::DotInc { a, x, y } => run_dot_inc(a, x, y, scratch, pool),
            Op::BsrDotInc { blocks, br, bc, pattern, x, y } => {
                let xs = x.read_view(y, scratch);
                let (br, bc) = (*br, *bc);
                let n_block_rows = pattern.indptr.len() - 1;
                let products = pattern.indices.len() * br * bc;
                let (blocks, y_ptr) = (Shared(*blocks), Shared(&*y as *const Span));
                let rows = |start: usize, end: usize| {
                    let (blocks, y) = (blocks, y_ptr);
                    // SAFETY: block rows start..end write only their own rows of y.
                    unsafe { bsr_block_rows(blocks.0, br, bc, pattern, xs, &*y.0, start, end) }
                };
                match pool {
                    Some(pool) if products >= PARALLEL_MIN_PRODUCTS && y.as_slice().is_some() => {
                        pool.install(|| ranges(n_block_rows, pool, 1).into_par_iter().for_each(|(a, b)| rows(a, b)))
                    }
                    _ => rows(0, n_block_rows),
                }
            }
            Op::CsrDotInc { data, pattern, x, y } => {
                let xs = x.read_view(y, scratch);
                for r in 0..pattern.indptr.len() - 1 {
                    let mut sum = 0.0;
                    for entry in pattern.indptr[r]..pattern.indptr[r + 1] {
                        sum += *data.add(entry) * xs[pattern.indices[entry]];
                    }
                    *y.at(r) += sum;
                }
            }
            Op::Neurons { kind, dt, j, out, states } => {
                let n = j.len();
                let j = Shared(j.as_slice().expect("contiguous input").as_ptr());
                let out = Shared(out.as_mut_slice().expect("contiguous output").as_mut_ptr());
                let states: Vec<Shared<*mut f64>> =
                    states.iter().map(|s| Shared(s.as_mut_slice().expect("contiguous state").as_mut_ptr())).collect();
                let neurons = |start: usize, end: usize| {
                    let (j, out, states) = (j, out, &states);
                    let len = end - start;
                    // SAFETY: the input, output and states are n-element arrays (checked when
                    // the operator was built); each call steps its own range of them.
                    unsafe {
                        let mut state_slices: Vec<&mut [f64]> =
                            states.iter().map(|s| std::slice::from_raw_parts_mut(s.0.add(start), len)).collect();
                        kind.step(
                            *dt,
                            std::slice::from_raw_parts(j.0.add(start), len),
                            std::slice::from_raw_parts_mut(out.0.add(start), len),
                            &mut state_slices,
                        );
                    }
                };
                match pool {
                    Some(pool) if n >= PARALLEL_MIN_NEURONS => {
                        pool.install(|| ranges(n, pool, 512).into_par_iter().for_each(|(a, b)| neurons(a, b)))
                    }
                    _ => neurons(0, n),
                }
            }
            Op::Filter(filter) => filter.step(scratch),
            Op::Table(process) => process.step(),
            Op::Noise(process) => process.step(),
            Op::Learning(rule) => rule.step(),
        }
    }
}

/// Block rows `start..end` of `y += A @ x` for a block-sparse `A` (see `Op::BsrDotInc`). As
/// scipy: each block row's product is summed from zero, then added to y.
///
/// # Safety
/// As [`Op::run`]; only rows of these block rows of `y` are written.
#[allow(clippy::too_many_arguments)]
unsafe fn bsr_block_rows(
    blocks: *const f64,
    br: usize,
    bc: usize,
    pattern: &Pattern,
    xs_all: &[f64],
    y: &Span,
    start: usize,
    end: usize,
) {
    let mut sums = vec![0.0; br];
    for block_row in start..end {
        sums.fill(0.0);
        for entry in pattern.indptr[block_row]..pattern.indptr[block_row + 1] {
            let block = std::slice::from_raw_parts(blocks.add(entry * br * bc), br * bc);
            let xs = &xs_all[pattern.indices[entry] * bc..][..bc];
            if let Ok(x4) = <&[f64; 4]>::try_from(xs) {
                // nengo's encoders in 4-D: blocks of neurons × 4 dimensions.
                for (sum, row) in sums.iter_mut().zip(block.chunks_exact(4)) {
                    let r: &[f64; 4] = row.try_into().expect("4 columns");
                    *sum += (r[0] * x4[0] + r[1] * x4[1]) + (r[2] * x4[2] + r[3] * x4[3]);
                }
            } else {
                for (sum, row) in sums.iter_mut().zip(block.chunks_exact(bc)) {
                    *sum += dot(row, xs);
                }
            }
        }
        let first = block_row * br;
        match y {
            Span::Contiguous { ptr, .. } => {
                let ys = std::slice::from_raw_parts_mut(ptr.add(first), br);
                ys.iter_mut().zip(&sums).for_each(|(y, p)| *y += p);
            }
            Span::Gather { .. } => sums.iter().enumerate().for_each(|(k, p)| *y.at(first + k) += p),
        }
    }
}

/// Copies through `scratch` when spans are not both contiguous, so overlapping source and
/// destination behave as numpy's (which reads the source first).
unsafe fn run_copy(src: &Span, dst: &Span, inc: bool, scratch: &mut Vec<f64>) {
    if let (Some(from), Span::Contiguous { ptr, len }) = (src.as_slice(), dst) {
        if inc {
            let to = std::slice::from_raw_parts_mut(*ptr, *len);
            to.iter_mut().zip(from).for_each(|(t, f)| *t += f);
        } else {
            std::ptr::copy(from.as_ptr(), *ptr, *len);
        }
        return;
    }
    src.read_into(scratch);
    for (k, value) in scratch.iter().enumerate() {
        let target = dst.at(k);
        if inc {
            *target += value;
        } else {
            *target = *value;
        }
    }
}

unsafe fn run_elementwise_inc(a: &Span, x: &Span, y: &Span) {
    if let (Some(a), Some(x), Some(y)) = (a.as_slice(), x.as_slice(), y.as_mut_slice()) {
        for ((y, a), x) in y.iter_mut().zip(a).zip(x) {
            *y += a * x;
        }
        return;
    }
    for k in 0..y.len() {
        *y.at(k) += a.get(k) * x.get(k);
    }
}

unsafe fn run_dot_inc(a: &Matrix, x: &Span, y: &Span, scratch: &mut Vec<f64>, pool: Option<&ThreadPool>) {
    let xs = x.read_view(y, scratch);
    let (a_ptr, y_ptr) = (Shared(a.ptr), Shared(y as *const Span));
    let (n_rows, n_cols, row_stride, col_stride) = (a.rows, a.cols, a.row_stride, a.col_stride);
    let rows = |start: usize, end: usize| {
        let (a_ptr, y_ptr) = (a_ptr, y_ptr);
        // SAFETY: as below; y is contiguous, rows start..end are this call's.
        if let (1, Span::Contiguous { ptr, .. }) = (col_stride, unsafe { &*y_ptr.0 }) {
            let ys = unsafe { std::slice::from_raw_parts_mut(ptr.add(start), end - start) };
            let first = unsafe { a_ptr.0.offset(start as isize * row_stride) };
            if unsafe { narrow_rows(first, row_stride, xs, ys) } {
                return;
            }
        }
        for r in start..end {
            // SAFETY: rows start..end of the matrix and of y (each row written by one call).
            unsafe {
                let row = a_ptr.0.offset(r as isize * row_stride);
                let sum = if col_stride != 1 {
                    (0..n_cols).map(|c| *row.offset(c as isize * col_stride) * xs[c]).sum()
                } else {
                    dot(std::slice::from_raw_parts(row, n_cols), xs)
                };
                *(*y_ptr.0).at(r) += sum;
            }
        }
    };
    match pool {
        Some(pool) if n_rows * n_cols >= PARALLEL_MIN_PRODUCTS && y.as_slice().is_some() => {
            pool.install(|| ranges(n_rows, pool, 64).into_par_iter().for_each(|(s, e)| rows(s, e)))
        }
        _ => rows(0, n_rows),
    }
}

/// `ys[r] += row r · xs` for a matrix of at most 8 columns (an ensemble's encoders:
/// neurons × dimensions) with unit column stride, rows `row_stride` apart from `first`;
/// false (nothing done) for wider matrices. One running sum per row, in column order (the
/// arithmetic of [`dot`] below 16 columns), with the width known to the compiler.
///
/// # Safety
/// `ys.len()` rows of `xs.len()` values from `first` must be readable.
unsafe fn narrow_rows(first: *const f64, row_stride: isize, xs: &[f64], ys: &mut [f64]) -> bool {
    unsafe fn rows<const C: usize>(first: *const f64, row_stride: isize, xs: &[f64], ys: &mut [f64]) {
        let xs: &[f64; C] = xs.try_into().expect("C columns");
        for (r, y) in ys.iter_mut().enumerate() {
            let row = &*(first.offset(r as isize * row_stride) as *const [f64; C]);
            let mut sum = row[0] * xs[0];
            for c in 1..C {
                sum += row[c] * xs[c];
            }
            *y += sum;
        }
    }
    match xs.len() {
        1 => rows::<1>(first, row_stride, xs, ys),
        2 => rows::<2>(first, row_stride, xs, ys),
        3 => rows::<3>(first, row_stride, xs, ys),
        4 => rows::<4>(first, row_stride, xs, ys),
        5 => rows::<5>(first, row_stride, xs, ys),
        6 => rows::<6>(first, row_stride, xs, ys),
        7 => rows::<7>(first, row_stride, xs, ys),
        8 => rows::<8>(first, row_stride, xs, ys),
        _ => return false,
    }
    true
}

/// Independent partial sums of [`dot`]: two AVX-512 vectors (four AVX2 ones), enough to hide
/// the latency of the additions.
const DOT_LANES: usize = 16;

/// Dot product in `DOT_LANES` partial sums, so the loop vectorises without reassociation
/// flags and is not bound by the latency of one running sum. Rows shorter than that (an
/// ensemble's encoders, small blocks) are one running sum: no partial sums to set up.
#[inline]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    if n < DOT_LANES {
        return a.iter().zip(b).map(|(x, y)| x * y).sum();
    }
    let mut lanes = [0.0f64; DOT_LANES];
    let (a_chunks, b_chunks) = (a.chunks_exact(DOT_LANES), b.chunks_exact(DOT_LANES));
    let tail: f64 = a_chunks.remainder().iter().zip(b_chunks.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in a_chunks.zip(b_chunks) {
        for lane in 0..DOT_LANES {
            lanes[lane] += x[lane] * y[lane];
        }
    }
    // Pairwise reduction of the partial sums.
    let mut width = DOT_LANES;
    while width > 1 {
        width /= 2;
        for lane in 0..width {
            lanes[lane] += lanes[lane + width];
        }
    }
    lanes[0] + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_dot_inc_adds_matrix_vector_product() {
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let mut x = [1.0, 0.5, -1.0];
        let mut y = [10.0, 20.0];
        let matrix = Matrix { ptr: a.as_ptr(), rows: 2, cols: 3, row_stride: 3, col_stride: 1 };
        let mut op = Op::DotInc { a: matrix, x: Span::over(&mut x), y: Span::over(&mut y) };
        unsafe { op.run(&mut Vec::new(), None) };
        assert_eq!(y, [10.0 + 1.0 + 1.0 - 3.0, 20.0 + 4.0 + 2.5 - 6.0]);
    }

    #[test]
    fn increments_with_repeated_targets_accumulate() {
        let mut src = [1.0, 2.0, 3.0];
        let mut dst = [0.0, 0.0];
        let dst_span = Span::Gather { ptr: dst.as_mut_ptr(), offsets: vec![1, 1, 0] };
        let mut op = Op::Copy { src: Span::over(&mut src), dst: dst_span, inc: true };
        unsafe { op.run(&mut Vec::new(), None) };
        assert_eq!(dst, [3.0, 3.0]);
    }

    #[test]
    fn bsr_matches_dense_product() {
        // 2 block rows × 2 block cols of 2×2 blocks; blocks at (0,1) and (1,0).
        let blocks = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
        let pattern = Pattern { indptr: vec![0, 1, 2], indices: vec![1, 0] };
        let mut x = [1.0, 2.0, 3.0, 4.0];
        let mut y = [0.0; 4];
        let mut op = Op::BsrDotInc {
            blocks: blocks.as_ptr(),
            br: 2,
            bc: 2,
            pattern,
            x: Span::over(&mut x),
            y: Span::over(&mut y),
        };
        unsafe { op.run(&mut Vec::new(), None) };
        assert_eq!(y, [1.0 * 3.0 + 2.0 * 4.0, 3.0 * 3.0 + 4.0 * 4.0, 5.0 + 12.0, 7.0 + 16.0]);
    }
}
