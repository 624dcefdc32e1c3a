//! nengo's learning rules (PES, BCM, Oja, Voja): each step writes the weight change `delta`.
//!
//! The formulas repeat `nengo.builder.learning_rules` (nengo 4.1) with the same grouping of
//! products; the builder's own `ElementwiseInc`/`Copy` then applies `delta` to the weights.

use super::error::{check_len, NengoError, NengoResult};
use super::span::Span;

#[derive(Debug, Clone)]
pub enum Rule {
    /// `delta = outer(alpha * error, pre)`, `alpha = -rate * dt / n_pre`.
    Pes { alpha: f64 },
    /// `delta = outer(alpha * post * (post - theta), pre)`.
    Bcm { alpha: f64 },
    /// `delta = -beta * W * (alpha * post * post)[:, None] + outer(alpha * post, pre)`.
    Oja { alpha: f64, beta: f64 },
    /// `delta = alpha * s * (scale[:, None] * outer(post, pre) - post[:, None] * E)`.
    Voja { alpha: f64, scale: Vec<f64> },
}

/// A learning rule over `rows × cols` weights.
#[derive(Debug)]
pub struct LearningRule {
    pub rule: Rule,
    /// Presynaptic activities (`cols`; decoded input for Voja).
    pub pre: Span,
    /// Postsynaptic activities (`rows`; the error for PES).
    pub post: Span,
    /// BCM's `theta` (`rows`) or Voja's learning signal (1 element).
    pub extra: Option<Span>,
    /// Oja's weights or Voja's scaled encoders (`rows × cols`, C order).
    pub matrix: Option<Span>,
    /// Output, `rows × cols`, C order.
    pub delta: Span,
}

impl LearningRule {
    /// The rule named `rule` writing `delta` (pre × post elements): `PES` (post = error),
    /// `BCM` (extra = theta), `Oja` (matrix = weights, `beta`) or `Voja` (extra = learning
    /// signal, matrix = scaled encoders, `scale`); `alpha` as nengo's step computes it.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        rule: &str,
        alpha: f64,
        pre: Span,
        post: Span,
        delta: Span,
        extra: Option<Span>,
        matrix: Option<Span>,
        beta: f64,
        scale: Option<Vec<f64>>,
    ) -> NengoResult<Self> {
        let size = pre.len() * post.len();
        check_len(&format!("{rule} delta"), delta.len(), size)?;
        let need = |what: &str, span: &Option<Span>, len: usize| match span {
            Some(span) => check_len(&format!("{rule} {what}"), span.len(), len),
            None => Err(NengoError::Invalid(format!("{rule} needs {what}"))),
        };
        let rule = match rule {
            "PES" => Rule::Pes { alpha },
            "BCM" => {
                need("theta", &extra, post.len())?;
                Rule::Bcm { alpha }
            }
            "Oja" => {
                need("weights", &matrix, size)?;
                Rule::Oja { alpha, beta }
            }
            "Voja" => {
                need("learning signal", &extra, 1)?;
                need("encoders", &matrix, size)?;
                let scale = scale.ok_or_else(|| NengoError::Invalid("Voja needs scale".into()))?;
                check_len("Voja scale", scale.len(), post.len())?;
                Rule::Voja { alpha, scale }
            }
            other => return Err(NengoError::Invalid(format!("unknown learning rule {other:?}"))),
        };
        Ok(LearningRule { rule, pre, post, extra, matrix, delta })
    }

    /// # Safety
    /// The spans must address live memory; `delta` must not overlap the inputs.
    pub unsafe fn step(&mut self) {
        let mut pre = Vec::new();
        let mut post = Vec::new();
        self.pre.read_into(&mut pre);
        self.post.read_into(&mut post);
        let cols = pre.len();
        let extra = |k: usize| self.extra.as_ref().expect("rule input").get(k);
        let matrix = |k: usize| self.matrix.as_ref().expect("rule matrix").get(k);
        let delta = &self.delta;
        for (r, &post_r) in post.iter().enumerate() {
            let row = r * cols;
            match &self.rule {
                Rule::Pes { alpha } => {
                    let scaled = alpha * post_r;
                    (0..cols).for_each(|c| *delta.at(row + c) = scaled * pre[c]);
                }
                Rule::Bcm { alpha } => {
                    let scaled = alpha * post_r * (post_r - extra(r));
                    (0..cols).for_each(|c| *delta.at(row + c) = scaled * pre[c]);
                }
                Rule::Oja { alpha, beta } => {
                    let squared = alpha * post_r * post_r;
                    let scaled = alpha * post_r;
                    for (c, pre_c) in pre.iter().enumerate() {
                        *delta.at(row + c) = -beta * matrix(row + c) * squared + scaled * pre_c;
                    }
                }
                Rule::Voja { alpha, scale } => {
                    let rate = alpha * extra(0);
                    for (c, pre_c) in pre.iter().enumerate() {
                        *delta.at(row + c) = rate * (scale[r] * (post_r * pre_c) - post_r * matrix(row + c));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pes_is_outer_product_of_scaled_error_and_pre() {
        let mut pre = [1.0, 2.0, 3.0];
        let mut error = [0.5, -1.0];
        let mut delta = [0.0; 6];
        let mut rule = LearningRule {
            rule: Rule::Pes { alpha: -0.1 },
            pre: Span::over(&mut pre),
            post: Span::over(&mut error),
            extra: None,
            matrix: None,
            delta: Span::over(&mut delta),
        };
        unsafe { rule.step() };
        let expected = [-0.05, -0.1, -0.15000000000000002, 0.1, 0.2, 0.30000000000000004];
        assert_eq!(delta, expected);
    }
}
