//! Input processes that emit a row of a table chosen by the time: nengo's `PresentInput`,
//! `Piecewise` (zero interpolation) and `WhiteSignal`.
//!
//! Each of their `make_step`s (nengo 4.1) builds a table once and then, every step, indexes
//! it with a function of the time `t` read from the simulator's time signal. The Python side
//! hands over the table (nengo's own array where it can); the index arithmetic here is nengo's,
//! in the same order, with Python's `int()` (truncation), `round()` (ties to even) and `%`
//! (the sign of the divisor) on float64 values, so every step picks the row nengo picks.

use super::error::{check_len, NengoError, NengoResult};
use super::span::Span;

/// How the row is chosen from the time `t`.
#[derive(Debug, Clone)]
pub enum RowRule {
    /// `PresentInput`: `i = int((t - dt) / presentation_time + 1e-7)`, row `i % n_rows`.
    Presentation { dt: f64, presentation_time: f64 },
    /// `Piecewise` with zero interpolation: the row is the number of `times` (sorted) below
    /// `t + 0.5 * dt`, as `np.searchsorted(times, t + 0.5 * dt)` counts them; row 0 holds the
    /// zeros nengo emits before the first time, row `k` the value from `times[k - 1]` on.
    Piecewise { dt: f64, times: Vec<f64> },
    /// `WhiteSignal`: `i = round(t / dt)`, row `i % n_rows` (one period of the signal).
    Periodic { dt: f64 },
}

impl RowRule {
    /// `rule` (`presentation`, needing `presentation_time`; `piecewise`, needing the sorted
    /// `times`, one fewer than the `n_rows` rows, whose first row holds the zeros before the
    /// first time; `periodic`) at time step `dt`.
    pub fn from_spec(
        rule: &str,
        dt: f64,
        presentation_time: Option<f64>,
        times: Option<Vec<f64>>,
        n_rows: usize,
    ) -> NengoResult<Self> {
        let invalid = |what: String| Err(NengoError::Invalid(format!("table process: {what}")));
        if !(dt.is_finite() && dt > 0.0) {
            return invalid(format!("dt must be finite and > 0, got {dt}"));
        }
        match (rule, presentation_time, times) {
            ("presentation", Some(presentation_time), None) => {
                if !(presentation_time.is_finite() && presentation_time > 0.0) {
                    return invalid(format!("presentation_time must be finite and > 0, got {presentation_time}"));
                }
                Ok(RowRule::Presentation { dt, presentation_time })
            }
            ("piecewise", None, Some(times)) => {
                if times.iter().any(|x| x.is_nan()) || !times.windows(2).all(|w| w[0] <= w[1]) {
                    return invalid("times must be sorted and not NaN".to_string());
                }
                if n_rows != times.len() + 1 {
                    return invalid(format!("rows: {n_rows} rows for {} times (one more needed)", times.len()));
                }
                Ok(RowRule::Piecewise { dt, times })
            }
            ("periodic", None, None) => Ok(RowRule::Periodic { dt }),
            ("presentation" | "piecewise" | "periodic", ..) => invalid(format!(
                "rule {rule:?} takes {}",
                match rule {
                    "presentation" => "presentation_time and no times",
                    "piecewise" => "times and no presentation_time",
                    _ => "neither presentation_time nor times",
                }
            )),
            (other, ..) => invalid(format!("unknown rule {other:?}")),
        }
    }

    /// The row of a table of `n_rows` rows for time `t`, or `None` where nengo's step raises
    /// (a time whose index is not finite: `int()` and `round()` of NaN or infinity).
    pub fn row(&self, t: f64, n_rows: usize) -> Option<usize> {
        match self {
            RowRule::Presentation { dt, presentation_time } => {
                python_mod(((t - dt) / presentation_time + 1e-7).trunc(), n_rows)
            }
            RowRule::Piecewise { dt, times } => {
                let v = t + 0.5 * dt;
                // numpy sorts NaN after every number, so a NaN time lands past the end.
                Some(if v.is_nan() { times.len() } else { times.partition_point(|&x| x < v) })
            }
            RowRule::Periodic { dt } => python_mod((t / dt).round_ties_even(), n_rows),
        }
    }
}

/// Python's `i % n` for an integral float64 `i` (`int(i) % n`): the remainder takes the sign
/// of `n`. Exact: float remainder is exact, and `r + n` is an integer below `n <= 2^53`.
fn python_mod(i: f64, n: usize) -> Option<usize> {
    if !i.is_finite() || n == 0 {
        return None;
    }
    Some(i.rem_euclid(n as f64) as usize)
}

/// A table process: `output = rows[row(t)]` (or `+=` in mode "inc").
#[derive(Debug)]
pub struct TableProcess {
    pub rule: RowRule,
    /// `n_rows × width` float64, row-major and contiguous, owned by Python.
    pub rows: *const f64,
    pub n_rows: usize,
    /// The time signal (nengo's `model.time`), read when the operator runs.
    pub time: *const f64,
    /// `width` elements.
    pub output: Span,
    /// Add the row to the output (mode "inc") instead of setting it.
    pub inc: bool,
}

impl TableProcess {
    /// Emits rows of the `n_rows × output.len()` table at `rows` (row-major, consecutive)
    /// chosen by `rule` from the time at `time`. Row indices are computed in float64, exact
    /// below 2^53 rows.
    pub fn new(
        rule: RowRule,
        rows: *const f64,
        n_rows: usize,
        width: usize,
        time: *const f64,
        output: Span,
        inc: bool,
    ) -> NengoResult<Self> {
        if n_rows == 0 || n_rows as u64 > 1 << 53 {
            return Err(NengoError::Invalid(format!("table process: rows must have 1 to 2^53 rows, got {n_rows}")));
        }
        check_len("table process output", output.len(), width)?;
        Ok(TableProcess { rule, rows, n_rows, time, output, inc })
    }

    /// One step. Where nengo's step would raise (see [`RowRule::row`]) the output becomes NaN.
    ///
    /// # Safety
    /// `rows`, `time` and `output` must address live memory of the sizes given; `output`
    /// must not overlap the table.
    pub unsafe fn step(&self) {
        let width = self.output.len();
        let row = self.rule.row(*self.time, self.n_rows);
        for k in 0..width {
            let value = match row {
                Some(r) => *self.rows.add(r * width + k),
                None => f64::NAN,
            };
            let target = self.output.at(k);
            if self.inc {
                *target += value;
            } else {
                *target = value;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rows a process emits at times `dt, 2 dt, ...` (as the simulator's time signal).
    fn emitted(rule: RowRule, rows: &[f64], width: usize, steps: usize, inc: bool) -> Vec<Vec<f64>> {
        let mut output = vec![1.0; width];
        let mut time = 0.0f64;
        let time_ptr: *mut f64 = &mut time;
        let dt = 0.001;
        let process = TableProcess {
            rule,
            rows: rows.as_ptr(),
            n_rows: rows.len() / width,
            time: time_ptr,
            output: Span::over(&mut output),
            inc,
        };
        let mut seen = Vec::new();
        for step in 1..=steps {
            // SAFETY: `time` and `output` outlive the process; nothing else borrows them here.
            unsafe {
                *time_ptr = step as f64 * dt;
                process.step();
                seen.push((0..width).map(|k| process.output.get(k)).collect());
            }
        }
        seen
    }

    #[test]
    fn python_mod_takes_the_sign_of_the_divisor() {
        assert_eq!(python_mod(-1.0, 3), Some(2));
        assert_eq!(python_mod(-3.0, 3), Some(0));
        assert_eq!(python_mod(-0.0, 3), Some(0));
        assert_eq!(python_mod(7.0, 3), Some(1));
        assert_eq!(python_mod(1e300, 7), Some((1e300f64 % 7.0) as usize));
        assert_eq!(python_mod(f64::NAN, 3), None);
        assert_eq!(python_mod(f64::INFINITY, 3), None);
    }

    #[test]
    fn presentation_holds_each_row_for_its_time_and_cycles() {
        // 2.5 steps per row: nengo's index int((t - dt) / 0.0025 + 1e-7).
        let rule = RowRule::Presentation { dt: 0.001, presentation_time: 0.0025 };
        let rows = [10.0, 11.0, 20.0, 21.0];
        let seen = emitted(rule, &rows, 2, 8, false);
        let firsts: Vec<f64> = seen.iter().map(|row| row[0]).collect();
        let expected: Vec<f64> = (1..=8)
            .map(|step| {
                let i = ((step as f64 * 0.001 - 0.001) / 0.0025 + 1e-7).trunc() as usize;
                [10.0, 20.0][i % 2]
            })
            .collect();
        assert_eq!(firsts, expected);
        assert_eq!(firsts[..3], [10.0, 10.0, 10.0]);
        assert_eq!(firsts[3..5], [20.0, 20.0]);
    }

    #[test]
    fn piecewise_emits_zeros_before_the_first_time_and_increments() {
        // Values from t = 0.002 and t = 0.004 (the switch happens at t + dt/2 > time).
        let rule = RowRule::Piecewise { dt: 0.001, times: vec![0.002, 0.004] };
        let rows = [0.0, 5.0, -1.0];
        let seen = emitted(rule, &rows, 1, 5, true);
        let outputs: Vec<f64> = seen.iter().map(|row| row[0]).collect();
        assert_eq!(outputs, [1.0, 6.0, 11.0, 10.0, 9.0]);
    }

    #[test]
    fn periodic_rounds_half_to_even_and_wraps() {
        let rule = RowRule::Periodic { dt: 1.0 };
        let n = 4;
        assert_eq!(rule.row(2.5, n), Some(2));
        assert_eq!(rule.row(3.5, n), Some(0));
        assert_eq!(rule.row(-0.5, n), Some(0));
        assert_eq!(rule.row(-1.5, n), Some(2));
        assert_eq!(rule.row(9.0, n), Some(1));
        assert_eq!(rule.row(f64::NAN, n), None);
    }

    #[test]
    fn non_finite_time_gives_nan() {
        let rule = RowRule::Periodic { dt: 0.001 };
        let rows = [1.0, 2.0];
        let mut output = [0.0];
        let time = f64::INFINITY;
        let process = TableProcess {
            rule,
            rows: rows.as_ptr(),
            n_rows: 2,
            time: &time,
            output: Span::over(&mut output),
            inc: false,
        };
        // SAFETY: every pointer addresses a live local of the right size.
        unsafe { process.step() };
        assert!(output[0].is_nan());
    }
}
