//! nengo's operators over [`Span`]s: one variant per kind, each step a plain loop.
//!
//! Semantics follow `nengo.builder.operator` (nengo 4.1): `Y += A * X` element by element,
//! `Y += A @ X` for dense, block-sparse (BSR) and sparse (CSR) matrices, copies that set or
//! increment (repeated increments accumulate, as `np.add.at`), resets, and the time update.

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

impl Op {
    /// Runs one step of the operator; `scratch` is reused working memory.
    ///
    /// # Safety
    /// Every span and pointer must address live memory (the simulator's signal arrays), and
    /// the spans an operator writes must not overlap the ones it reads, unless noted.
    pub unsafe fn run(&mut self, scratch: &mut Vec<f64>) {
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
            Op::DotInc { a, x, y } => run_dot_inc(a, x, y, scratch),
            Op::BsrDotInc { blocks, br, bc, pattern, x, y } => {
                let xs_all = x.read_view(y, scratch);
                let (br, bc) = (*br, *bc);
                // As scipy: each block row's product summed from zero, then added to y.
                let mut sums = vec![0.0; br];
                for block_row in 0..pattern.indptr.len() - 1 {
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
                                *sum +=
                                    if bc < 8 { row.iter().zip(xs).map(|(a, b)| a * b).sum() } else { dot(row, xs) };
                            }
                        }
                    }
                    let first = block_row * br;
                    match y.as_mut_slice() {
                        Some(ys) => ys[first..first + br].iter_mut().zip(&sums).for_each(|(y, p)| *y += p),
                        None => sums.iter().enumerate().for_each(|(k, p)| *y.at(first + k) += p),
                    }
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
                let mut state_slices: Vec<&mut [f64]> =
                    states.iter().map(|s| s.as_mut_slice().expect("contiguous state")).collect();
                kind.step(
                    *dt,
                    j.as_slice().expect("contiguous input"),
                    out.as_mut_slice().expect("contiguous output"),
                    &mut state_slices,
                );
            }
            Op::Filter(filter) => filter.step(scratch),
            Op::Table(process) => process.step(),
            Op::Noise(process) => process.step(),
            Op::Learning(rule) => rule.step(),
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

unsafe fn run_dot_inc(a: &Matrix, x: &Span, y: &Span, scratch: &mut Vec<f64>) {
    let xs = x.read_view(y, scratch);
    for r in 0..a.rows {
        let row = a.ptr.offset(r as isize * a.row_stride);
        let sum = if a.col_stride == 1 {
            dot(std::slice::from_raw_parts(row, a.cols), xs)
        } else {
            (0..a.cols).map(|c| *row.offset(c as isize * a.col_stride) * xs[c]).sum()
        };
        *y.at(r) += sum;
    }
}

/// Independent partial sums of [`dot`]: two AVX-512 vectors (four AVX2 ones), enough to hide
/// the latency of the additions.
const DOT_LANES: usize = 16;

/// Dot product in `DOT_LANES` partial sums, so the loop vectorises without reassociation
/// flags and is not bound by the latency of one running sum.
#[inline]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
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

    fn span(values: &mut [f64]) -> Span {
        Span::Contiguous { ptr: values.as_mut_ptr(), len: values.len() }
    }

    #[test]
    fn dense_dot_inc_adds_matrix_vector_product() {
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let mut x = [1.0, 0.5, -1.0];
        let mut y = [10.0, 20.0];
        let matrix = Matrix { ptr: a.as_ptr(), rows: 2, cols: 3, row_stride: 3, col_stride: 1 };
        let mut op = Op::DotInc { a: matrix, x: span(&mut x), y: span(&mut y) };
        unsafe { op.run(&mut Vec::new()) };
        assert_eq!(y, [10.0 + 1.0 + 1.0 - 3.0, 20.0 + 4.0 + 2.5 - 6.0]);
    }

    #[test]
    fn increments_with_repeated_targets_accumulate() {
        let mut src = [1.0, 2.0, 3.0];
        let mut dst = [0.0, 0.0];
        let dst_span = Span::Gather { ptr: dst.as_mut_ptr(), offsets: vec![1, 1, 0] };
        let mut op = Op::Copy { src: span(&mut src), dst: dst_span, inc: true };
        unsafe { op.run(&mut Vec::new()) };
        assert_eq!(dst, [3.0, 3.0]);
    }

    #[test]
    fn bsr_matches_dense_product() {
        // 2 block rows × 2 block cols of 2×2 blocks; blocks at (0,1) and (1,0).
        let blocks = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
        let pattern = Pattern { indptr: vec![0, 1, 2], indices: vec![1, 0] };
        let mut x = [1.0, 2.0, 3.0, 4.0];
        let mut y = [0.0; 4];
        let mut op = Op::BsrDotInc { blocks: blocks.as_ptr(), br: 2, bc: 2, pattern, x: span(&mut x), y: span(&mut y) };
        unsafe { op.run(&mut Vec::new()) };
        assert_eq!(y, [1.0 * 3.0 + 2.0 * 4.0, 3.0 * 3.0 + 4.0 * 4.0, 5.0 + 12.0, 7.0 + 16.0]);
    }
}
