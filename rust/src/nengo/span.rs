//! Where an operator's operand lives: float64 elements in memory that Python owns.

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
