//! Where an operator's operand lives: float64 elements in memory that Python owns.

use super::error::{NengoError, NengoResult};

/// Bytes of the memory an operand touches, `start..end` (what overlap checks compare).
pub type Bytes = std::ops::Range<usize>;

/// The lowest and highest element offset (from the first element) that an array of `shape`
/// with byte `strides` reaches; `(0, -1)` for an empty array. Strides must be whole float64s.
pub fn extent(shape: &[usize], strides: &[isize]) -> NengoResult<(isize, isize)> {
    let (mut low, mut high) = (0isize, 0isize);
    for (&dim, &stride) in shape.iter().zip(strides) {
        if stride % 8 != 0 {
            return Err(NengoError::Invalid(format!("stride {stride} bytes is not a multiple of float64")));
        }
        if dim == 0 {
            return Ok((0, -1));
        }
        let reach = (dim as isize - 1) * (stride / 8);
        if reach < 0 {
            low += reach;
        } else {
            high += reach;
        }
    }
    Ok((low, high))
}

/// The bytes of `len` values of `T` from `ptr` (empty for none).
pub fn bytes_of<T>(ptr: *const T, len: usize) -> Bytes {
    let start = ptr as usize;
    start..start + len * std::mem::size_of::<T>()
}

/// Whether two byte ranges share a byte.
pub fn overlap(a: &Bytes, b: &Bytes) -> bool {
    a.start < b.end && b.start < a.end && !a.is_empty() && !b.is_empty()
}

/// A float64 array addressed in place: a base pointer and the element offsets, in the
/// array's logical (C) order, of the elements the operator touches.
///
/// Spans are built by the bindings from numpy arrays that the Python simulator keeps alive
/// for as long as the program exists; every offset is checked against the array's extent
/// when the span is built, so reads and writes through a span stay inside that array.
#[derive(Debug)]
pub enum Span {
    /// `len` consecutive elements from `ptr`.
    Contiguous { ptr: *mut f64, len: usize },
    /// Elements at `ptr + offsets[k]`.
    Gather { ptr: *mut f64, offsets: Vec<isize> },
}

impl Span {
    /// `offsets` (from `ptr`) of an array whose elements span offsets `extent` (as
    /// [`extent`] gives them): each offset must be inside it.
    pub fn gather(ptr: *mut f64, offsets: Vec<isize>, extent: (isize, isize), what: &str) -> NengoResult<Span> {
        let (low, high) = extent;
        if let Some(bad) = offsets.iter().find(|&&o| o < low || o > high) {
            return Err(NengoError::OutOfRange(format!(
                "{what}: offset {bad} outside the signal's elements [{low}, {high}]"
            )));
        }
        Ok(Span::Gather { ptr, offsets })
    }

    /// The bytes the elements lie in (for a gather, from its lowest to its highest element).
    pub fn bytes(&self) -> Bytes {
        match self {
            Span::Contiguous { ptr, len } => bytes_of(*ptr, *len),
            Span::Gather { ptr, offsets } => match (offsets.iter().min(), offsets.iter().max()) {
                (Some(&low), Some(&high)) => {
                    let start = ptr.wrapping_offset(low) as usize;
                    start..ptr.wrapping_offset(high + 1) as usize
                }
                _ => 0..0,
            },
        }
    }

    /// Whether the elements are consecutive and start right after those of `before`
    /// (consecutive too): the two can be one span.
    pub fn continues(&self, before: &Span) -> bool {
        match (before, self) {
            (Span::Contiguous { ptr, len }, Span::Contiguous { ptr: next, .. }) => ptr.wrapping_add(*len) == *next,
            _ => false,
        }
    }

    /// Appends the elements of `next`, which [`Span::continues`] this span.
    pub fn extend(&mut self, next: &Span) {
        if let (Span::Contiguous { len, .. }, Span::Contiguous { len: more, .. }) = (self, next) {
            *len += more;
        } else {
            unreachable!("only consecutive spans are extended");
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            Span::Contiguous { len, .. } => *len,
            Span::Gather { offsets, .. } => offsets.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The elements of a slice the test owns (the bindings build spans from numpy arrays).
    #[cfg(test)]
    pub fn over(values: &mut [f64]) -> Self {
        Span::Contiguous { ptr: values.as_mut_ptr(), len: values.len() }
    }

    /// The elements as a slice when they are consecutive.
    ///
    /// # Safety
    /// The memory must be valid (the owning array alive) and not borrowed mutably elsewhere.
    pub unsafe fn as_slice(&self) -> Option<&[f64]> {
        match self {
            Span::Contiguous { ptr, len } => Some(std::slice::from_raw_parts(*ptr, *len)),
            Span::Gather { .. } => None,
        }
    }

    /// The elements as a mutable slice when they are consecutive.
    ///
    /// # Safety
    /// As [`Span::as_slice`], and no other live reference may overlap it.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn as_mut_slice(&self) -> Option<&mut [f64]> {
        match self {
            Span::Contiguous { ptr, len } => Some(std::slice::from_raw_parts_mut(*ptr, *len)),
            Span::Gather { .. } => None,
        }
    }

    /// Element `k`.
    ///
    /// # Safety
    /// The memory must be valid; `k < len()`.
    #[inline]
    pub unsafe fn get(&self, k: usize) -> f64 {
        match self {
            Span::Contiguous { ptr, .. } => *ptr.add(k),
            Span::Gather { ptr, offsets } => *ptr.offset(offsets[k]),
        }
    }

    /// Pointer to element `k`.
    ///
    /// # Safety
    /// The memory must be valid; `k < len()`.
    #[inline]
    pub unsafe fn at(&self, k: usize) -> *mut f64 {
        match self {
            Span::Contiguous { ptr, .. } => ptr.add(k),
            Span::Gather { ptr, offsets } => ptr.offset(offsets[k]),
        }
    }

    /// Copies the elements into `out` (resized to `len()`).
    ///
    /// # Safety
    /// The memory must be valid.
    pub unsafe fn read_into(&self, out: &mut Vec<f64>) {
        out.clear();
        match self.as_slice() {
            Some(values) => out.extend_from_slice(values),
            None => out.extend((0..self.len()).map(|k| self.get(k))),
        }
    }

    /// The elements to read while `written` is updated: the span itself when it is
    /// consecutive and cannot overlap `written` (a consecutive span elsewhere), else a copy
    /// in `scratch`, so an operator that writes its own input sees the values from before
    /// (as numpy evaluates the right-hand side first).
    ///
    /// # Safety
    /// As [`Span::read_into`].
    pub unsafe fn read_view<'a>(&'a self, written: &Span, scratch: &'a mut Vec<f64>) -> &'a [f64] {
        if let (Some(values), Span::Contiguous { ptr, len }) = (self.as_slice(), written) {
            let (start, end) = (values.as_ptr() as usize, values.as_ptr().add(values.len()) as usize);
            let (w_start, w_end) = (*ptr as usize, ptr.add(*len) as usize);
            if end <= w_start || w_end <= start {
                return values;
            }
        }
        self.read_into(scratch);
        scratch
    }
}
