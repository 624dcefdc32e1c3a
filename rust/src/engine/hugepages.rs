//! Large arrays that are written or read at random (synapse tables while they are built, the
//! source index) backed by 2 MiB pages where the kernel allows it: with 4 KiB pages, scattering
//! synapses into a table of a few hundred MB misses the TLB on nearly every write.

/// Arrays at least this large ask for huge pages.
const HUGE_PAGE_MIN_BYTES: usize = 4 << 20;

/// A vector of `n` zeros (`T::default()`), on huge pages if it is large and the system allows
/// (Linux transparent huge pages in `madvise` or `always` mode); an ordinary vector otherwise.
pub fn zeroed<T: Copy + Default>(n: usize) -> Vec<T> {
    let mut values: Vec<T> = Vec::with_capacity(n);
    advise_huge(values.as_mut_ptr() as *mut u8, n * std::mem::size_of::<T>());
    values.resize(n, T::default());
    values
}

#[cfg(target_os = "linux")]
fn advise_huge(start: *mut u8, bytes: usize) {
    if bytes < HUGE_PAGE_MIN_BYTES {
        return;
    }
    const PAGE: usize = 4096;
    let first = (start as usize).next_multiple_of(PAGE);
    let end = start as usize + bytes;
    if end <= first {
        return;
    }
    // SAFETY: the range lies inside an allocation this process owns; MADV_HUGEPAGE only
    // changes how the kernel backs it, never its contents, and a failure is harmless.
    unsafe {
        libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE);
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge(_start: *mut u8, _bytes: usize) {}

#[cfg(test)]
mod tests {
    #[test]
    fn zeroed_vectors_hold_zeros_of_the_asked_length() {
        for n in [0, 3, (super::HUGE_PAGE_MIN_BYTES / 4) + 5] {
            let v: Vec<u32> = super::zeroed(n);
            assert_eq!(v.len(), n);
            assert!(v.iter().all(|&x| x == 0));
        }
    }
}
