//! nengo's operators over [`Span`]s: one variant per kind, each step a plain loop.
//!
//! Semantics follow `nengo.builder.operator` (nengo 4.1): `Y += A * X` element by element,
//! `Y += A @ X` for dense, block-sparse (BSR) and sparse (CSR) matrices, copies that set or
//! increment (repeated increments accumulate, as `np.add.at`), resets, and the time update.

use rayon::prelude::*;
use rayon::ThreadPool;

use super::error::{check_len, NengoError, NengoResult};
use super::filters::LinearFilter;
use super::learning::LearningRule;
use super::neurons::NeuronKind;
use super::noise::WhiteNoise;
use super::span::{bytes_of, extent, overlap, Bytes, Span};
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

impl Matrix {
    /// A `rows × cols` matrix at `ptr` with byte `strides` (whole float64s).
    pub fn new(ptr: *const f64, rows: usize, cols: usize, strides: [isize; 2]) -> NengoResult<Self> {
        extent(&[rows, cols], &strides)?;
        Ok(Matrix { ptr, rows, cols, row_stride: strides[0] / 8, col_stride: strides[1] / 8 })
    }

    /// The bytes its elements lie in.
    pub fn bytes(&self) -> Bytes {
        let (low, high) =
            extent(&[self.rows, self.cols], &[self.row_stride * 8, self.col_stride * 8]).unwrap_or((0, -1));
        if high < low {
            return 0..0;
        }
        let start = self.ptr.wrapping_offset(low) as usize;
        start..self.ptr.wrapping_offset(high + 1) as usize
    }
}

/// A compressed-row sparsity pattern: row `r` owns entries `indptr[r]..indptr[r + 1]`.
#[derive(Debug)]
pub struct Pattern {
    pub indptr: Vec<usize>,
    pub indices: Vec<usize>,
}

impl Pattern {
    /// Checks that `indptr` rises from 0 to `n_entries` entries and every column index is
    /// below `n_cols`.
    pub fn new(indptr: Vec<usize>, indices: Vec<usize>, n_cols: usize, n_entries: usize) -> NengoResult<Self> {
        let sorted = indptr.windows(2).all(|w| w[0] <= w[1]);
        if indptr.first() != Some(&0) || !sorted || indptr.last() != Some(&indices.len()) || indices.len() != n_entries
        {
            return Err(NengoError::Invalid("sparse pattern: indptr does not match the entries".into()));
        }
        if let Some(bad) = indices.iter().find(|&&c| c >= n_cols) {
            return Err(NengoError::OutOfRange(format!("sparse pattern: column {bad} >= {n_cols}")));
        }
        Ok(Pattern { indptr, indices })
    }

    pub fn n_rows(&self) -> usize {
        self.indptr.len() - 1
    }
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
    /// `dst = src` (or `+=` with `inc`), element k to element k.
    pub fn copy(src: Span, dst: Span, inc: bool) -> NengoResult<Op> {
        check_len("Copy", src.len(), dst.len())?;
        Ok(Op::Copy { src, dst, inc })
    }

    /// `y += a * x`, all of `y`'s length.
    pub fn elementwise_inc(a: Span, x: Span, y: Span) -> NengoResult<Op> {
        check_len("ElementwiseInc A", a.len(), y.len())?;
        check_len("ElementwiseInc X", x.len(), y.len())?;
        Ok(Op::ElementwiseInc { a, x, y })
    }

    /// `y += a @ x`.
    pub fn dot_inc(a: Matrix, x: Span, y: Span) -> NengoResult<Op> {
        check_len("DotInc X", x.len(), a.cols)?;
        check_len("DotInc Y", y.len(), a.rows)?;
        Ok(Op::DotInc { a, x, y })
    }

    /// `y += A @ x` for `n_blocks` blocks of `br × bc` at `blocks` (C-contiguous), placed by
    /// the block-row pattern `indptr`, `indices`.
    #[allow(clippy::too_many_arguments)]
    pub fn bsr_dot_inc(
        blocks: *const f64,
        n_blocks: usize,
        br: usize,
        bc: usize,
        indices: Vec<usize>,
        indptr: Vec<usize>,
        x: Span,
        y: Span,
    ) -> NengoResult<Op> {
        if bc == 0 || !x.len().is_multiple_of(bc) {
            return Err(NengoError::Invalid("BsrDotInc: X does not split into blocks".into()));
        }
        let pattern = Pattern::new(indptr, indices, x.len() / bc, n_blocks)?;
        check_len("BsrDotInc Y", y.len(), pattern.n_rows() * br)?;
        Ok(Op::BsrDotInc { blocks, br, bc, pattern, x, y })
    }

    /// `y += A @ x` for a CSR matrix: `n_entries` values at `data`, pattern `indptr`,
    /// `indices`.
    pub fn csr_dot_inc(
        data: *const f64,
        n_entries: usize,
        indices: Vec<usize>,
        indptr: Vec<usize>,
        x: Span,
        y: Span,
    ) -> NengoResult<Op> {
        let pattern = Pattern::new(indptr, indices, x.len(), n_entries)?;
        check_len("SparseDotInc Y", y.len(), pattern.n_rows())?;
        Ok(Op::CsrDotInc { data, pattern, x, y })
    }

    /// A `SimNeurons` step of the neuron type `name` with `params`; `j`, `out` and `states`
    /// consecutive and of one length.
    pub fn neurons(name: &str, params: &[f64], dt: f64, j: Span, out: Span, states: Vec<Span>) -> NengoResult<Op> {
        let kind = NeuronKind::from_spec(name, params)?;
        check_len(&format!("{name} states"), states.len(), kind.n_states())?;
        check_len("SimNeurons output", out.len(), j.len())?;
        for state in &states {
            check_len("SimNeurons state", state.len(), j.len())?;
        }
        if states.iter().chain([&j, &out]).any(|s| !matches!(s, Span::Contiguous { .. })) {
            return Err(NengoError::Invalid("SimNeurons signals must be consecutive elements".into()));
        }
        Ok(Op::Neurons { kind, dt, j, out, states })
    }

    /// The bytes the operator reads and those it writes (an element updated in place is
    /// in both).
    pub fn accesses(&self) -> (Vec<Bytes>, Vec<Bytes>) {
        let spans = |list: &[&Span]| list.iter().map(|s| s.bytes()).collect::<Vec<_>>();
        match self {
            Op::TimeUpdate { step, time, .. } => {
                let both = vec![bytes_of(*step, 1), bytes_of(*time, 1)];
                (both.clone(), both)
            }
            Op::Reset { dst, .. } => (vec![], spans(&[dst])),
            Op::Copy { src, dst, inc } => {
                let reads = if *inc { spans(&[src, dst]) } else { spans(&[src]) };
                (reads, spans(&[dst]))
            }
            Op::ElementwiseInc { a, x, y } => (spans(&[a, x, y]), spans(&[y])),
            Op::DotInc { a, x, y } => {
                let mut reads = spans(&[x, y]);
                reads.push(a.bytes());
                (reads, spans(&[y]))
            }
            Op::BsrDotInc { blocks, br, bc, pattern, x, y } => {
                let mut reads = spans(&[x, y]);
                reads.push(bytes_of(*blocks, pattern.indices.len() * br * bc));
                (reads, spans(&[y]))
            }
            Op::CsrDotInc { data, pattern, x, y } => {
                let mut reads = spans(&[x, y]);
                reads.push(bytes_of(*data, pattern.indices.len()));
                (reads, spans(&[y]))
            }
            Op::Neurons { j, out, states, .. } => {
                let states: Vec<&Span> = states.iter().collect();
                let mut reads = spans(&[j]);
                reads.extend(spans(&states));
                let mut writes = spans(&[out]);
                writes.extend(spans(&states));
                (reads, writes)
            }
            Op::Filter(filter) => {
                let mut reads = spans(&[&filter.input, &filter.state]);
                if filter.inc {
                    reads.extend(spans(&[&filter.output]));
                }
                (reads, spans(&[&filter.output, &filter.state]))
            }
            Op::Table(table) => {
                let mut reads = vec![bytes_of(table.time, 1), bytes_of(table.rows, table.n_rows * table.output.len())];
                if table.inc {
                    reads.extend(spans(&[&table.output]));
                }
                (reads, spans(&[&table.output]))
            }
            Op::Noise(noise) => {
                let reads = if noise.inc { spans(&[&noise.output]) } else { vec![] };
                (reads, spans(&[&noise.output]))
            }
            Op::Learning(rule) => {
                let mut reads = spans(&[&rule.pre, &rule.post]);
                reads.extend(rule.extra.iter().chain(&rule.matrix).map(Span::bytes));
                (reads, spans(&[&rule.delta]))
            }
        }
    }

    /// The rule every operator's step relies on, checked once for all: the elements it
    /// writes do not overlap the ones it reads — except where its step reads them first
    /// (a copy, a product's vector, a filter's input, as numpy evaluates the right-hand side
    /// first) or updates them in place element by element.
    pub fn check_overlap(&self) -> NengoResult<()> {
        let clash = |what: &str, read: &Span, written: &Span| {
            if overlap(&read.bytes(), &written.bytes()) {
                Err(NengoError::Overlap(format!("{what} overlap")))
            } else {
                Ok(())
            }
        };
        match self {
            Op::TimeUpdate { step, time, .. } => {
                if overlap(&bytes_of(*step, 1), &bytes_of(*time, 1)) {
                    return Err(NengoError::Overlap("TimeUpdate: step and time overlap".into()));
                }
                Ok(())
            }
            // Copies go through a scratch buffer where they overlap; resets only write.
            Op::Reset { .. } | Op::Copy { .. } | Op::Noise(_) => Ok(()),
            Op::ElementwiseInc { a, x, y } => {
                // An operand that is Y itself, element for element, is read before written.
                let same = |s: &Span| {
                    matches!((s, y), (Span::Contiguous { .. }, Span::Contiguous { .. })) && s.bytes() == y.bytes()
                };
                for (name, s) in [("A", a), ("X", x)] {
                    if !same(s) {
                        clash(&format!("ElementwiseInc {name} and Y"), s, y)?;
                    }
                }
                Ok(())
            }
            Op::DotInc { a, y, .. } => {
                if overlap(&a.bytes(), &y.bytes()) {
                    return Err(NengoError::Overlap("DotInc A and Y overlap".into()));
                }
                Ok(())
            }
            Op::BsrDotInc { .. } | Op::CsrDotInc { .. } => {
                let (reads, writes) = self.accesses();
                // The matrix values are the last read; the vector is copied where it overlaps.
                if overlap(reads.last().expect("matrix"), &writes[0]) {
                    return Err(NengoError::Overlap("sparse product: matrix and Y overlap".into()));
                }
                Ok(())
            }
            Op::Neurons { j, out, states, .. } => {
                let all: Vec<&Span> = [j, out].into_iter().chain(states).collect();
                for (i, a) in all.iter().enumerate() {
                    for b in &all[i + 1..] {
                        clash("SimNeurons signals", a, b)?;
                    }
                }
                Ok(())
            }
            Op::Filter(filter) => {
                clash("filter input and state", &filter.input, &filter.state)?;
                clash("filter output and state", &filter.output, &filter.state)
            }
            Op::Table(table) => {
                let (reads, _) = self.accesses();
                if reads[..2].iter().any(|r| overlap(r, &table.output.bytes())) {
                    return Err(NengoError::Overlap("table process: output and table or time overlap".into()));
                }
                Ok(())
            }
            Op::Learning(_) => {
                let (reads, writes) = self.accesses();
                if reads.iter().any(|r| overlap(r, &writes[0])) {
                    return Err(NengoError::Overlap("learning rule: delta overlaps its inputs".into()));
                }
                Ok(())
            }
        }
    }

    /// Takes `next` into this operator when both do the same thing to consecutive memory
    /// and neither touches what the other writes, so one pass gives every element the
    /// same value (same arithmetic, same order per element): resets of one value, copies,
    /// elementwise products, neuron populations of one type and parameters, and filters
    /// of one form and coefficients. Returns whether it did (then `next` is not needed).
    pub fn absorb(&mut self, next: &Op) -> bool {
        if !self.independent_of(next) {
            return false;
        }
        match (&mut *self, next) {
            (Op::Reset { dst, value }, Op::Reset { dst: d, value: v })
                if value.to_bits() == v.to_bits() && d.continues(dst) =>
            {
                dst.extend(d);
            }
            (Op::Copy { src, dst, inc }, Op::Copy { src: s, dst: d, inc: i })
                if inc == i && s.continues(src) && d.continues(dst) && !overlap(&src.bytes(), &dst.bytes()) =>
            {
                src.extend(s);
                dst.extend(d);
            }
            (Op::ElementwiseInc { a, x, y }, Op::ElementwiseInc { a: a2, x: x2, y: y2 })
                if a2.continues(a) && x2.continues(x) && y2.continues(y) =>
            {
                a.extend(a2);
                x.extend(x2);
                y.extend(y2);
            }
            (
                Op::Neurons { kind, dt, j, out, states },
                Op::Neurons { kind: k2, dt: dt2, j: j2, out: out2, states: states2 },
            ) if kind == k2
                && dt.to_bits() == dt2.to_bits()
                && j2.continues(j)
                && out2.continues(out)
                && states2.iter().zip(states.iter()).all(|(b, a)| b.continues(a)) =>
            {
                j.extend(j2);
                out.extend(out2);
                states.iter_mut().zip(states2).for_each(|(a, b)| a.extend(b));
            }
            (Op::Filter(filter), Op::Filter(other)) if filter.can_absorb(other) => filter.absorb(other),
            _ => return false,
        }
        true
    }

    /// Whether neither operator reads or writes what the other writes.
    fn independent_of(&self, other: &Op) -> bool {
        let (reads, writes) = self.accesses();
        let (other_reads, other_writes) = other.accesses();
        let touches = |written: &[Bytes], touched: &[&[Bytes]]| {
            written.iter().any(|w| touched.iter().any(|list| list.iter().any(|t| overlap(w, t))))
        };
        !touches(&writes, &[&other_reads, &other_writes]) && !touches(&other_writes, &[&reads])
    }
}

/// Neurons (or block-matrix products) below which an operator runs on the calling thread:
/// handing work to the pool and joining costs several microseconds.
pub const PARALLEL_MIN_NEURONS: usize = 4096;
pub const PARALLEL_MIN_PRODUCTS: usize = 32_768;

/// The elements of one float64 array, handed to the pool's threads by a parallel operator.
#[derive(Clone, Copy)]
struct Elements(*mut f64);
// SAFETY: a parallel operator gives each thread its own range of the elements, and the array
// outlives the parallel section (the caller waits for it).
unsafe impl Send for Elements {}
unsafe impl Sync for Elements {}

/// A span the pool's threads write through, each to its own rows (and only read otherwise).
#[derive(Clone, Copy)]
struct RowsOf<'a>(&'a Span);
// SAFETY: as `Elements`: the rows each thread writes are its own.
unsafe impl Send for RowsOf<'_> {}
unsafe impl Sync for RowsOf<'_> {}

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
                let (blocks, y_rows) = (Elements(*blocks as *mut f64), RowsOf(y));
                let rows = |start: usize, end: usize| {
                    let (blocks, y) = (blocks, y_rows);
                    // SAFETY: block rows start..end write only their own rows of y.
                    unsafe { bsr_block_rows(blocks.0, br, bc, pattern, xs, y.0, start, end) }
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
                let j = Elements(j.as_slice().expect("contiguous input").as_ptr() as *mut f64);
                let out = Elements(out.as_mut_slice().expect("contiguous output").as_mut_ptr());
                let states: Vec<Elements> =
                    states.iter().map(|s| Elements(s.as_mut_slice().expect("contiguous state").as_mut_ptr())).collect();
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
        if !inc {
            std::ptr::copy(from.as_ptr(), *ptr, *len); // memmove: overlap is fine
            return;
        }
        if !overlap(&src.bytes(), &dst.bytes()) {
            let to = std::slice::from_raw_parts_mut(*ptr, *len);
            to.iter_mut().zip(from).for_each(|(t, f)| *t += f);
            return;
        }
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
    let (a_ptr, y_rows) = (Elements(a.ptr as *mut f64), RowsOf(y));
    let (n_rows, n_cols, row_stride, col_stride) = (a.rows, a.cols, a.row_stride, a.col_stride);
    let rows = |start: usize, end: usize| {
        let (a_ptr, y_rows) = (a_ptr, y_rows); // the whole wrappers, not their fields
        let y = y_rows.0;
        // SAFETY: as below; y is contiguous, rows start..end are this call's.
        if let (1, Span::Contiguous { ptr, .. }) = (col_stride, y) {
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
                *y.at(r) += sum;
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
    use crate::nengo::filters::FilterKind;

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
    #[test]
    fn resets_of_consecutive_memory_fuse_and_others_do_not() {
        let mut values = [1.0; 6];
        let (first, second) = values.split_at_mut(3);
        let mut op = Op::Reset { dst: Span::over(first), value: 0.5 };
        assert!(op.absorb(&Op::Reset { dst: Span::over(second), value: 0.5 }));
        assert_eq!(op.accesses().1, vec![bytes_of(values.as_ptr(), 6)]);
        unsafe { op.run(&mut Vec::new(), None) };
        assert_eq!(values, [0.5; 6]);
        let mut other = [1.0; 3];
        let mut op = Op::Reset { dst: Span::over(&mut values[..3]), value: 0.5 };
        // Another value, or memory that does not continue: kept apart.
        assert!(!op.absorb(&Op::Reset { dst: Span::over(&mut values[3..]), value: 0.25 }));
        assert!(!op.absorb(&Op::Reset { dst: Span::over(&mut other), value: 0.5 }));
    }

    #[test]
    fn fused_neuron_populations_step_as_the_separate_ones() {
        let n = 700; // spans blocks of 512
        let j: Vec<f64> = (0..2 * n).map(|k| 0.5 + (k % 37) as f64 * 0.3).collect();
        let run = |fused: bool| {
            let mut j = j.clone();
            let mut out = vec![0.0; 2 * n];
            let mut voltage = vec![0.0; 2 * n];
            let mut refractory = vec![0.0; 2 * n];
            let lif = |j: &mut [f64], o: &mut [f64], v: &mut [f64], r: &mut [f64]| {
                let states = vec![Span::over(v), Span::over(r)];
                Op::neurons("LIF", &[0.02, 0.002, 0.0, 1.0], 0.001, Span::over(j), Span::over(o), states).unwrap()
            };
            let (j1, j2) = j.split_at_mut(n);
            let (o1, o2) = out.split_at_mut(n);
            let (v1, v2) = voltage.split_at_mut(n);
            let (r1, r2) = refractory.split_at_mut(n);
            let mut ops = vec![lif(j1, o1, v1, r1), lif(j2, o2, v2, r2)];
            if fused {
                let second = ops.pop().unwrap();
                assert!(ops[0].absorb(&second));
            }
            for _ in 0..50 {
                for op in &mut ops {
                    unsafe { op.run(&mut Vec::new(), None) };
                }
            }
            (out, voltage, refractory)
        };
        let (apart, together) = (run(false), run(true));
        assert!(apart.0.iter().any(|&x| x > 0.0), "some neurons spiked");
        assert_eq!(apart, together);
    }

    #[test]
    fn operators_that_read_what_the_one_before_writes_are_not_fused() {
        // Copy x[0..2] -> x[2..4], then x[2..4] -> x[4..6]: the second reads the first's output.
        let mut x = [1.0, 2.0, 0.0, 0.0, 0.0, 0.0];
        let base = x.as_mut_ptr();
        let span = |start: usize| Span::Contiguous { ptr: unsafe { base.add(start) }, len: 2 };
        let mut op = Op::copy(span(0), span(2), false).unwrap();
        assert!(!op.absorb(&Op::copy(span(2), span(4), false).unwrap()));
    }

    #[test]
    fn the_overlap_rule_is_checked_for_every_operator() {
        let mut x = [0.0; 8];
        let base = x.as_mut_ptr();
        let span = |start: usize, len: usize| Span::Contiguous { ptr: unsafe { base.add(start) }, len };
        let lif =
            Op::neurons("LIF", &[0.02, 0.002, 0.0, 1.0], 0.001, span(0, 4), span(2, 4), vec![span(4, 4), span(0, 4)]);
        assert!(matches!(lif.unwrap().check_overlap(), Err(NengoError::Overlap(_))));
        // y += a * y element for element is fine; a shifted view of y is not.
        assert!(Op::elementwise_inc(span(0, 4), span(4, 4), span(4, 4)).unwrap().check_overlap().is_ok());
        let shifted = Op::elementwise_inc(span(0, 4), span(3, 4), span(4, 4)).unwrap();
        assert!(matches!(shifted.check_overlap(), Err(NengoError::Overlap(_))));
        let filter =
            LinearFilter::new(FilterKind::OneX { a: 0.5, b: 0.5 }, span(0, 2), span(4, 2), span(1, 2), false).unwrap();
        assert!(Op::Filter(filter).check_overlap().is_err());
    }

    #[test]
    fn an_increment_from_memory_it_overlaps_reads_the_source_first() {
        // numpy: x[1:4] += x[0:3] adds the values from before the operation.
        let mut x = [1.0, 2.0, 3.0, 4.0];
        let base = x.as_mut_ptr();
        let span = |start: usize| Span::Contiguous { ptr: unsafe { base.add(start) }, len: 3 };
        let mut op = Op::copy(span(0), span(1), true).unwrap();
        unsafe { op.run(&mut Vec::new(), None) };
        assert_eq!(x, [1.0, 3.0, 5.0, 7.0]);
    }
}
