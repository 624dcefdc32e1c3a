//! A spike as it travels between blocks, ranks and Python: one `u64`, the step in the high
//! bits and the global id in the low `GID_BITS`, so sorting the integers sorts spikes by step,
//! then by global id (the delivery order every engine and rank count shares).

/// Bits of a packed spike that hold the global id (gids are `u32`).
pub const GID_BITS: u32 = u32::BITS;

/// The packed spike of neuron `gid` in `step`.
#[inline]
pub fn pack(step: u64, gid: u32) -> u64 {
    (step << GID_BITS) | gid as u64
}

/// (step, gid) of a packed spike.
#[inline]
pub fn unpack(packed: u64) -> (u64, u32) {
    (packed >> GID_BITS, packed as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_orders_by_step_then_gid_and_round_trips() {
        let spikes = [(0, 7), (1, 0), (1, u32::MAX), (u32::MAX as u64, 3)];
        let packed: Vec<u64> = spikes.iter().map(|&(s, g)| pack(s, g)).collect();
        assert!(packed.windows(2).all(|w| w[0] < w[1]));
        for (&p, &(s, g)) in packed.iter().zip(&spikes) {
            assert_eq!(unpack(p), (s, g));
        }
    }
}
