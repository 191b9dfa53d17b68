//! The CPU/memory combinations Fargate accepts, and the neutral vCPU ↔ CPU-unit mapping.

use scaling_core::Vcpu;

/// The vCPU sizes a Fargate task may have, in thousandths of a vCPU.
pub const FARGATE_VCPU_MILLIS: [u32; 7] = [250, 500, 1000, 2000, 4000, 8000, 16000];

/// Fargate's CPU units for `cpu` (1024 units = 1 vCPU), when it is a Fargate size.
pub fn cpu_units(cpu: Vcpu) -> Option<u32> {
    FARGATE_VCPU_MILLIS.contains(&cpu.millis()).then(|| cpu.millis() * 1024 / 1000)
}

/// The vCPU of `units` Fargate CPU units, as read back from a task definition.
pub fn vcpu_of_units(units: u32) -> Vcpu {
    Vcpu::from_millis(units * 1000 / 1024)
}

/// The memory sizes (MiB) Fargate accepts with `cpu`, or an empty list for a size it lacks.
pub fn fargate_memory_options(cpu: Vcpu) -> Vec<u32> {
    let gib = |n: u32| n * 1024;
    match cpu.millis() {
        250 => vec![512, 1024, 2048],
        500 => (1..=4).map(gib).collect(),
        1000 => (2..=8).map(gib).collect(),
        2000 => (4..=16).map(gib).collect(),
        4000 => (8..=30).map(gib).collect(),
        8000 => (16..=60).step_by(4).map(gib).collect(),
        16000 => (32..=120).step_by(8).map(gib).collect(),
        _ => Vec::new(),
    }
}

/// The Fargate sizes in words: `0.25, 0.5, 1, 2, 4, 8, 16`.
pub fn fargate_sizes() -> String {
    FARGATE_VCPU_MILLIS.map(|m| Vcpu::from_millis(m).number()).join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_vcpu_takes_two_to_eight_gib() {
        let options = fargate_memory_options(Vcpu::ONE);
        assert_eq!(options.first(), Some(&2048));
        assert_eq!(options.last(), Some(&8192));
        assert!(options.contains(&3072), "the seed's 1 vCPU / 3 GB must be valid");
    }

    #[test]
    fn large_sizes_step_by_four_and_eight_gib() {
        assert_eq!(fargate_memory_options(Vcpu::from_millis(8000))[..2], [16384, 20480]);
        assert_eq!(fargate_memory_options(Vcpu::from_millis(16000)).last(), Some(&122_880));
        assert!(fargate_memory_options(Vcpu::from_millis(3000)).is_empty());
    }

    #[test]
    fn units_round_trip_for_every_size() {
        for millis in FARGATE_VCPU_MILLIS {
            let cpu = Vcpu::from_millis(millis);
            assert_eq!(vcpu_of_units(cpu_units(cpu).unwrap()), cpu);
        }
        assert_eq!(cpu_units(Vcpu::from_millis(250)), Some(256));
        assert_eq!(cpu_units(Vcpu::from_millis(300)), None);
        assert_eq!(fargate_sizes(), "0.25, 0.5, 1, 2, 4, 8, 16");
    }
}
