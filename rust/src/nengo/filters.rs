//! Linear synapse filters (`nengo.LinearFilter`, `Lowpass`, `Alpha`), stepped as nengo does.
//!
//! nengo discretises the filter into a state-space system (A, B, C, D) and picks one of four
//! step forms by its shape; the Python side computes the matrices with nengo's own code and
//! names the form, so the arithmetic here is the same in the same order.

use super::error::{check_len, NengoError, NengoResult};
use super::span::Span;

/// The step form and its matrices (row-major, `order` states).
#[derive(Debug, Clone)]
pub enum FilterKind {
    /// No state: `y = d u`.
    NoX { d: f64 },
    /// One state, no passthrough: `x = a x + b u; y = x`.
    OneX { a: f64, b: f64 },
    /// No passthrough: `x = A x + B u; y = C x`.
    NoD { a: Vec<f64>, b: Vec<f64>, c: Vec<f64> },
    /// `y = C x + D u; x = A x + B u`.
    General { a: Vec<f64>, b: Vec<f64>, c: Vec<f64>, d: f64 },
}

impl FilterKind {
    /// The form nengo's `LinearFilter` picks (`NoX`, `OneX`, `NoD`, `General`) with its
    /// discretised matrices: `a` (order × order, row-major), `b`, `c` (order), `d`.
    pub fn from_form(form: &str, a: Vec<f64>, b: Vec<f64>, c: Vec<f64>, d: f64) -> NengoResult<Self> {
        Ok(match form {
            "NoX" => FilterKind::NoX { d },
            "OneX" => {
                check_len("OneX filter A", a.len(), 1)?;
                check_len("OneX filter B", b.len(), 1)?;
                check_len("OneX filter C", c.len(), 1)?;
                FilterKind::OneX { a: a[0], b: b[0] * c[0] }
            }
            "NoD" | "General" => {
                let order = b.len();
                check_len("filter A", a.len(), order * order)?;
                check_len("filter C", c.len(), order)?;
                if form == "NoD" {
                    FilterKind::NoD { a, b, c }
                } else {
                    FilterKind::General { a, b, c, d }
                }
            }
            other => return Err(NengoError::Invalid(format!("unknown filter form {other:?}"))),
        })
    }

    /// Whether both are the same form with the same coefficients, bit for bit.
    fn same_as(&self, other: &FilterKind) -> bool {
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        match (self, other) {
            (FilterKind::NoX { d }, FilterKind::NoX { d: d2 }) => d.to_bits() == d2.to_bits(),
            (FilterKind::OneX { a, b }, FilterKind::OneX { a: a2, b: b2 }) => {
                a.to_bits() == a2.to_bits() && b.to_bits() == b2.to_bits()
            }
            (FilterKind::NoD { a, b, c }, FilterKind::NoD { a: a2, b: b2, c: c2 }) => {
                bits(a) == bits(a2) && bits(b) == bits(b2) && bits(c) == bits(c2)
            }
            (FilterKind::General { a, b, c, d }, FilterKind::General { a: a2, b: b2, c: c2, d: d2 }) => {
                bits(a) == bits(a2) && bits(b) == bits(b2) && bits(c) == bits(c2) && d.to_bits() == d2.to_bits()
            }
            _ => false,
        }
    }

    /// Number of state rows the form keeps.
    pub fn order(&self) -> usize {
        match self {
            FilterKind::NoX { .. } => 0,
            FilterKind::OneX { .. } => 1,
            FilterKind::NoD { b, .. } | FilterKind::General { b, .. } => b.len(),
        }
    }
}

/// A filter applied to `n` channels: state `order × n` (row-major, contiguous).
#[derive(Debug)]
pub struct LinearFilter {
    pub kind: FilterKind,
    pub input: Span,
    pub output: Span,
    pub state: Span,
    /// Add to the output (`SimProcess` mode "inc") instead of setting it.
    pub inc: bool,
}

impl LinearFilter {
    /// A filter of `kind` from `input` to `output` (one length), with `state` of `order`
    /// rows of that length, consecutive.
    pub fn new(kind: FilterKind, input: Span, output: Span, state: Span, inc: bool) -> NengoResult<Self> {
        check_len("filter output", output.len(), input.len())?;
        check_len("filter state", state.len(), kind.order() * input.len())?;
        if !matches!(state, Span::Contiguous { .. }) {
            return Err(NengoError::Invalid("filter state must be consecutive elements".into()));
        }
        Ok(LinearFilter { kind, input, output, state, inc })
    }

    /// Whether `next` can run in one pass with this filter: the same form and coefficients
    /// and mode, at most one state row per channel (so the states of both lie one after
    /// the other), input, output and state each continuing this filter's.
    pub fn can_absorb(&self, next: &LinearFilter) -> bool {
        let states = match self.kind.order() {
            0 => true,
            1 => next.state.continues(&self.state),
            _ => false,
        };
        self.kind.same_as(&next.kind)
            && self.inc == next.inc
            && states
            && next.input.continues(&self.input)
            && next.output.continues(&self.output)
    }

    /// Appends `next` (see [`LinearFilter::can_absorb`]).
    pub fn absorb(&mut self, next: &LinearFilter) {
        self.input.extend(&next.input);
        self.output.extend(&next.output);
        if self.kind.order() == 1 {
            self.state.extend(&next.state);
        }
    }

    /// One step. The input is copied first (as nengo's `np.copy(input)`), so the output may
    /// alias it.
    ///
    /// # Safety
    /// The spans must address live memory; `state` is contiguous with `order × n` elements.
    pub unsafe fn step(&mut self, scratch: &mut Vec<f64>) {
        if let FilterKind::OneX { a, b } = self.kind {
            // The common synapse (Lowpass) on consecutive signals: one pass, no copies.
            if let (Some(u), Some(y), Some(x)) =
                (self.input.as_slice(), self.output.as_mut_slice(), self.state.as_mut_slice())
            {
                if u.as_ptr_range().end <= y.as_ptr() || y.as_ptr_range().end <= u.as_ptr() {
                    for ((x, y), u) in x.iter_mut().zip(y.iter_mut()).zip(u) {
                        *x = *x * a + b * u;
                        *y = if self.inc { *y + *x } else { *x };
                    }
                    return;
                }
            }
        }
        self.input.read_into(scratch);
        let n = scratch.len();
        let state = self.state.as_mut_slice().expect("contiguous filter state");
        let u = &scratch[..];
        let emit = |k: usize, y: f64| {
            let target = self.output.at(k);
            if self.inc {
                *target += y;
            } else {
                *target = y;
            }
        };
        match &self.kind {
            FilterKind::NoX { d } => (0..n).for_each(|k| emit(k, d * u[k])),
            FilterKind::OneX { a, b } => {
                for k in 0..n {
                    state[k] = state[k] * a + b * u[k];
                    emit(k, state[k]);
                }
            }
            FilterKind::NoD { a, b, c } => {
                let next = advance(a, b, state, u);
                state.copy_from_slice(&next);
                (0..n).for_each(|k| emit(k, combine(c, state, n, k)));
            }
            FilterKind::General { a, b, c, d } => {
                let outputs: Vec<f64> = (0..n).map(|k| combine(c, state, n, k) + d * u[k]).collect();
                let next = advance(a, b, state, u);
                state.copy_from_slice(&next);
                outputs.into_iter().enumerate().for_each(|(k, y)| emit(k, y));
            }
        }
    }
}

/// `C x` for channel `k`.
fn combine(c: &[f64], state: &[f64], n: usize, k: usize) -> f64 {
    c.iter().enumerate().map(|(i, ci)| ci * state[i * n + k]).sum()
}

/// `A x + B u` for every channel.
fn advance(a: &[f64], b: &[f64], state: &[f64], u: &[f64]) -> Vec<f64> {
    let (order, n) = (b.len(), u.len());
    let mut next = vec![0.0; order * n];
    for i in 0..order {
        for k in 0..n {
            let ax: f64 = (0..order).map(|j| a[i * order + j] * state[j * n + k]).sum();
            next[i * n + k] = ax + b[i] * u[k];
        }
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn general_form_delays_by_one_step() {
        // x[t+1] = 0.5 x + u, y = x + 2u: impulse response 2, 1, 0.5, ...
        let mut input = [1.0];
        let mut output = [0.0];
        let mut state = [0.0];
        let mut filter = LinearFilter {
            kind: FilterKind::General { a: vec![0.5], b: vec![1.0], c: vec![1.0], d: 2.0 },
            input: Span::over(&mut input),
            output: Span::over(&mut output),
            state: Span::over(&mut state),
            inc: false,
        };
        let mut outputs = Vec::new();
        let mut scratch = Vec::new();
        for step in 0..3 {
            unsafe {
                *filter.input.at(0) = if step == 0 { 1.0 } else { 0.0 };
                filter.step(&mut scratch);
                outputs.push(filter.output.get(0));
            }
        }
        assert_eq!(outputs, [2.0, 1.0, 0.5]);
    }
}
