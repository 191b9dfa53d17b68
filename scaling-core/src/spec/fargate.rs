//! The CPU/memory combinations Fargate accepts.

/// The CPU sizes a Fargate task may have, in CPU units (1024 = 1 vCPU).
pub const FARGATE_CPU_UNITS: [u32; 7] = [256, 512, 1024, 2048, 4096, 8192, 16384];

/// The memory sizes (MiB) Fargate accepts for `cpu` units, or an empty list for an unknown size.
pub fn fargate_memory_options(cpu: u32) -> Vec<u32> {
    let gib = |n: u32| n * 1024;
    match cpu {
        256 => vec![512, 1024, 2048],
        512 => (1..=4).map(gib).collect(),
        1024 => (2..=8).map(gib).collect(),
        2048 => (4..=16).map(gib).collect(),
        4096 => (8..=30).map(gib).collect(),
        8192 => (16..=60).step_by(4).map(gib).collect(),
        16384 => (32..=120).step_by(8).map(gib).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_vcpu_takes_two_to_eight_gib() {
        let options = fargate_memory_options(1024);
        assert_eq!(options.first(), Some(&2048));
        assert_eq!(options.last(), Some(&8192));
        assert!(options.contains(&3072), "the seed's 1 vCPU / 3 GB must be valid");
    }

    #[test]
    fn large_sizes_step_by_four_and_eight_gib() {
        assert_eq!(fargate_memory_options(8192)[..2], [16384, 20480]);
        assert_eq!(fargate_memory_options(16384).last(), Some(&122_880));
        assert!(fargate_memory_options(3000).is_empty());
    }
}
